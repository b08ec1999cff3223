"""The one verdict rule (claims.verdict) at its boundaries, and the findings and report rows built on it."""

import pytest

from paper_repro.book import findings, tables
from paper_repro.book.report import measured_text, scoreboard_rows
from paper_repro.book.tables import write_report_rows
from paper_repro.classification.config import PROFILES, RunConfig
from paper_repro.classification.train import Result
from paper_repro.paper import claims
from paper_repro.paper.claims import HOLDS, NOT_SHOWN, REVERSED, verdict


# ---------------------------------------------------------------- the rule
def test_a_clear_difference_in_the_papers_direction_holds_and_the_other_way_is_reversed():
    deep, shallow = [0.30, 0.31, 0.32], [0.20, 0.21, 0.22]
    assert verdict(deep, shallow, +1)["label"] == HOLDS
    assert verdict(deep, shallow, -1)["label"] == REVERSED
    v = verdict(deep, shallow, +1)
    assert v["diff"] == pytest.approx(0.10) and v["low"] > 0 and v["high"] > v["low"] and v["n_a"] == v["n_b"] == 3


def test_one_seed_never_gets_a_verdict_however_large_the_difference():
    assert verdict([0.9], [0.1], +1)["label"] == "one run: no verdict"
    assert verdict([0.9, 0.91], [0.1, 0.11], +1)["label"] == "2 runs: no verdict"
    assert verdict([0.9, 0.91, 0.92], [0.1], +1)["label"] == "one run: no verdict"
    assert verdict([0.9], [0.1], +1)["low"] is None


def test_a_tie_is_not_shown_never_holds():
    # a ratio of 1.00: the same values on both sides
    assert verdict([1.0, 1.01, 0.99], [1.0, 1.01, 0.99], -1)["label"] == NOT_SHOWN
    # a mean difference in the paper's direction but inside the seed spread
    assert verdict([0.20, 0.30, 0.10], [0.21, 0.31, 0.11], -1)["label"] == NOT_SHOWN


def test_the_interval_boundary_decides_between_holds_and_not_shown():
    # same spread, the difference grows: the verdict flips exactly when the interval leaves zero
    base = [0.0, 0.1, 0.2]
    labels = {}
    for shift in (0.05, 0.1, 0.2, 0.3, 0.5):
        v = verdict([x + shift for x in base], base, +1)
        labels[shift] = v["label"]
        assert (v["label"] == HOLDS) == (v["low"] > 0)
    assert labels[0.05] == NOT_SHOWN and labels[0.5] == HOLDS


def test_zero_spread_on_both_sides_is_decided_by_the_means_alone():
    assert verdict([0.3, 0.3, 0.3], [0.2, 0.2, 0.2], +1)["label"] == HOLDS
    assert verdict([0.2, 0.2, 0.2], [0.2, 0.2, 0.2], +1)["label"] == NOT_SHOWN


def test_the_rule_rejects_a_bad_direction_or_an_empty_side():
    with pytest.raises(ValueError, match="direction"):
        verdict([1.0], [2.0], 0)
    with pytest.raises(ValueError, match="at least one value"):
        verdict([], [2.0], 1)


def test_every_claim_names_a_chapter_two_nets_and_a_direction():
    assert len({c.key for c in claims.CLAIMS}) == len(claims.CLAIMS)
    for c in claims.CLAIMS:
        assert c.direction in (1, -1) and c.a != c.b and c.chapter[:2].isdigit()
        assert c.quantity in claims.QUANTITY_NAMES


# ---------------------------------------------------------------- findings and rows built on it
def fake(model, train, test, seed=0):
    s = {"final_train_error": train, "final_eval_error": test, "seed": seed, "model": model}
    return Result(run_dir=None, config=RunConfig(model=model, seed=seed), summary=s)


def test_the_degradation_finding_states_numbers_interval_and_verdict():
    by_model = {
        "plain56": [fake("plain56", 0.30 + 0.01 * s, 0.3, s) for s in range(3)],
        "plain20": [fake("plain20", 0.20 + 0.01 * s, 0.2, s) for s in range(3)],
    }
    j = findings.judge_runs("degradation", by_model)
    text = findings.claim_sentence(j)
    assert j["label"] == HOLDS
    assert text.startswith(
        "**Deeper plain nets train worse** (Fig. 1, Fig. 6 left; paper: plain-56 − plain-20 "
        "training error > 0): +10.00 points (95% interval +"
    )
    assert text.endswith("n = 3 seeds per net: **holds**.")
    one = findings.judge_runs("degradation", {k: v[:1] for k, v in by_model.items()})
    assert "**one run: no verdict**" in findings.claim_sentence(one) and "interval" not in findings.claim_sentence(one)


def test_claims_whose_nets_did_not_run_are_left_out():
    by_model = {"resnet20": [fake("resnet20", 0.1, 0.1)], "resnet56": [fake("resnet56", 0.1, 0.09)]}
    assert [j["claim"] for j in findings.judge_all(("deeper_resnet_56", "deeper_resnet_110"), by_model)] == [
        "deeper_resnet_56"
    ]


PROV = {
    "profile": "cpu",
    "dataset": "Fashion-MNIST",
    "iterations": [300],
    "seeds": [0, 1, 2],
    "commit": "abc1234",
    "hardware": "test",
}


def test_a_claim_row_carries_the_verdict_and_reads_as_difference_interval_and_n():
    j = claims.judge("responses_depth", [0.8, 0.81, 0.82], [1.0, 1.01, 1.02])
    row = findings.claim_row(j, PROFILES["cpu"], PROV, unit="std", scale=1.0)
    assert row["verdict"] == HOLDS and row["claim"] == "responses_depth" and row["n"] == 3
    assert row["quantity"] == "ResNet-56 − ResNet-20 mean layer response std"
    assert measured_text(row).startswith("-0.200 [") and measured_text(row).endswith("(n=3)")


def test_huge_differences_read_in_three_significant_digits():
    # a plain-56's responses after 6 smoke iterations are ~1e6 std: the front page said "-943802.567"
    assert claims.signed(-943802.567, 3) == "-9.44e+05" and claims.signed(-0.0621, 3) == "-0.062"
    assert claims.signed(9999.0, 2) == "+9999.00" and claims.signed(12345.0, 2) == "+1.23e+04"
    j = claims.judge("responses_plain56", [1.0], [943803.567])
    row = findings.claim_row(j, PROFILES["smoke"], PROV, unit="std", scale=1.0)
    assert measured_text(row) == "-9.44e+05 (n=1)" and claims.difference_text(j) == "-9.44e+05"


def test_the_scoreboard_lists_every_claim_and_says_which_did_not_run(tmp_path, monkeypatch):

    monkeypatch.setattr(tables, "FIGURES", tmp_path)
    monkeypatch.setattr("paper_repro.book.figures.FIGURES", tmp_path)
    j = claims.judge("degradation", [0.3], [0.2])
    write_report_rows("degradation", "smoke", [findings.claim_row(j, PROFILES["smoke"], PROV)])
    rows = {r["claim"]: r for r in scoreboard_rows("smoke")}
    assert len(rows) == len(claims.CLAIMS)
    assert rows["Deeper plain nets train worse"]["verdict"] == "one run: no verdict"
    assert rows["ResNet-1202 overfits"]["verdict"] == "not run in this build"


def test_warmup_sentence_never_shows_a_raw_none():
    r = fake("resnet110", 0.9, 0.9)
    r.summary.update(warmup_ended_at=None, iterations_done=6)
    text = findings.warmup_sentences([r])
    assert "None" not in text and "had not ended after 6 iterations" in text
    r.summary["warmup_ended_at"] = 412
    assert "ended at iteration 412" in findings.warmup_sentences([r])


def test_seeds_label_says_how_many_seeds_each_net_has():
    assert findings.seeds_label({"seeds": [0], "runs_per_net": {"resnet20": 1}}) == "seed 0"
    assert findings.seeds_label({"seeds": [0, 1, 2], "runs_per_net": {"resnet20": 3, "resnet56": 3}}) == "seeds 0–2"
    assert (
        findings.seeds_label({"seeds": [0, 1, 2], "runs_per_net": {"resnet20": 3, "resnet32": 1, "resnet56": 1}})
        == "seeds: ResNet-20 ×3, others ×1"
    )


def test_scale_note_comes_from_the_profile():
    assert "6 iterations" in findings.scale_note(PROFILES["smoke"]) and "`smoke`" in findings.scale_note(
        PROFILES["smoke"]
    )
    cpu = findings.scale_note(PROFILES["cpu"])
    assert f"for {PROFILES['cpu'].iterations} iterations" in cpu and "final errors on all test images" in cpu
    assert "the paper's setting" in findings.scale_note(PROFILES["full"])
