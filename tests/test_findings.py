"""The logic behind the book: findings stated in both directions, Fig. 7's measurement, the
report, reproduce's failure message, and the bench command's output."""
import json

import pytest
import torch

from paper_repro import experiments as ex
from paper_repro.analysis import layer_responses, response_layers
from paper_repro.config import PROFILES, RunConfig
from paper_repro.models import cifar_resnet
from paper_repro.train import Result


def fake(model, train, test, seed=0):
    s = {"final_train_error": train, "final_eval_error": test, "seed": seed}
    return Result(run_dir=None, config=RunConfig(model=model, seed=seed), summary=s)


def test_depth_rows_mean_and_std_over_seeds():
    rows = ex.depth_rows({20: [fake("resnet20", 0.1, 0.08, 0), fake("resnet20", 0.1, 0.10, 1)],
                          56: [fake("resnet56", 0.1, 0.07)]})
    assert rows[0]["mean"] == pytest.approx(9.0) and rows[0]["std"] == pytest.approx(2 ** 0.5)
    assert rows[0]["seeds"] == [0, 1] and rows[0]["paper"] == 8.75
    assert rows[1]["std"] is None and rows[1]["runs"] == 1


def test_layer_responses_are_the_std_after_bn_before_relu_or_addition():
    torch.manual_seed(0)
    model = cifar_resnet(8).eval()
    x = torch.randn(10, 3, 32, 32)
    got = layer_responses(model, [(x[:6], None), (x[6:], None)])
    assert list(got) == [name for name, _ in response_layers(model)]
    # by hand: the first block's second BN output, before the shortcut is added
    with torch.no_grad():
        h = model.relu(model.bn1(model.conv1(x)))
        b = model.layer1[0]
        out = b.bn2(b.conv2(b.relu(b.bn1(b.conv1(h)))))
    assert got["layer1.0.bn2"] == pytest.approx(out.double().std(unbiased=False).item(), rel=1e-4)
    assert got["bn1"] == pytest.approx(model.bn1(model.conv1(x)).detach().double().std(unbiased=False).item(), rel=1e-4)


PROV = {"profile": "cpu", "dataset": "Fashion-MNIST", "iterations": [300], "seeds": [0], "commit": "abc1234",
        "hardware": "test"}


def test_gap_sentence_reports_the_sign_at_the_deepest_depth():
    runs = {"plain20": fake("plain20", 0.10, 0.12), "resnet20": fake("resnet20", 0.12, 0.13),
            "plain56": fake("plain56", 0.40, 0.42), "resnet56": fake("resnet56", 0.25, 0.30)}
    rows = ex.plain_vs_resnet_rows(runs, (20, 56))
    assert rows[0]["gap"] == pytest.approx(-2.0) and rows[1]["gap"] == pytest.approx(15.0)
    text = ex.gap_sentence(rows, PROFILES["cpu"], PROV)
    assert text.startswith("At depth 56 the ResNet's training error is 15.00 points lower than the plain net's (25.00%")
    assert "Fashion-MNIST for 300 iterations" in text
    assert "2.00 points higher" in ex.gap_sentence(rows[:1], PROFILES["cpu"], PROV)
    assert "the paper's setting" in ex.gap_sentence(rows, PROFILES["full"], PROV)


def test_markdown_table_and_paper_rounding():
    assert ex.paper_rounding(269722, "0.27M") == "0.27M" and ex.paper_rounding(19421274, "19.4M") == "19.4M"
    md = ex.markdown_table([{"a": 1.234, "b": None}], [("a", "A"), ("b", "B")])
    assert md.splitlines() == ["| A | B |", "|---|---|", "| 1.23 | – |"]
    # a pipe inside a cell (|γ|) must not split it; booleans never show as True/False
    md = ex.markdown_table([{"a": "x|y", "b": True}], [("a", "|γ|"), ("b", "B")])
    assert md.splitlines() == ["| \\|γ\\| | B |", "|---|---|", "| x\\|y | yes |"]


def test_profiles_keep_the_recipe_and_only_shrink_scale():
    for p in PROFILES.values():
        cfg = p.run_config("resnet110", "x")
        assert (cfg.batch_size, cfg.lr, cfg.momentum, cfg.weight_decay) == (128, 0.1, 0.9, 1e-4)
        assert cfg.milestones == (cfg.iterations // 2, cfg.iterations * 3 // 4) and cfg.uses_warmup()
    assert PROFILES["full"].dataset == "cifar10" and PROFILES["full"].iterations == 64000
    assert 1202 in PROFILES["smoke"].deep_depths and 1202 in PROFILES["full"].deep_depths


def test_reproduce_names_the_failing_notebook_and_cell(tmp_path):
    from paper_repro.book import NotebookFailed, execute

    nb = tmp_path / "broken.py"
    nb.write_text('# %% tags=["parameters"]\nprofile = "cpu"\n\n# %%\nx = 1\n\n# %%\nraise ValueError("boom " + profile)\n')
    with pytest.raises(NotebookFailed) as e:
        execute(nb, "smoke")
    msg = str(e.value)
    assert "broken.py failed in cell" in msg and "ValueError: boom smoke" in msg


def test_reproduce_rejects_unknown_chapters(cli):
    r = cli("reproduce", "--profile", "smoke", "--only", "99_nothing", "--no-build")
    assert r.returncode == 2 and "unknown chapter(s) 99_nothing" in r.stderr


def test_reproduce_rejects_a_missing_data_folder(cli, tmp_path):
    r = cli("reproduce", "--profile", "smoke", "--voc", str(tmp_path / "no_voc"), "--no-build")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1].endswith(
        f"--voc {tmp_path / 'no_voc'}: no such folder; give an existing folder or leave it out")


def test_execute_forwards_only_the_parameters_a_chapter_declares(tmp_path):
    from paper_repro.book import execute

    nb = tmp_path / "det.py"
    nb.write_text('# %% tags=["parameters"]\nprofile = "cpu"\nvoc_root = ""\n\n'
                  '# %%\nprint(f"{profile}|{voc_root}|{globals().get(\'imagenet\', \'unset\')}")\n')
    out = execute(nb, "smoke", {"voc_root": "/data/voc", "imagenet": "/data/in", "coco_root": ""})
    import nbformat

    text = "".join(o.get("text", "") for c in nbformat.read(out, 4).cells for o in c.get("outputs", []))
    assert "smoke|/data/voc|unset" in text


@pytest.mark.parametrize("profile", ["cpu", "full"])
def test_readme_numbers_are_generated_from_the_committed_figures(profile):
    """The README's reproduced numbers are the report rows under figures/<profile>/, not typed."""
    from paper_repro.provenance import ROOT
    from paper_repro.report import readme_block, summary_markdown

    assert readme_block(ROOT / "README.md", profile) == summary_markdown(profile)


def test_report_rewrites_only_its_block_and_rejects_a_file_without_one(cli, tmp_path):
    from paper_repro.report import summary_markdown

    readme = tmp_path / "R.md"
    readme.write_text("intro\n<!-- report-cpu-start: generated by `python -m paper_repro report --profile cpu "
                      "--readme README.md` -->\nSTALE-ROW\n<!-- report-cpu-end -->\noutro\n")
    r = cli("report", "--profile", "cpu", "--readme", readme)
    assert r.returncode == 0 and "updated" in r.stdout
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("<!-- report-cpu-end -->\noutro\n")
    assert "STALE-ROW" not in text and summary_markdown("cpu") in text
    bare = tmp_path / "bare.md"
    bare.write_text("nothing here\n")
    r = cli("report", "--profile", "cpu", "--readme", bare)
    assert r.returncode == 2 and "no report block for profile cpu" in r.stderr and bare.read_text() == "nothing here\n"


def test_bench_prints_both_speeds_and_their_ratio(cli):
    r = cli("bench", "--model", "resnet8", "--iterations", "4", "--batch-size", "32", "--workers", "0")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "this engine :" in out and "usual loop  :" in out and "ratio       :" in out
    data = json.loads(out.strip().splitlines()[-1])
    assert data["engine_images_per_sec"] > 0 and data["baseline_images_per_sec"] > 0
    assert data["ratio"] == pytest.approx(data["engine_images_per_sec"] / data["baseline_images_per_sec"])


def test_table6_plot_labels_exactly_the_depths():
    from paper_repro import plots

    rows = ex.depth_rows({20: [fake("resnet20", 0.1, 0.09)], 32: [fake("resnet32", 0.1, 0.08)],
                          110: [fake("resnet110", 0.1, 0.07)]})
    ax = plots.error_by_depth(rows, "label").axes[0]
    ax.figure.canvas.draw()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["20", "32", "110"]
    assert [t.get_text() for t in ax.get_xticklabels(minor=True) if t.get_text()] == []


def test_bn_gammas_start_at_one_and_follow_the_weights():
    from paper_repro.analysis import bn_gammas

    model = cifar_resnet(8)
    g = bn_gammas(model)
    assert list(g) == [name for name, _ in response_layers(model)] and all(v == 1.0 for v in g.values())
    with torch.no_grad():
        model.layer1[0].bn2.weight.fill_(-0.5)
    assert bn_gammas(model)["layer1.0.bn2"] == pytest.approx(0.5)


def test_gamma_sentence_says_how_far_gamma_explains_the_responses():
    close = ex.gamma_sentence({"resnet20": [1.02, 1.04], "plain20": [0.98]}, {"resnet20": [1.0, 1.0], "plain20": [1.0]})
    assert "from 0.980 to 1.030" in close and "explained by |γ| to within 3%" in close
    far = ex.gamma_sentence({"plain56": [3.0]}, {"plain56": [1.1]})
    assert "more than a quarter" in far
    rows = ex.response_rows({"resnet20": [1.02, 1.04]}, {"resnet20": [1.0, 1.0]})
    assert rows == [{"net": "ResNet-20", "mean": "1.03 ± 0.01", "n": 2, "gamma": "1.000", "ratio": "1.030"}]
