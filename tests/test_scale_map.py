"""The scale map: points appended once, claims judged per schedule length, the sentences and the figure."""

import json

import pytest
from fake_records import rec

from paper_repro.book import plots
from paper_repro.book import scale_map as sm
from paper_repro.experiments import scale_map as extension
from paper_repro.paper import claims
from paper_repro.runs import records

RECORDS = (
    [rec("plain20", s, n, 0.20 + 0.001 * s, 0.2) for s in range(3) for n in (100, 300)]
    + [rec("plain56", s, 100, 0.20 + 0.02 * s, 0.2) for s in range(3)]  # a tie at 100
    + [rec("plain56", s, 300, 0.30 + 0.001 * s, 0.3) for s in range(3)]
)  # clear degradation at 300


def test_each_claim_is_judged_at_each_length_and_the_sentence_says_where_it_appeared():
    points = sm.claim_points(RECORDS, keys=("degradation", "deeper_resnet_56"))
    assert [p["iterations"] for p in points["degradation"]] == [100, 300]
    assert [p["label"] for p in points["degradation"]] == [claims.NOT_SHOWN, claims.HOLDS]
    assert points["deeper_resnet_56"] == []  # its nets were not measured
    (text,) = sm.summary_sentences(points)
    assert text.startswith(
        "**Deeper plain nets train worse** (measured at 100, 300 iterations): holds from 300 "
        "iterations on; at 300: +10.00 points, 95% interval +"
    )
    assert text.endswith("n = 3: holds.")


def test_a_claim_that_never_held_says_so_with_the_longest_length():
    flat = [r for r in RECORDS if r["iterations"] == 100]
    (text,) = sm.summary_sentences(sm.claim_points(flat, keys=("degradation",)))
    assert "has not appeared by 100 iterations" in text and "not shown at this scale" in text


def test_the_figure_has_a_panel_per_measured_claim_and_the_provenance_footer():
    points = sm.claim_points(RECORDS, keys=("degradation",))
    prov = records.provenance(RECORDS)
    fig = plots.scale_map(points, records.label(prov))
    assert len([ax for ax in fig.axes if ax.axison]) == 1
    assert any("commit abc1234" in t.get_text() for t in fig.texts)


def test_the_verdict_table_has_a_row_per_claim_and_a_column_per_length():
    partial = [*RECORDS, rec("plain20", 0, 600, 0.1, 0.1), rec("plain56", 0, 600, 0.2, 0.2)]
    rows, columns = sm.verdict_rows(sm.claim_points(partial, keys=("degradation", "deeper_resnet_56")))
    assert [k for k, _ in columns] == ["claim", "100", "300", "600"]
    (row,) = rows  # deeper_resnet_56's nets were not measured: no row
    assert row["claim"] == "Deeper plain nets train worse (Fig. 1, Fig. 6 left): plain-56 − plain-20"
    assert row["100"].startswith("**not shown**<br>+")
    assert row["300"].startswith("**holds**<br>+10.00<br>[+") and row["300"].count("<br>") == 3
    assert row["300"].split("<br>")[2].endswith(",") and row["300"].endswith("]")  # one end of the interval a line
    assert row["600"] == "*1 of 3<br>seeds*<br>seed 0: +10.00"  # no verdict from one seed: its difference
    # a second plain-56 seed before plain-20's: each net's count
    (row,) = sm.verdict_rows(sm.claim_points([*partial, rec("plain56", 1, 600, 0.2, 0.2)], keys=("degradation",)))[0]
    assert row["600"] == "*plain-56 2,<br>plain-20 1<br>of 3 seeds*<br>seed 0: +10.00"  # only the seed both have


def test_a_longer_length_with_too_few_seeds_is_named_as_still_being_measured_with_each_nets_count():
    more = [*RECORDS, rec("plain20", 0, 600, 0.1, 0.1), rec("plain56", 0, 600, 0.2, 0.2)]
    (text,) = sm.summary_sentences(sm.claim_points(more, keys=("degradation",)))
    assert text.endswith(
        "Still being measured: 600 iterations (1 of 3 seeds; the difference on it: +10.00 points, seed 0)."
    )
    more.append(rec("plain20", 1, 600, 0.1, 0.1))
    (text,) = sm.summary_sentences(sm.claim_points(more, keys=("degradation",)))
    assert text.endswith(
        "Still being measured: 600 iterations (plain-56 1, plain-20 2 of 3 seeds; "
        "the difference on it: +10.00 points, seed 0)."
    )
    # two seeds of each: each seed's own difference, in the seeds' order, not their mean
    more.append(rec("plain56", 1, 600, 0.13, 0.13))
    points = sm.claim_points(more, keys=("degradation",))
    assert points["degradation"][-1]["seed_diffs"] == [[0, pytest.approx(0.1)], [1, pytest.approx(0.03)]]
    (text,) = sm.summary_sentences(points)
    assert text.endswith("600 iterations (2 of 3 seeds; the difference on each: +10.00, +3.00 points, seeds 0, 1).")
    assert sm.verdict_rows(points)[0][0]["600"] == "*2 of 3<br>seeds*<br>seed 0: +10.00<br>seed 1: +3.00"
    # three seeds of each: a verdict, and no seed by seed
    more += [rec("plain20", 2, 600, 0.11, 0.11), rec("plain56", 2, 600, 0.2, 0.2)]
    assert "seed_diffs" not in sm.claim_points(more, keys=("degradation",))["degradation"][-1]


def test_the_response_claims_are_drawn_in_response_stds():
    def f7(net, seed, std):
        return {**rec(net, seed, 1200, 0.1, 0.1), "fig7": {"response_std": [std + 0.01 * seed, std]}}

    records = [f7("plain20", s, 0.9) for s in range(3)] + [f7("resnet20", s, 0.5) for s in range(3)]
    points = sm.claim_points(records, keys=("responses_plain20",))
    fig = plots.scale_map(points, "label")
    (ax,) = [a for a in fig.axes if a.axison]
    assert ax.get_ylabel() == "difference (std)" and "mean layer response std" in ax.get_title()
    (line,) = [ln for ln in ax.lines if len(ln.get_xdata()) == 1 and ln.get_marker() == "o"]
    assert abs(line.get_ydata()[0] - points["responses_plain20"][0]["diff"]) < 1e-12  # not scaled by 100
    assert points["responses_plain20"][0]["diff"] < 0 and points["responses_plain20"][0]["label"] == claims.HOLDS


def test_the_command_appends_each_point_once(cli, tmp_path):
    records = tmp_path / "records.jsonl"
    args = (
        "scale-map",
        "--profile",
        "smoke",
        "--nets",
        "plain8",
        "resnet8",
        "--iterations",
        "2",
        "3",
        "--seeds",
        "0",
        "--out",
        tmp_path / "runs",
        "--records",
        records,
    )
    r = cli(*args)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in records.read_text().splitlines()]
    assert sorted((x["net"], x["iterations"]) for x in lines) == [
        ("plain8", 2),
        ("plain8", 3),
        ("resnet8", 2),
        ("resnet8", 3),
    ]
    assert "4 new point(s), 4 in all" in r.stdout
    again = cli(*args, "--iterations", "3", "4")
    assert again.returncode == 0 and "2 new point(s), 6 in all" in again.stdout


def test_bad_arguments_get_one_line_and_exit_2(cli, tmp_path):
    for bad in (("--iterations", "0"), ("--seeds", "-1"), ("--nets", "resnet21"), ("--profile", "fast")):
        r = cli("scale-map", "--records", tmp_path / "r.jsonl", *bad)
        usage, line = r.stderr.strip().splitlines()  # argparse's usage line, then the one error line
        assert r.returncode == 2 and usage.startswith("usage: ") and "error:" in line, (bad, r.stderr)
    assert not (tmp_path / "r.jsonl").exists()


def test_each_nets_errors_at_each_length_with_their_seeds():
    cifar = {**rec("resnet20", 0, 100, 0.5, 0.5), "dataset": "cifar10"}
    records = [*RECORDS, rec("resnet20", 0, 64000, 0.01, 0.054), cifar]
    rows, columns = sm.net_rows(records)
    assert [k for k, _ in columns] == ["net", "100", "300", "64000"]
    by = {r["net"]: r for r in rows}
    # one row per net and data set; plain nets first, by depth
    assert list(by) == [
        "ResNet-20 (cifar10)",
        "plain-20 (fashion-mnist)",
        "plain-56 (fashion-mnist)",
        "ResNet-20 (fashion-mnist)",
    ]
    assert by["plain-56 (fashion-mnist)"]["300"] == "30.00<br>± 0.00<br>(n=3)"
    assert by["ResNet-20 (fashion-mnist)"]["64000"] == "5.40<br>(n=1)"  # one seed: no std
    assert "64000" not in by["plain-20 (fashion-mnist)"]  # not measured there: no cell
    train = {r["net"]: r for r in sm.net_rows(records, "final_train_error")[0]}
    assert train["ResNet-20 (fashion-mnist)"]["64000"] == "1.00<br>(n=1)"
    assert train["plain-56 (fashion-mnist)"]["100"] == "22.00<br>± 2.00<br>(n=3)"
    assert [r["net"] for r in sm.net_rows(RECORDS)[0]] == ["plain-20", "plain-56"]  # one data set: no suffix


def test_a_point_can_change_its_precision_and_curves_and_each_change_is_a_new_point():
    (base,) = extension.point_configs("cpu", ["resnet56"], [64000], [0])
    (fp32,) = extension.point_configs("cpu", ["resnet56"], [64000], [0], precision="fp32")
    (dense,) = extension.point_configs("cpu", ["resnet56"], [64000], [0], eval_subset=10000, eval_interval=400)
    assert fp32.precision == "fp32" and base.precision == "auto"
    assert (dense.eval_subset, dense.eval_interval, dense.checkpoint_interval) == (10000, 400, 400)
    assert (base.eval_subset, base.eval_interval) == (1000, 25)
    assert len({base.hash(), fp32.hash(), dense.hash()}) == 3
    assert fp32.milestones == base.milestones == (32000, 48000)


def test_the_committed_map_refuses_records_from_uncommitted_code(monkeypatch, tmp_path):
    for commit in ("abc1234+dirty", "unknown"):
        with pytest.raises(extension.DirtyTree, match="uncommitted changes"):
            extension.check_committed(commit)
    extension.check_committed("abc1234")
    monkeypatch.setattr(extension, "git_commit", lambda: "abc1234+dirty")
    with pytest.raises(extension.DirtyTree):
        extension.extend("smoke", ["resnet20"], [2], [0], (str(tmp_path / "runs"), "data"), records.RECORDS)
    assert not (tmp_path / "runs").exists()  # refused before anything was trained or written


def test_a_control_in_another_precision_stands_beside_the_map_and_never_joins_its_seeds():
    bf16 = [
        dict(rec(net, s, 2400, 0.05 + (0.02 if net == "resnet56" else 0) + 0.001 * s, 0.1), precision="bf16")
        for net in ("resnet20", "resnet56")
        for s in range(3)
    ]
    fp32 = [dict(r, precision="fp32", config_hash=r["config_hash"] + "-fp32") for r in bf16[:2] + bf16[3:5]]
    # the map's verdicts use its own precision only: 3 seeds per net, never 5
    (p,) = sm.claim_points(bf16 + fp32 + bf16[:0], ("deeper_resnet_train",))["deeper_resnet_train"]
    assert (p["n_a"], p["n_b"], p["label"]) == (3, 3, claims.REVERSED)
    rows, _ = sm.precision_rows(bf16 + fp32)
    (train,) = [r for r in rows if r["claim"].startswith("Deeper ResNets train better")]
    assert train["change"] == "—" and train["control"].startswith("fp32: 2 of 3 seeds")
    assert "being measured" in sm.precision_sentence(bf16 + fp32)
    # no verdict with 2 seeds, but the map's difference on the same seeds stands beside the control's
    slower = [dict(r, final_train_error=r["final_train_error"] + 0.01 * (r["net"] == "resnet56")) for r in fp32]
    rows, _ = sm.precision_rows(bf16 + slower)
    (train,) = [r for r in rows if r["claim"].startswith("Deeper ResNets train better")]
    assert train["control"] == "fp32: 2 of 3 seeds; on the same seeds 0, 1: fp32 +3.00 pt, bf16 +2.00 pt"
    assert sm.precision_sentence(bf16 + slower).endswith(
        "no verdict yet, the differences on the same seeds: Deeper ResNets train better at 2400 iterations, "
        "seeds 0, 1: +3.00 points in fp32, +2.00 in bf16; Deeper ResNets test better (56 vs 20) at 2400 "
        "iterations, seeds 0, 1: +0.00 points in fp32, +0.00 in bf16."
    )
    one = [r for r in slower if r["seed"] == 1] + [r for r in slower if r["seed"] == 0 and r["net"] == "resnet20"]
    (train,) = [r for r in sm.precision_rows(bf16 + one)[0] if r["claim"].startswith("Deeper ResNets train")]
    # only the seed both nets have in fp32, in both precisions: ResNet-20's seed 0 joins neither mean
    assert (
        train["control"]
        == "fp32: ResNet-56 1, ResNet-20 2 of 3 seeds; on the same seed 1: fp32 +3.00 pt, bf16 +2.00 pt"
    )
    fp32 += [dict(bf16[2], precision="fp32", config_hash="x"), dict(bf16[5], precision="fp32", config_hash="y")]
    rows, _ = sm.precision_rows(bf16 + fp32)  # the same values in both precisions: no change
    assert all(r["_change"]["diff"] == 0 and not r["_change"]["beyond_noise"] for r in rows)
    assert all(r["change"].endswith("within seed noise") for r in rows)
    assert sm.precision_sentence(bf16 + fp32).startswith("The precision does not change the depth results")
    flipped = [dict(r, final_train_error=0.05 - 0.02 * (r["net"] == "resnet56") + 0.001 * r["seed"]) for r in fp32]
    text = sm.precision_sentence(bf16 + flipped)  # ResNet-56 - ResNet-20: +2 pt in bf16, -2 pt in fp32, tiny spread
    assert text.startswith("The precision changes the depth results beyond seed noise")
    assert "Deeper ResNets train better (2400 iterations) +4.00 pt" in text


def test_a_verdict_label_that_flips_between_precisions_within_seed_noise_is_no_change():
    """The control's question is judged by the project's one rule: the change of the difference must
    be beyond seed noise; a label that differs only because two close intervals fall on either side of
    0 is named, not counted as a change."""
    r20, r56_bf16, r56_fp32 = [0.050, 0.052, 0.048], [0.058, 0.060, 0.056], [0.054, 0.058, 0.050]
    records = [
        dict(rec(net, s, 2400, v, 0.1), precision=precision, config_hash=f"{net}{s}{precision}")
        for precision, r56 in (("bf16", r56_bf16), ("fp32", r56_fp32))
        for net, values in (("resnet20", r20), ("resnet56", r56))
        for s, v in enumerate(values)
    ]
    rows, _ = sm.precision_rows(records, ("deeper_resnet_train",))
    (row,) = rows
    assert (row["_map"]["label"], row["_control"]["label"]) == (claims.REVERSED, claims.NOT_SHOWN)
    change = row["_change"]
    assert change["diff"] == pytest.approx(0.004) and change["low"] < 0 < change["high"]
    text = sm.precision_sentence(records, ("deeper_resnet_train",))
    assert text.startswith("The precision does not change the depth results beyond seed noise")
    assert "One verdict differs: Deeper ResNets train better reads **reversed** in bf16" in text
    assert "keep bf16" in text


def test_the_change_between_precisions_is_welchs_interval_over_four_groups():
    a, b = [0.11, 0.12, 0.105], [0.09, 0.095, 0.091]
    first = claims.verdict(a, b, -1)
    constant = claims.verdict([0.1] * 3, [0.1] * 3, -1)
    # against a condition with no spread, the change's interval is the first difference's own Welch interval
    change = claims.interaction(first, constant)
    assert (change["low"], change["high"]) == pytest.approx((first["low"], first["high"]))
    assert change["beyond_noise"]
    assert claims.interaction(first, claims.verdict([0.1] * 2, [0.1] * 2, -1)) is None  # 2 seeds: no verdict


def test_a_point_recorded_from_uncommitted_code_is_measured_again_and_the_old_line_stays(tmp_path, monkeypatch):
    path = tmp_path / "records.jsonl"
    monkeypatch.setattr(extension, "RECORDS", path)  # the committed map, here a file of the test's own
    monkeypatch.setattr(extension, "check_committed", lambda commit: None)  # the test's tree may be dirty
    dirty, clean = (extension.point_configs("smoke", ["resnet20"], [2], [s])[0] for s in (0, 1))
    old = [
        dict(rec("resnet20", 0, 2, 0.5, 0.5), config_hash=dirty.hash(), commit="2a22cc1+dirty"),
        dict(rec("resnet20", 1, 2, 0.5, 0.5), config_hash=clean.hash(), commit="abc1234"),
    ]
    for r in old:
        records.append(path, r)
    new = extension.extend("smoke", ["resnet20"], [2], [0, 1], (str(tmp_path / "runs"), "data"), path)
    assert [(r["seed"], r["config_hash"]) for r in new] == [(0, dirty.hash())]  # only the dirty point, again
    assert new[0]["commit"] == extension.git_commit()  # it names the code that measured it now
    lines = records.read(path)
    assert lines[:2] == old and len(lines) == 3  # never edited: the new record stands beside the old one


def test_a_readers_own_file_counts_every_record_it_holds_even_from_uncommitted_code(tmp_path):
    path = tmp_path / "records-smoke.jsonl"  # not the committed map
    (cfg,) = extension.point_configs("smoke", ["resnet20"], [2], [0])
    records.append(path, dict(rec("resnet20", 0, 2, 0.5, 0.5), config_hash=cfg.hash(), commit="abc1234+dirty"))
    assert extension.extend("smoke", ["resnet20"], [2], [0], (str(tmp_path / "runs"), "data"), path) == []
    assert not (tmp_path / "runs").exists() and len(records.read(path)) == 1  # nothing trained, nothing added


def test_the_appendix_times_each_long_run_from_its_record(tmp_path):
    path = tmp_path / "records.jsonl"
    assert sm.long_runs_markdown(path) == "No scale-map run of 9600 iterations or more yet."
    short = {**rec("resnet20", 0, 4800, 0.1, 0.1), "wall_time_s": 600.0}
    r56 = {**rec("resnet56", 0, 64000, 0.006, 0.057, commit="3b8ce7a"), "wall_time_s": 24096.0}
    r20 = {**rec("resnet20", 1, 9600, 0.05, 0.06), "wall_time_s": 1800.0}
    for r in (short, r56, r20):
        records.append(path, r)
    text = sm.long_runs_markdown(path)
    lines = [line for line in text.splitlines() if line.startswith("| ResNet")]
    # shortest schedule first; 64000 x 128 images in 24096 s: 340 images/s, 6.69 hours
    assert lines == [
        "| ResNet-20 | 1 | 9600 | 0.50 | 683 | bf16 | test cpu | abc1234 |",
        "| ResNet-56 | 0 | 64000 | 6.69 | 340 | bf16 | test cpu | 3b8ce7a |",
    ]
    assert "4800" not in text and "stops while the test set is evaluated" in text
