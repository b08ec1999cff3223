"""The reader's own experiment: a chapter's ``nets``, ``iterations`` and ``seeds`` train exactly what
they say; a bad value stops the chapter with one line naming the parameter, before anything is
trained or written."""

import json
import os
from pathlib import Path

import pytest

from paper_repro.experiments import runs as ex
from paper_repro.experiments.parameters import ParameterError
from paper_repro.runs.home import ENV

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("values", "line"),
    [
        ({"nets": ["plain20", "resnet7"]}, "nets: unknown net 'resnet7'; allowed: plainN or resnetN with N = 6n+2"),
        ({"nets": "resnet20"}, "nets must be a non-empty list of net names"),
        ({"nets": []}, "nets must be a non-empty list of net names"),
        ({"nets": ["resnet34"]}, "nets: unknown net 'resnet34'"),  # an ImageNet net: not this chapter's
        ({"nets": ["resnet20", "resnet20"]}, "nets: each net once"),
        ({"iterations": -5}, "iterations must be a positive integer (the paper's CIFAR-10 length: 64000), got -5"),
        ({"iterations": True}, "iterations must be a positive integer"),
        ({"iterations": 8.5}, "iterations must be a positive integer"),
        ({"seeds": []}, "seeds must be a non-empty list of different integers >= 0, such as [0, 1, 2], got []"),
        ({"seeds": [0, -1]}, "seeds must be a non-empty list"),
        ({"seeds": [1, 1]}, "seeds must be a non-empty list"),
        ({"lengths": 300}, "lengths must be a non-empty list of different positive integers (schedule lengths"),
        ({"lengths": [300, 0]}, "lengths must be a non-empty list"),
        ({"lengths": [300, 300]}, "lengths must be a non-empty list"),
        ({"lengths": [150.0]}, "lengths must be a non-empty list"),
    ],
)
def test_a_bad_value_names_the_parameter_and_what_is_allowed(values, line):
    with pytest.raises(ParameterError) as e:
        ex.check_experiment(**values)
    assert str(e.value).startswith(line) and "\n" not in str(e.value)


def test_detection_takes_its_own_backbones():
    ex.check_experiment(["resnet101", "vgg16"], 4, [0], choices=("resnet101", "vgg16"))
    with pytest.raises(ParameterError, match="nets: unknown net 'resnet20'; allowed: resnet101, vgg16"):
        ex.check_experiment(["resnet20"], choices=("resnet101", "vgg16"))


def test_the_readers_experiment_trains_exactly_nets_times_seeds_and_the_plan_otherwise(monkeypatch):
    trained = []
    monkeypatch.setattr(ex, "run", lambda cfg: trained.append(cfg) or _Fake(cfg))
    p = ex.get_profile("smoke")
    runs = ex.train_nets(p, "02_degradation", ["plain32", "resnet32"], 2000, [0, 1, 2])
    assert [(c.model, c.iterations, c.seed) for c in trained] == [
        (n, 2000, s) for n in ("plain32", "resnet32") for s in (0, 1, 2)
    ]
    assert not runs.planned and runs.iterations == 2000 and list(runs.first()) == ["plain32", "resnet32"]
    assert [len(v) for v in runs.seeds().values()] == [3, 3]
    assert {c.milestones for c in trained} == {(1000, 1500)}  # the profile's recipe, scaled to the length
    trained.clear()
    planned = ex.train_nets(p, "02_degradation")
    assert planned.planned and [c.hash() for c in trained] == [
        r.config.hash() for r in ex.planned("smoke", "02_degradation")
    ]


class _Fake:
    def __init__(self, cfg):
        self.config = cfg


def _papermill(tmp_path, chapter="02_degradation", **params):
    import jupytext  # noqa: PLC0415 - optional: the [test] extra, needed by this test only
    import papermill  # noqa: PLC0415 - optional: the [test] extra, needed by this test only
    from papermill.exceptions import PapermillExecutionError  # noqa: PLC0415

    nb = jupytext.read(ROOT / "book" / f"{chapter}.py")
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    out = tmp_path / "out.ipynb"
    try:
        papermill.execute_notebook(
            nb, str(out), parameters=params, kernel_name="python3", progress_bar=False, cwd=str(tmp_path)
        )
    except PapermillExecutionError as e:
        return str(e), None
    return None, json.loads(out.read_text())


@pytest.fixture
def project(tmp_path, monkeypatch):
    """An empty project folder holding only the data: the runs and figures a chapter writes land here."""
    (tmp_path / "data").symlink_to(ROOT / "data", target_is_directory=True)
    monkeypatch.setenv(ENV, str(tmp_path))
    return tmp_path


@pytest.mark.slow
def test_papermill_trains_exactly_the_readers_nets_and_draws_them(project):
    err, nb = _papermill(project, profile="smoke", nets=["plain20", "resnet20"], iterations=8, seeds=[0])
    assert err is None, err
    configs = sorted(json.loads(p.read_text())["model"] for p in project.glob("runs/cifar/*/config.json"))
    assert configs == ["plain20", "resnet20"]
    for p in project.glob("runs/cifar/*/summary.json"):
        s = json.loads(p.read_text())
        assert (s["iterations_done"], s["seed"]) == (8, 0)
    # the reader's experiment is drawn and judged, never written over the profile's figures and rows
    assert not (project / "figures").exists()
    fig6 = next(c for c in nb["cells"] if "chapter.fig6(" in "".join(c["source"]))
    assert any("image/png" in o.get("data", {}) for o in fig6["outputs"]), "Fig. 6 draws the reader's runs"
    text = json.dumps(nb)
    assert "plain20/s0, 8 it.: trained" in text and "resnet20/s0, 8 it.: trained" in text


@pytest.mark.slow
def test_a_bad_net_stops_the_chapter_with_one_line_and_writes_nothing(project):
    err, _ = _papermill(project, profile="smoke", nets=["plain20", "resnet7"], iterations=8, seeds=[0])
    assert err is not None
    assert err.strip().splitlines()[-1].startswith("ParameterError: nets: unknown net 'resnet7'; allowed:")
    assert "Traceback" not in err
    assert sorted(os.listdir(project)) == ["data", "out.ipynb"]  # no runs/, no figures/


@pytest.mark.slow
def test_the_readers_scale_map_trains_its_points_into_its_own_file_and_draws_them(project):
    err, nb = _papermill(
        project, "07_scale_map", profile="smoke", lengths=[4, 8], nets=["plain20", "resnet20"], seeds=[0]
    )
    assert err is None, err
    mine = [json.loads(line) for line in (project / "runs/scale-map/records-smoke.jsonl").read_text().splitlines()]
    assert sorted((r["net"], r["iterations"], r["seed"]) for r in mine) == [
        ("plain20", 4, 0), ("plain20", 8, 0), ("resnet20", 4, 0), ("resnet20", 8, 0)
    ]  # fmt: skip
    assert not (project / "figures").exists()  # the committed map (none here) is never written
    cell = next(c for c in nb["cells"] if "reader_map(" in "".join(c["source"]))
    text = json.dumps(cell["outputs"])
    assert "scale-map [4/4] resnet20 seed 0, 8 iterations" in text
    assert "ResNets respond less than plain nets (20)" in text and "4/8 iterations \\u00b7 seeds 0" in text
    assert any("application/vnd.plotly.v1+json" in o.get("data", {}) for o in cell["outputs"]), "the map is drawn"


@pytest.mark.slow
def test_a_bad_length_stops_the_scale_map_with_one_line_and_writes_nothing(project):
    err, _ = _papermill(project, "07_scale_map", profile="smoke", lengths=[300, -1])
    assert err is not None and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("ParameterError: lengths must be a non-empty list")
    assert sorted(os.listdir(project)) == ["data", "out.ipynb"]
