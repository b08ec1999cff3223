"""findings.py: runs into tables and sentences, stated in both directions, in this build's numbers."""

import pytest

from paper_repro.book import findings, tables
from paper_repro.classification.config import PROFILES, RunConfig
from paper_repro.classification.train import Result
from paper_repro.models import measure


def fake(model, train, test, seed=0):
    s = {"final_train_error": train, "final_eval_error": test, "seed": seed}
    return Result(run_dir=None, config=RunConfig(model=model, seed=seed), summary=s)


def test_depth_rows_mean_and_std_over_seeds():
    rows = findings.depth_rows(
        {20: [fake("resnet20", 0.1, 0.08, 0), fake("resnet20", 0.1, 0.10, 1)], 56: [fake("resnet56", 0.1, 0.07)]}
    )
    assert rows[0]["mean"] == pytest.approx(9.0) and rows[0]["std"] == pytest.approx(2**0.5)
    assert rows[0]["seeds"] == [0, 1] and rows[0]["paper"] == 8.75
    assert rows[1]["std"] is None and rows[1]["runs"] == 1


PROV = {
    "profile": "cpu",
    "dataset": "Fashion-MNIST",
    "iterations": [300],
    "seeds": [0],
    "commit": "abc1234",
    "hardware": "test",
}


def test_gap_sentence_reports_the_sign_at_the_deepest_depth():
    runs = {
        "plain20": fake("plain20", 0.10, 0.12),
        "resnet20": fake("resnet20", 0.12, 0.13),
        "plain56": fake("plain56", 0.40, 0.42),
        "resnet56": fake("resnet56", 0.25, 0.30),
    }
    rows = findings.plain_vs_resnet_rows(runs, (20, 56))
    assert rows[0]["gap"] == pytest.approx(-2.0) and rows[1]["gap"] == pytest.approx(15.0)
    text = findings.gap_sentence(rows, PROFILES["cpu"], PROV)
    assert text.startswith("At depth 56 the ResNet's training error is 15.00 points lower than the plain net's (25.00%")
    assert "Fashion-MNIST for 300 iterations" in text
    assert "2.00 points higher" in findings.gap_sentence(rows[:1], PROFILES["cpu"], PROV)
    assert "the paper's setting" in findings.gap_sentence(rows, PROFILES["full"], PROV)


def test_markdown_table_and_paper_rounding():
    assert measure.paper_rounding(269722, "0.27M") == "0.27M" and measure.paper_rounding(19421274, "19.4M") == "19.4M"
    md = tables.markdown_table([{"a": 1.234, "b": None}], [("a", "A"), ("b", "B")])
    assert md.splitlines() == ["| A | B |", "|---|---|", "| 1.23 | – |"]
    # a pipe inside a cell (|γ|) must not split it; booleans never show as True/False
    md = tables.markdown_table([{"a": "x|y", "b": True}], [("a", "|γ|"), ("b", "B")])
    assert md.splitlines() == ["| \\|γ\\| | B |", "|---|---|", "| x\\|y | yes |"]


def test_gamma_sentence_says_how_far_gamma_explains_the_responses():
    close = findings.gamma_sentence(
        {"resnet20": [1.02, 1.04], "plain20": [0.98]}, {"resnet20": [1.0, 1.0], "plain20": [1.0]}
    )
    assert "from 0.980 to 1.030" in close and "explained by |γ| to within 3%" in close
    far = findings.gamma_sentence({"plain56": [3.0]}, {"plain56": [1.1]})
    assert "more than a quarter" in far
    rows = findings.response_rows({"resnet20": [1.02, 1.04]}, {"resnet20": [1.0, 1.0]})
    assert rows == [{"net": "ResNet-20", "mean": "1.03 ± 0.01", "n": 2, "gamma": "1.000", "ratio": "1.030"}]
