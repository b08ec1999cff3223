"""What the chapters call to run experiments: train the nets of an experiment through the run
store (or read them back), and measure trained nets (Fig. 7). Turning runs into tables, sentences
and report rows is the book's job (``paper_repro.book``).

Every call here that may train shows its runs live in JupyterLab (a bar per run, the training
curves redrawn as the rows come: ``experiments.live``), and nothing anywhere else."""

from __future__ import annotations

import glob
import os
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torchvision.ops import nms

from paper_repro.classification.config import PROFILES, Profile, get_profile
from paper_repro.classification.data import build_data
from paper_repro.classification.train import load_model
from paper_repro.detection.backbones import BACKBONES, build_backbone
from paper_repro.detection.config import profile_config
from paper_repro.detection.data import build_detection_data
from paper_repro.experiments import live
from paper_repro.experiments.parameters import ParameterError, check
from paper_repro.experiments.plan import chapter_runs as planned
from paper_repro.models import parse_model_name
from paper_repro.models.measure import bn_gammas, layer_responses
from paper_repro.runs.datasets import ensure_fashion_mnist
from paper_repro.runs.home import home
from paper_repro.runs.registry import train
from paper_repro.runs.run import Result
from paper_repro.runs.speed import resolve_speed
from paper_repro.runs.store import read_json

RUNS = home() / "runs"  # the project folder's (paper_repro.runs.home), never the package's
DATA = home() / "data"


_NOT_TAKEN = object()  # a parameter the chapter does not declare


def setup(
    profile: str,
    nets=_NOT_TAKEN,
    iterations=_NOT_TAKEN,
    seeds=_NOT_TAKEN,
    choices: tuple | None = None,
    lengths=_NOT_TAKEN,
    **folders: str,
) -> Profile:
    """A chapter's first call: check its parameters (``profile``, the reader's experiment ``nets``,
    ``iterations`` and ``seeds``, or ``lengths`` (the scale map's), where the chapter declares them, and any
    data folders it declares,
    passed by name; None / "" = not given; ``choices``: the nets allowed where they are not the
    CIFAR-style nets) with one clear line for a bad one, make sure the
    profile's data set is on disk, and return the profile. Nothing is trained or written before
    every parameter passed."""

    experiment = {
        k: v
        for k, v in (("nets", nets), ("iterations", iterations), ("seeds", seeds), ("lengths", lengths))
        if v is not _NOT_TAKEN
    }
    check({"profile": profile, **experiment, **folders}, {"profile": tuple(PROFILES)})
    check_experiment(**experiment, choices=choices)
    for name, path in folders.items():
        if path and not Path(path).is_dir():
            raise ParameterError(f"{name} {path!r}: no such folder; give an existing folder or leave it empty")
    p = get_profile(profile)
    if p.dataset == "fashion-mnist":
        ensure_fashion_mnist(DATA)
    return p


NETS_ALLOWED = "plainN or resnetN with N = 6n+2: 20, 32, 44, 56, 110, 1202, ... (§4.2)"


def check_experiment(
    nets=None, iterations=None, seeds=None, choices: tuple[str, ...] | None = None, lengths=None
) -> None:
    """The reader's experiment, checked: ``nets`` a non-empty list of CIFAR-style net names,
    ``iterations`` a positive integer, ``seeds`` a non-empty list of integers >= 0, ``lengths`` (the
    scale map's schedule lengths) a non-empty list of positive integers (each None = the profile's
    plan). A bad value raises ParameterError naming the parameter and what is allowed."""
    allowed = ", ".join(choices) if choices else NETS_ALLOWED
    if nets is not None:
        if isinstance(nets, str) or not isinstance(nets, list | tuple) or not nets:
            raise ParameterError(f"nets must be a non-empty list of net names ({allowed}), got {nets!r}")
        for n in nets:
            try:
                family = parse_model_name(n)[0] if isinstance(n, str) else None
            except ValueError:
                family = None
            known = n in choices if choices else family == "cifar" and n == n.strip().lower()
            if not known:
                raise ParameterError(f"nets: unknown net {n!r}; allowed: {allowed}")
        if len(set(nets)) < len(nets):
            raise ParameterError(f"nets: each net once, got {nets!r}")
    if iterations is not None and (isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1):
        raise ParameterError(
            f"iterations must be a positive integer (the paper's CIFAR-10 length: 64000), got {iterations!r}"
        )
    if seeds is not None:
        ok = isinstance(seeds, list | tuple) and seeds and all(type(s) is int and s >= 0 for s in seeds)
        if not ok or len(set(seeds)) < len(seeds):
            raise ParameterError(
                f"seeds must be a non-empty list of different integers >= 0, such as [0, 1, 2], got {seeds!r}"
            )
    if lengths is not None:
        ok = isinstance(lengths, list | tuple) and lengths and all(type(n) is int and n >= 1 for n in lengths)
        if not ok or len(set(lengths)) < len(lengths):
            raise ParameterError(
                "lengths must be a non-empty list of different positive integers (schedule lengths in "
                f"iterations, such as [300, 600, 1200]), got {lengths!r}"
            )


class ChapterRuns:
    """A chapter's runs, trained or read back from the run store: the plan's (``planned``) or the
    reader's own experiment. ``iterations`` is the schedule length its curves and verdicts use."""

    def __init__(self, results: list[Result], iterations: int | None = None, planned: bool = True):
        self.results = results
        self.iterations = iterations if iterations is not None else (results[0].config.iterations if results else 0)
        self.planned = planned

    def first(self, iterations: int | None = None, nets=None) -> dict[str, Result]:
        """One run per net (its first seed) at a schedule length, in the plan's order: what curves show."""
        iterations = self.iterations if iterations is None else iterations
        out: dict[str, Result] = {}
        for r in self.results:
            if r.config.iterations == iterations and (nets is None or r.config.model in nets):
                out.setdefault(r.config.model, r)
        return out

    def seeds(self, iterations: int | None = None, nets=None) -> dict[str, list[Result]]:
        """Every seed of each net at a schedule length: the samples a claim's verdict is computed from."""
        iterations = self.iterations if iterations is None else iterations
        out: dict[str, list[Result]] = {}
        for r in self.results:
            if r.config.iterations == iterations and (nets is None or r.config.model in nets):
                out.setdefault(r.config.model, []).append(r)
        return out


def run(cfg) -> Result:
    """Train one run through the run store (or read it back when it finished before) and print one
    line: how it was obtained and its final errors."""
    t = time.perf_counter()
    r = train(cfg, out=RUNS, data_root=str(DATA))
    how = "stored run" if r.cached else f"trained in {time.perf_counter() - t:.0f} s"
    print(
        f"{r.config.model}/s{r.config.seed}, {r.config.iterations} it.: {how}; final training error "
        f"{100 * r.summary['final_train_error']:.2f}%, {r.summary['eval_split']} error "
        f"{100 * r.summary['final_eval_error']:.2f}%  ({r.run_dir.name})"
    )
    return r


def train_nets(profile: Profile, chapter: str, nets=None, iterations=None, seeds=None) -> ChapterRuns:
    """The chapter's experiment: with ``nets``, ``iterations`` and ``seeds`` all None, every run the
    plan lists for ``chapter``; otherwise exactly ``nets`` x ``seeds`` at ``iterations`` (a None among
    them: the profile's length, seed 0), with the profile's recipe. Each run is trained or read back."""
    check_experiment(nets, iterations, seeds)
    if nets is None and iterations is None and seeds is None:
        return chapter_runs(profile, chapter)
    nets = nets or list(dict.fromkeys(p.config.model for p in planned(profile.name, chapter)))
    iterations = iterations or profile.iterations
    configs = [
        profile.run_config(n, "cifar", seed=s, iterations=iterations)
        for n in nets
        for s in (seeds or profile.seeds_for(parse_model_name(n)[2]))
    ]
    with live.session():  # a bar per run and the curves, redrawn as they train, in JupyterLab only
        return ChapterRuns([run(c) for c in configs], iterations, planned=False)


def chapter_runs(profile: Profile, chapter: str) -> ChapterRuns:
    """Train (or read back) every run the plan lists for ``chapter``; print one line per run."""
    with live.session():
        return ChapterRuns([run(p.config) for p in planned(profile.name, chapter)], profile.iterations)


def trained_net(r: Result, data_root: str | os.PathLike = DATA):
    """A finished run's network on its device and its held-out loader (what Fig. 7 measures on)."""
    speed = resolve_speed(r.config)
    data = build_data(r.config, speed, str(data_root))
    model = load_model(r, speed.device)
    if speed.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model, data, speed


def responses(results: dict[str, Result], n_images: int) -> dict[str, list[float]]:
    """Fig. 7 for each trained net: std of every 3x3 layer's output (after BN, before ReLU or
    the addition) on the first ``n_images`` held-out images."""
    out = {}
    for name, r in results.items():
        model, data, speed = trained_net(r)
        out[name] = list(layer_responses(model, data.eval, speed.device, max_images=n_images).values())
    return out


def response_means(by_model: dict[str, list[Result]], n_images: int) -> tuple[dict, dict]:
    """Fig. 7's summary per net and seed, from one load of each run's network: the mean over its
    3x3 layers of the response std, and the mean |gamma| of the BN layers those responses follow."""

    means, gammas = {}, {}
    for m, rs in by_model.items():
        for r in rs:
            model, data, speed = trained_net(r)
            means.setdefault(m, []).append(
                statistics.fmean(layer_responses(model, data.eval, speed.device, max_images=n_images).values())
            )
            gammas.setdefault(m, []).append(statistics.fmean(bn_gammas(model).values()))
    return means, gammas


def train_imagenet(profile: Profile, models, path: str, verbose=True) -> dict[str, Result]:
    """Table 2 / Fig. 4 nets on an ImageNet-style folder (§3.4 transforms, 10-crop validation)."""
    results = {}
    with live.session():
        for model in models:
            results[model] = _train_imagenet_one(profile, model, path, verbose)
    return results


def _train_imagenet_one(profile: Profile, model: str, path: str, verbose: bool) -> Result:
    """One net of :func:`train_imagenet`: its config, trained or read back, one printed line."""
    if profile.name == "full":
        # §3.4: batch 256, lr 0.1 divided by 10 "when the error plateaus", up to 60e4 iterations
        cfg = profile.run_config(model, "imagenet", dataset=f"imagenet:{path}", iterations=600000, batch_size=256)
        cfg = cfg.replace(
            milestones=(150000, 300000, 450000),
            eval_interval=5000,
            checkpoint_interval=5000,
            eval_subset=None,
            train_subset=None,
        )
    else:
        cfg = profile.run_config(
            model,
            "imagenet",
            dataset=f"imagenet:{path}",
            batch_size=32 if profile.name == "cpu" else 8,
            iterations=profile.iterations,
        )
        cfg = cfg.replace(eval_subset=200 if profile.name == "cpu" else 16, train_subset=None)
    t = time.perf_counter()
    r = train(cfg.validate(), out=RUNS, data_root=str(DATA))
    if verbose:
        how = "stored run" if r.cached else f"trained in {time.perf_counter() - t:.0f} s"
        print(f"{model:>10}: {how}; top-1 val error (10-crop) {100 * r.summary['final_eval_error']:.2f}%")
    return r


# --------------------------------------------------------------------------- chapter 5: the detectors
WEIGHT_FILES = {"resnet101": "resnet101*.pth", "vgg16": "vgg16-*.pth"}  # torchvision's file names


def pretrained_path(pretrained_dir: str, backbone: str) -> str:
    """The torchvision ImageNet weights of ``backbone`` in ``pretrained_dir`` ("" if none):
    ``resnet101-63fe2227.pth`` / ``resnet101-cd907fc2.pth``, ``vgg16-397923af.pth``."""
    if not pretrained_dir:
        return ""
    found = sorted(glob.glob(os.path.join(pretrained_dir, WEIGHT_FILES[backbone])))
    return found[0] if found else ""


@dataclass
class DetectionRuns:
    """The runs of one profile: ``runs[dataset][backbone]`` -> Result."""

    profile: str
    runs: dict = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    seeds: dict = field(default_factory=dict)  # seeds[dataset][backbone] -> [Result per seed]

    def get(self, dataset: str, backbone: str) -> Result | None:
        return self.runs.get(dataset, {}).get(backbone)


def run_detection(
    profile: str,
    voc_root: str = "",
    coco_root: str = "",
    pretrained_dir: str = "",
    out: str | os.PathLike = RUNS,
    data_root: str | os.PathLike = DATA,
    progress: bool | None = None,
    nets=None,
    iterations: int | None = None,
    seeds=None,
) -> DetectionRuns:
    """Both backbones (or ``nets``) on the Fashion-MNIST canvases (every profile, from scratch;
    ``iterations`` and ``seeds``: the profile's when None), and, in the ``full`` profile, on VOC
    07+12 (Table 7) and COCO (Table 8) where their folders and the ImageNet weights are given."""
    check_experiment(nets, iterations, seeds, choices=BACKBONES)
    with live.session():
        return _run_detection(
            profile, voc_root, coco_root, pretrained_dir, out, data_root, progress, nets, iterations, seeds
        )


def _run_detection(profile, voc_root, coco_root, pretrained_dir, out, data_root, progress, nets, iterations, seeds):
    res = DetectionRuns(profile)
    ensure_fashion_mnist(data_root)
    canvas = {
        b: [
            train(profile_config(profile, b, "fashion-canvas", seed=s, iterations=iterations), out, data_root, progress)
            for s in seeds or (0,)
        ]
        for b in nets or BACKBONES
    }
    res.runs["fashion-canvas"] = {b: rs[0] for b, rs in canvas.items()}
    res.seeds["fashion-canvas"] = canvas
    for name, root in (("voc", voc_root), ("coco", coco_root)):
        if not root:
            continue
        if profile != "full":
            res.skipped.append(f"{name}: the {profile} profile trains on the canvases only; use profile full")
            continue
        weights = {b: pretrained_path(pretrained_dir, b) for b in BACKBONES}
        missing = [b for b, w in weights.items() if not w]
        if missing:
            res.skipped.append(
                f"{name}: no ImageNet weights for {', '.join(missing)} in {pretrained_dir or '(not given)'} "
                f"(expected {', '.join(WEIGHT_FILES[b] for b in missing)})"
            )
            continue
        res.runs[name] = {
            b: train(profile_config(profile, b, f"{name}:{root}", pretrained=weights[b]), out, data_root, progress)
            for b in BACKBONES
        }
    return res


def c4_parameters() -> dict[str, tuple[float, float, int]]:
    """Per backbone of the C4 design: the parameters (M) of the layers run once per image, of those
    run once per region, and the RoI pooling size, measured on the models this package builds."""
    out = {}
    for b in BACKBONES:
        trunk, head, roi = build_backbone(b)
        out[b] = (_params(trunk), _params(head), roi)
    return out


def _params(module) -> float:
    return sum(p.numel() for p in module.parameters()) / 1e6


def shown_detections(sample: dict, extra: int = 1, max_boxes: int = 5, overlap: float = 0.3) -> list[tuple]:
    """The detections a figure shows for one image: after class-agnostic NMS (``overlap``), the
    highest-scoring ones, as many as the image has objects plus ``extra`` (at most ``max_boxes``).
    Returns (box, label, score) triples."""

    if not sample["boxes"]:
        return []
    boxes, scores = torch.tensor(sample["boxes"]), torch.tensor(sample["scores"])
    keep = nms(boxes, scores, overlap)[: min(max_boxes, len(sample["gt_labels"]) + extra)].tolist()
    return [(sample["boxes"][i], sample["labels"][i], sample["scores"][i]) for i in keep]


def sample_detections(
    res: DetectionRuns, dataset: str = "fashion-canvas", n: int = 4, data_root: str | os.PathLike = DATA
) -> tuple[dict[str, list[dict]], list[str]]:
    """Per backbone, the first ``n`` held-out images with their ground truth and the detections
    :func:`shown_detections` keeps (from each run's samples.json), and the class names."""

    by_backbone = res.runs[dataset]
    data = build_detection_data(next(iter(by_backbone.values())).config, data_root)
    rows, classes = {}, []
    for b, r in by_backbone.items():
        samples = read_json(Path(r.run_dir) / "samples.json")
        classes = samples["classes"]
        rows[b] = []
        for col, s in enumerate(samples["images"][:n]):
            kept = shown_detections(s)
            rows[b].append(
                {
                    "image": data.eval[col][0].permute(1, 2, 0).numpy(),
                    "gt_boxes": s["gt_boxes"],
                    "gt_labels": s["gt_labels"],
                    "boxes": [k[0] for k in kept],
                    "labels": [k[1] for k in kept],
                    "scores": [k[2] for k in kept],
                }
            )
    return rows, classes
