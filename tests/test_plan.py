"""The plan of runs: every run the chapters train, from the profile, with stored / to run."""
import json

from paper_repro.config import PROFILES
from paper_repro.plan import plan


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
