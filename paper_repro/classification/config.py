"""RunConfig, the one object that describes a training run, and the profiles.

A profile (smoke / cpu / full) only shrinks the data and the number of iterations; the recipe
(SGD momentum 0.9, weight decay 1e-4, batch 128, lr 0.1 divided by 10 at 50% and 75% of the
iterations, the 110/1202 warm-up) stays the paper's (§4.2). ``full`` is the paper's schedule
exactly: 64k iterations, milestones at 32k and 48k.
"""

from __future__ import annotations

from dataclasses import dataclass

from paper_repro.classification.data import DATASETS_HELP, parse_dataset
from paper_repro.models import parse_model_name
from paper_repro.runs.datasets import ensure_fashion_mnist, load_cifar10
from paper_repro.runs.spec import RunSpec, check_common, scaled_milestones

PROFILES_HELP = "smoke, cpu or full"
WARMUPS = ("auto", "on", "off")  # §4.2's warm-up: auto = on for CIFAR nets of depth >= 110
SPLITS = ("test", "val")  # evaluate on the test set, or on the seeded 45k/5k split's 5k


@dataclass(frozen=True)
class RunConfig(RunSpec):
    """Everything that decides a run's result. Saved as config.json in every run directory."""

    model: str = "resnet20"  # a build_model name: resnet20, plain56, resnet1202, resnet50 ...
    dataset: str = "cifar10"  # cifar10 | fashion-mnist | synthetic | imagenet:PATH
    experiment: str = "default"  # run-store folder that groups related runs
    iterations: int = 64000  # §4.2: stop at 64k iterations
    batch_size: int = 128  # §4.2: mini-batch 128 (global, across all processes)
    lr: float = 0.1  # §4.2: start at 0.1
    milestones: tuple[int, ...] = (32000, 48000)  # §4.2: divide by 10 at 32k and 48k
    lr_decay: float = 0.1
    weight_decay: float = 1e-4  # §4.2
    momentum: float = 0.9  # §4.2
    warmup: str = "auto"  # auto: on for CIFAR nets of depth >= 110 (§4.2); on | off
    warmup_lr: float = 0.01  # §4.2: "we use 0.01 to warm up the training
    warmup_until_error: float = 0.80  #        until the training error is below 80%"
    warmup_window: int = 20  # training error = mean over the last N batches
    split: str = "test"  # test: train on all training images, evaluate on the test set
    # (Table 6, Fig. 6); val: the seeded 45k/5k split (5k held out)
    val_size: int = 5000
    train_subset: int | None = None  # smaller profiles: a seeded subset of the training images
    eval_subset: int | None = None  # ... and of the evaluation images the curves are drawn on
    final_eval_subset: int | None = None  # images of the final evaluation (None: the whole test or val
    # split, as Table 6 reports it; curves may use fewer)
    eval_interval: int = 1000  # metrics.jsonl gets a line every N iterations
    checkpoint_interval: int = 4000  # a checkpoint every N iterations (a multiple of eval_interval)
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    precision: str = "auto"  # auto | fp32 | bf16 (autocast; weights and SGD stay fp32)
    channels_last: str = "auto"  # auto | on | off
    compile: bool = False  # torch.compile (opt-in)
    workers: int = 8  # DataLoader workers, ImageNet folders only

    TUPLE_FIELDS = ("milestones",)

    # ---- the run interface (runs.spec.RunSpec)
    @property
    def name(self) -> str:
        return self.model

    def ensure_data(self, data_root: str) -> None:
        name, _ = parse_dataset(self.dataset)
        if name == "fashion-mnist":
            ensure_fashion_mnist(data_root)
        elif name == "cifar10":
            load_cifar10(data_root, train=True)

    def work(self) -> float:
        return self.iterations * parse_model_name(self.model)[2]

    def shares_gpu(self) -> bool:
        return parse_model_name(self.model)[0] == "cifar"

    def uses_warmup(self) -> bool:
        if self.warmup == "on":
            return True
        if self.warmup == "off":
            return False
        family, kind, depth = parse_model_name(self.model)
        return family == "cifar" and depth >= 110  # §4.2: ResNet-110 and ResNet-1202

    def validate(self) -> RunConfig:
        """Raise ValueError (one line, naming what is allowed) for any bad field."""
        parse_model_name(self.model)
        parse_dataset(self.dataset)
        for name in ("iterations", "batch_size", "eval_interval", "checkpoint_interval", "val_size"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        for name in ("lr", "warmup_lr"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and v > 0):
                raise ValueError(f"{name} must be a number > 0, got {v!r}")
        if not 0 < self.lr_decay <= 1:
            raise ValueError(f"lr_decay must be in (0, 1], got {self.lr_decay!r}")
        if self.weight_decay < 0 or not 0 <= self.momentum < 1:
            raise ValueError("weight_decay must be >= 0 and momentum in [0, 1)")
        check_common(
            self,
            {"warmup": WARMUPS, "split": SPLITS},
            optional_counts=("train_subset", "eval_subset", "final_eval_subset"),
            log_every="eval_interval",
        )
        return self


# The fields `python -m paper_repro train` sets, each with its help: paper_repro.cli makes one flag of
# each (--batch-size for batch_size), typed and defaulted by the field itself, or by the profile where
# the profile sets the field (dataset, iterations, eval_interval). Every other field is the paper's.
RUN_FLAGS = {
    "dataset": DATASETS_HELP,
    "experiment": "run-store folder that groups related runs",
    "iterations": "training iterations; the lr is divided by 10 at 50% and 75% of them (§4.2)",
    "batch_size": "mini-batch, all processes together (§4.2)",
    "lr": "initial learning rate (§4.2)",
    "warmup": "lr 0.01 until the training error is below 80% (§4.2); auto: ResNet-110/1202 only",
    "split": "test: train on all training images, evaluate on the test set; val: the seeded 45k/5k split",
    "eval_interval": "iterations between evaluations (the checkpoint interval follows it)",
    "seed": "seed of the initialisation and the data order",
    "device": "auto, cpu, cuda or cuda:N",
    "precision": "bf16 autocast where the hardware has it",
    "channels_last": "channels_last memory format",
    "compile": "torch.compile the model",
    "workers": "DataLoader workers (ImageNet folders only)",
}


@dataclass(frozen=True)
class Profile:
    """The scale of everything: data, iterations, depths and seeds for every experiment."""

    name: str
    dataset: str
    iterations: int
    eval_interval: int
    checkpoint_interval: int
    train_subset: int | None
    eval_subset: int | None
    cifar_depths: tuple[int, ...]  # Fig. 6 left/middle, Table 6 (plain nets: those <= 56)
    deep_depths: tuple[int, ...]  # Fig. 6 right (110 vs 1202)
    deep_iterations: int  # iterations for the deep (1202) run
    repeats: dict  # Table 6: depth -> seeds run for it (paper: 5 runs of ResNet-110)
    response_images: int  # Fig. 7: test images the layer responses are measured on
    final_eval_subset: int | None = None  # final test error on this many images (None: all of them)
    where: str = ""  # the machine the profile is sized for

    def seeds_for(self, depth: int) -> tuple[int, ...]:
        return tuple(self.repeats.get(depth, (0,)))

    def run_config(self, model: str, experiment: str, seed: int = 0, iterations: int | None = None, **kw) -> RunConfig:
        """The profile's RunConfig for ``model``; ``kw`` sets any other field (``eval_interval`` and
        ``eval_subset`` replace the profile's, the checkpoint interval follows ``eval_interval``)."""
        iters = iterations or self.iterations
        every = kw.pop("eval_interval", min(self.eval_interval, iters))
        cfg = RunConfig(
            model=model,
            dataset=kw.pop("dataset", self.dataset),
            experiment=experiment,
            iterations=iters,
            milestones=scaled_milestones(iters),
            eval_interval=every,
            train_subset=self.train_subset,
            eval_subset=kw.pop("eval_subset", self.eval_subset),
            final_eval_subset=self.final_eval_subset,
            seed=seed,
            checkpoint_interval=self._ckpt(iters, every),
            **kw,
        )
        return cfg.validate()

    def _ckpt(self, iters: int, every: int | None = None) -> int:
        e = every or min(self.eval_interval, iters)
        return max(e, (min(self.checkpoint_interval, iters) // e) * e)


PROFILES = {
    # CI: every notebook and every depth (1202 included) exercised on a few hundred real images.
    "smoke": Profile(
        "smoke",
        "fashion-mnist",
        iterations=6,
        eval_interval=3,
        checkpoint_interval=3,
        train_subset=512,
        eval_subset=256,
        cifar_depths=(20, 32, 44, 56, 110),
        deep_depths=(110, 1202),
        deep_iterations=2,
        repeats={20: (0, 1), 110: (0, 1)},
        response_images=128,
        final_eval_subset=256,
        where="CI and the tests: every chapter and every depth (1202 too) exercised in minutes",
    ),
    # A laptop, 2 cores, the whole book in about half an hour: real Fashion-MNIST, short schedules.
    # The budget goes where a verdict needs it: 3 seeds of the four nets the claims compare (plain and
    # ResNet, 20 and 56 layers), final errors on all 10,000 test images (curves on 1,000), one
    # ResNet-110 for the warm-up; the 32- and 44-layer nets are left to the full profile. Measured on
    # 2 cores of an Intel Xeon (avx512_bf16): plain/ResNet-56 train at about 190 images/s, so 150
    # iterations per net is what fits; the scale map (figures/scale-map) follows the claims further.
    "cpu": Profile(
        "cpu",
        "fashion-mnist",
        iterations=150,
        eval_interval=25,
        checkpoint_interval=150,
        train_subset=None,
        eval_subset=1000,
        cifar_depths=(20, 56, 110),
        deep_depths=(110,),
        deep_iterations=150,
        repeats={20: (0, 1, 2), 56: (0, 1, 2)},
        response_images=1000,
        final_eval_subset=None,
        where="a laptop, 2 CPU cores: the whole book in about half an hour",
    ),
    # A GPU box: the paper's recipe exactly (§4.2).
    "full": Profile(
        "full",
        "cifar10",
        iterations=64000,
        eval_interval=400,
        checkpoint_interval=4000,
        train_subset=None,
        eval_subset=None,
        cifar_depths=(20, 32, 44, 56, 110),
        deep_depths=(110, 1202),
        deep_iterations=64000,
        repeats={110: (0, 1, 2, 3, 4)},
        response_images=10000,
        where="a GPU box: the paper's recipe exactly (CIFAR-10; ImageNet / VOC / COCO where given a path)",
    ),
}


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; allowed: {PROFILES_HELP}")
    return PROFILES[name]
