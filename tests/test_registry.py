"""runs.registry: one way to start a run of any kind, found by the config's type."""

import pickle
import subprocess
import sys
from dataclasses import dataclass

import pytest

from paper_repro.classification.config import RunConfig
from paper_repro.classification.train import fit
from paper_repro.detection.config import DetectConfig
from paper_repro.detection.train import fit_detector
from paper_repro.runs import registry


def test_each_config_type_finds_its_tasks_training_function():
    assert registry.trainer(RunConfig()) is fit
    assert registry.trainer(DetectConfig()) is fit_detector


def test_a_subclass_finds_its_bases_function_and_an_unknown_type_is_refused(monkeypatch):
    monkeypatch.setattr(registry, "TRAINERS", dict(registry.TRAINERS))

    @dataclass(frozen=True)
    class Wider(RunConfig):
        width: int = 2

    assert registry.trainer(Wider()) is fit
    calls = []
    registry.register(Wider)(lambda cfg, **kw: calls.append((cfg, kw)) or "result")
    assert registry.train(Wider(), out="o", data_root="d") == "result"
    assert calls == [(Wider(), {"out": "o", "data_root": "d", "progress": None, "log": None})]
    with pytest.raises(LookupError, match="object"):
        registry.train(object())


def test_importing_a_config_alone_registers_its_training_function():
    """In a fresh process (as in a Ray worker that unpickles a config): the config's module is
    all that is imported, and the registry still finds the function that trains it."""
    code = (
        "import pickle, sys\n"
        "from paper_repro.runs.registry import trainer\n"
        "cfgs = pickle.loads(sys.stdin.buffer.read())\n"
        "print(' '.join(f'{trainer(c).__module__}.{trainer(c).__name__}' for c in cfgs))\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], input=pickle.dumps([RunConfig(), DetectConfig()]), capture_output=True
    )
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout.decode().split() == [
        "paper_repro.classification.train.fit",
        "paper_repro.detection.train.fit_detector",
    ]
