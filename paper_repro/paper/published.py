"""Published reproductions of the paper, and the published Fashion-MNIST depth table, as data.

These are other people's numbers, typed once here exactly as their sources print them (see
../shared/PAPER.md), each with its source and how many runs stand behind it. They are not results
of this project: the book shows them beside the paper's column and beside this project's measured
column, always with the source and its number of runs.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Number:
    """One published test error (%) for one net."""

    net: str  # resnet20, plain56, ...
    error: float  # as printed (the mean where the source prints mean ± std)
    std: float | None = None  # as printed
    runs: int | None = None  # how many runs stand behind it; None where the source does not say
    values: tuple = ()  # the single runs, where the source lists them

    def text(self) -> str:
        """ "8.51 ± 0.22", "8.27", "7.56 ± 0.52" (mean ± std of the listed runs)."""
        return f"{self.error:.2f}" + ("" if self.std is None else f" ± {self.std:.2f}")


def _listed(net: str, values: tuple) -> Number:
    """A number whose source lists every run: mean ± std (sample) of the listed values."""
    return Number(net, statistics.fmean(values), statistics.stdev(values), len(values), tuple(values))


def _from_accuracy(net: str, accuracy: float, std: float, runs: int) -> Number:
    """A source that prints accuracy (%): the error is 100 − accuracy, the std unchanged."""
    return Number(net, round(100 - accuracy, 2), std, runs)


@dataclass(frozen=True)
class Source:
    key: str
    repo: str  # owner/name on GitHub
    where: str  # README, issue #18, PR #5243
    url: str
    dataset: str
    recipe: str  # what was trained, as the source describes it
    statistic: str  # what each number is: "mean ± std of 5 runs", "single best run", ...
    numbers: tuple = field(default=())
    epochs: int | None = None  # the schedule's length in epochs, where the source states it

    def cite(self) -> str:
        """ "nabla0001/resnet (README)"."""
        return f"{self.repo} ({self.where})"

    def get(self, net: str) -> Number | None:
        return next((n for n in self.numbers if n.net == net), None)


NABLA = Source(
    "nabla0001",
    "nabla0001/resnet",
    "README",
    "https://github.com/nabla0001/resnet",
    "CIFAR-10",
    "the paper's 64k-iteration schedule",
    "mean ± std of 5 runs",
    (
        Number("resnet20", 8.51, 0.22, 5),
        Number("resnet56", 7.40, 0.27, 5),
        Number("resnet110", 7.14, 0.20, 5),
        Number("plain20", 9.78, 0.13, 5),
        Number("plain56", 12.95, 0.22, 5),
    ),
)

AKAMASTER = Source(
    "akamaster",
    "akamaster/pytorch_resnet_cifar10",
    "README",
    "https://github.com/akamaster/pytorch_resnet_cifar10",
    "CIFAR-10",
    "200 epochs on all 50k training images, ImageNet mean/std normalisation (not the paper's recipe)",
    "single best run, chosen on the test set",
    tuple(
        Number(f"resnet{d}", e, None, 1)
        for d, e in ((20, 8.27), (32, 7.37), (44, 6.90), (56, 6.61), (110, 6.32), (1202, 6.18))
    ),
)

AKAMASTER_RERUNS = Source(
    "akamaster_issue18",
    "akamaster/pytorch_resnet_cifar10",
    "issue #18",
    "https://github.com/akamaster/pytorch_resnet_cifar10/issues/18",
    "CIFAR-10",
    "six reruns of ResNet-56",
    "mean ± std of the 6 listed runs",
    (_listed("resnet56", (7.4, 7.29, 7.4, 6.89, 8.42, 7.95)),),
)

TF_MODELS = Source(
    "tf_models_5243",
    "tensorflow/models",
    "PR #5243",
    "https://github.com/tensorflow/models/pull/5243",
    "CIFAR-10",
    "ResNet-56, 164 epochs, one V100",
    "mean ± std of 5 runs (printed as accuracy 93.12 ± 0.2%)",
    (_from_accuracy("resnet56", 93.12, 0.2, 5),),
)

RANDOM_ERASING = Source(
    "random_erasing",
    "zhunzhong07/Random-Erasing",
    "README",
    "https://github.com/zhunzhong07/Random-Erasing",
    "Fashion-MNIST (release before 31 Aug 2017)",
    "300 epochs, batch 128, lr 0.1 ÷10 at epochs 150 and 225, weight decay 5e-4, crop 28 with padding 4 + flip",
    "one number per depth (number of runs not stated), best test accuracy over epochs; baseline without random erasing",
    tuple(Number(f"resnet{d}", e) for d, e in ((20, 4.39), (32, 4.16), (44, 4.41), (56, 4.39), (110, 4.40))),
    epochs=300,
)

RANDOM_ERASING_RERUN = Source(
    "random_erasing_issue10",
    "zhunzhong07/Random-Erasing",
    "issue #10",
    "https://github.com/zhunzhong07/Random-Erasing/issues/10",
    "Fashion-MNIST (current release)",
    "an independent rerun of the README's recipe",
    "mean ± std as printed (number of runs not stated)",
    (Number("resnet20", 4.82, 0.04),),
    epochs=300,  # the README's recipe
)

CIFAR10 = (NABLA, AKAMASTER, AKAMASTER_RERUNS, TF_MODELS)
FASHION_MNIST = (RANDOM_ERASING, RANDOM_ERASING_RERUN)
SOURCES = {s.key: s for s in CIFAR10 + FASHION_MNIST}


def runs_text(source: Source, number: Number) -> str:
    """How many runs stand behind ``number``, in words: "5 runs", "single best run", "runs not stated"."""
    if number.runs == 1:
        return "single best run"
    if number.runs:
        return f"{number.runs} runs"
    return "runs not stated"


def cell(net: str, sources=CIFAR10) -> str:
    """Every published number for ``net`` among ``sources``, each with its source and runs:
    "8.51 ± 0.22 (nabla0001/resnet (README), 5 runs); 8.27 (akamaster/... (README), single best run)"."""
    out = [f"{n.text()} ({s.cite()}, {runs_text(s, n)})" for s in sources if (n := s.get(net)) is not None]
    return "; ".join(out) if out else "–"
