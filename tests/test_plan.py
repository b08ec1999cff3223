"""The plan of runs: every run the chapters train, from the profile, with stored / to run."""

import json

import pytest

from paper_repro.classification.config import PROFILES
from paper_repro.experiments.chapters import WITH_RUNS, of_task
from paper_repro.experiments.plan import (
    chapter_runs,
    classification_runs,
    detection_runs,
    forward_flops,
    plan,
    training_flops,
)


def test_the_plan_lists_every_net_and_seed_the_chapters_train(tmp_path):
    rows = plan("cpu", tmp_path)
    got = {(r["run"], r["seed"], r["iterations"]) for r in rows}
    p = PROFILES["cpu"]
    for net in ("plain20", "plain56", "resnet20", "resnet56"):
        for seed in p.seeds_for(int(net[-2:])):
            assert (net, seed, p.iterations) in got
    assert ("resnet110", 0, p.deep_iterations) in got
    assert {r["run"] for r in rows if r["chapter"] == "05_detection"} == {"faster-rcnn-resnet101", "faster-rcnn-vgg16"}
    assert all(r["state"] == "to run" and r["estimate_s"] is None for r in rows)
    assert len({r["hash"] for r in rows}) == len(rows)  # each run once
    smoke = {(r["run"], r["iterations"]) for r in plan("smoke", tmp_path)}
    assert ("resnet1202", 2) in smoke and ("resnet110", 6) in smoke


def test_plan_command_marks_stored_runs_and_prints_json(cli, tmp_path):
    r = cli("train", "resnet20", "--profile", "smoke", "--experiment", "cifar", "--out", tmp_path)
    assert r.returncode == 0, r.stderr
    out = cli("plan", "--profile", "smoke", "--out", tmp_path, "--json")
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    stored = [x for x in rows if x["state"] == "stored"]
    assert [(x["run"], x["seed"]) for x in stored] == [("resnet20", 0)] and stored[0]["estimate_s"] > 0
    # the other ResNet-20 seed is not stored, and is now estimated from the measured one
    other = next(x for x in rows if x["run"] == "resnet20" and x["seed"] == 1)
    assert other["state"] == "to run" and other["estimate_s"] > 0
    text = cli("plan", "--profile", "smoke", "--out", tmp_path).stdout
    assert text.splitlines()[-1].startswith(f"{len(rows)} runs, 1 stored, {len(rows) - 1} to run")
    assert cli("plan", "--profile", "fast").returncode == 2


def test_each_chapter_lists_the_runs_it_reads_and_the_book_is_their_union():

    p = PROFILES["cpu"]
    depth = {(r.name, r.config.seed, r.config.iterations) for r in chapter_runs("cpu", "03_depth")}
    assert depth == {(f"resnet{d}", s, p.iterations) for d in p.cifar_depths for s in p.seeds_for(d)} | {
        (f"resnet{d}", 0, p.deep_iterations) for d in p.deep_depths
    }
    responses = {(r.name, r.config.seed) for r in chapter_runs("cpu", "04_responses")}
    assert {("plain56", 2), ("resnet56", 2), ("resnet110", 0)} <= responses
    for chapter in WITH_RUNS:
        hashes = [r.config.hash() for r in chapter_runs("smoke", chapter)]
        assert len(hashes) == len(set(hashes))  # each run once per chapter
    union = {r.config.hash() for c in of_task("classification") for r in chapter_runs("smoke", c)}
    assert {r.config.hash() for r in classification_runs("smoke")} == union
    assert [r.config.hash() for r in chapter_runs("smoke", "05_detection")] == [
        r.config.hash() for r in detection_runs("smoke")
    ]
    with pytest.raises(ValueError, match="unknown chapter '08_x'; chapters with runs: 02_degradation"):
        chapter_runs("smoke", "08_x")


def test_a_runs_flops_are_its_training_passes_and_evaluations_counted_from_the_net():

    f = forward_flops("resnet20", "cifar10")
    assert 80e6 < f < 82e6  # 2 x 40.6M multiply-adds of ResNet-20 on a 32x32 image (§4.2's 0.27M-parameter net)
    assert forward_flops("plain20", "cifar10") == f  # option-A shortcuts add no multiply-adds
    cfg = PROFILES["full"].run_config("resnet20", "cifar")
    # 64k iterations of 128 images, forward + backward (3x forward), and 160 + 1 evaluations of 10,000 images
    assert training_flops(cfg) == f * (3 * 128 * 64000 + 161 * 10_000)
