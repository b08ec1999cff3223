"""Records: one finished run as data, the one thing the pages read.

A record is a flat JSON object: the run's net, seed, iterations, data set and precision, its final
training and test errors, its curves and its Fig. 7 statistics when it has them, and where it ran
(config hash, commit, hardware, torch). ``figures/scale-map/records.jsonl`` holds one per line and
only grows: a point measured again is a new line, and the newest line of a point is the one used.

Everything here is a pure function of the records (no torch): reading and appending, the newest
record per point, the longest schedule at which a set of nets has enough seeds, a claim judged on
records, one provenance and one label, and the names and number format the pages print.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from paper_repro.paper import claims
from paper_repro.runs.files import append_jsonl, read_jsonl
from paper_repro.runs.home import home

RECORDS = home() / "figures" / "scale-map" / "records.jsonl"  # the committed map (the project folder's)
NETS = ("plain20", "plain56", "resnet20", "resnet56")  # the nets the map follows: Fig. 6 and Fig. 7's four
DATASET_NAMES = {
    "fashion-mnist": "Fashion-MNIST",
    "cifar10": "CIFAR-10",
    "synthetic": "synthetic",
    "imagenet": "ImageNet",
}


# --------------------------------------------------------------------------- names and numbers
def net_name(net: str) -> str:
    """A net as the paper writes it: plain56 -> plain-56, resnet110 -> ResNet-110, vgg16 -> VGG-16."""
    for prefix, shown in (("resnet", "ResNet-"), ("plain", "plain-"), ("vgg", "VGG-")):
        if net.startswith(prefix):
            return shown + net[len(prefix) :]
    return net


def net_order(net: str) -> tuple[bool, int]:
    """The pages' order of nets: plain nets before ResNets, each by depth."""
    return net.startswith("resnet"), int("".join(c for c in net if c.isdigit()) or 0)


def dataset_name(dataset: str) -> str:
    return DATASET_NAMES.get(dataset, dataset)


def mean_std(mean: float, std: float | None) -> str:
    """The one number format of a mean over seeds: "7.34", or "7.34 ± 0.12"."""
    return f"{mean:.2f}" if std is None else f"{mean:.2f} ± {std:.2f}"


def mean_std_of(values: list[float]) -> str:
    """:func:`mean_std` of ``values`` (the sample std; none for one value)."""
    return mean_std(statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None)


# --------------------------------------------------------------------------- reading and writing
def read(path: Path = RECORDS) -> list[dict]:
    """The records of ``path`` ([] where there is no file); a damaged line is reported in one line
    and skipped (``store.read_jsonl``)."""
    return read_jsonl(path) if Path(path).exists() else []


def append(path: Path, record: dict) -> None:
    """One record appended and synced to disk (``store.append_jsonl``)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    append_jsonl(path, record)


# --------------------------------------------------------------------------- which records count
def main_precision(records: list[dict]) -> str | None:
    """The precision most records were measured in: the map's own series. Records in another
    precision are a control beside it (chapter 7), never pooled with it."""
    counts = Counter(r.get("precision") for r in records)
    return counts.most_common(1)[0][0] if counts else None


def latest(records: list[dict], precision: str | None = None) -> list[dict]:
    """One record per (data set, iterations, net, seed) in one precision (``precision``; default:
    :func:`main_precision`): the last one written. A point measured again is a new record; no seed
    counts twice, and a control in another precision never joins the map's seeds."""
    precision = precision or main_precision(records)
    out = {}
    for r in records:
        if r.get("precision") == precision:
            out[(r["dataset"], r["iterations"], r["net"], r["seed"])] = r
    return list(out.values())


def needs(quantity: str) -> tuple[str, ...]:
    """What a record must carry to give ``quantity``."""
    return ("fig7",) if quantity == "response" else ()


def value(r: dict, quantity: str) -> float:
    """A record's quantity: a final error, or (``response``) the mean over its 3x3 layers of each
    layer's response std, as chapter 4 defines it."""
    if quantity == "response":
        return sum(r["fig7"]["response_std"]) / len(r["fig7"]["response_std"])
    return r[quantity]


# --------------------------------------------------------------------------- schedules
@dataclass
class Schedule:
    """The records of one schedule length on one data set, per net, sorted by seed."""

    iterations: int
    dataset: str
    by_net: dict[str, list[dict]]

    @property
    def records(self) -> list[dict]:
        return [r for rs in self.by_net.values() for r in rs]

    def provenance(self) -> dict:
        return provenance(self.records)

    def label(self) -> str:
        return label(self.provenance())


def groups(records: list[dict], need: tuple[str, ...] = (), precision: str | None = None) -> dict:
    """(iterations, data set) -> net -> the latest records (in one precision) that carry ``need``."""
    out: dict = defaultdict(lambda: defaultdict(list))
    for r in latest(records, precision):
        if all(k in r for k in need):
            out[(r["iterations"], r["dataset"])][r["net"]].append(r)
    return out


def longest(
    records: list[dict], nets, need: tuple[str, ...] = (), min_seeds: int = claims.MIN_SEEDS
) -> Schedule | None:
    """The longest schedule at which every net of ``nets`` has ``min_seeds`` seeds among the
    records that carry every key of ``need``; None where there is none."""
    g = groups(records, need)
    ok = [key for key, per in g.items() if all(len({x["seed"] for x in per.get(n, [])}) >= min_seeds for n in nets)]
    if not ok:
        return None
    n, dataset = max(ok)
    return Schedule(n, dataset, {net: sorted(g[(n, dataset)][net], key=lambda r: r["seed"]) for net in nets})


def at(records: list[dict], iterations: int, dataset: str, precision: str | None = None) -> Schedule | None:
    """Every net's latest records at ``iterations`` on ``dataset`` (in one precision), however many
    seeds they have; None where there is none."""
    per = groups(records, precision=precision).get((iterations, dataset))
    if not per:
        return None
    return Schedule(iterations, dataset, {k: sorted(v, key=lambda r: r["seed"]) for k, v in per.items()})


# --------------------------------------------------------------------------- claims
def judge(claim: claims.Claim | str, records: list[dict]) -> dict:
    """``claims.judge`` on records: the claim's quantity of its net a against its net b, over the
    seeds of ``records`` (which should hold one schedule: a :class:`Schedule`'s records)."""
    c = claims.BY_KEY[claim] if isinstance(claim, str) else claim
    have = [r for r in records if all(k in r for k in needs(c.quantity))]
    return claims.judge(
        c,
        [value(r, c.quantity) for r in have if r["net"] == c.a],
        [value(r, c.quantity) for r in have if r["net"] == c.b],
    )


# --------------------------------------------------------------------------- provenance
def provenance(records: list[dict]) -> dict:
    """Where a set of records was measured: one dict, the same for a schedule and for a whole map."""
    return {
        "source": "scale map (figures/scale-map/records.jsonl)",
        "runs": len(records),
        "nets": sorted({r["net"] for r in records}, key=net_order),
        "runs_per_net": dict(Counter(r["net"] for r in records)),
        "datasets": sorted({r["dataset"] for r in records}),
        "iterations": sorted({r["iterations"] for r in records}),
        "seeds": sorted({r["seed"] for r in records}),
        "test_images": sorted({r["final_eval_images"] for r in records}),
        "precision": sorted({r.get("precision") or "?" for r in records}),
        "commits": sorted({r["commit"] for r in records}),
        "hardware": sorted({r["hardware"] for r in records}),
    }


def label(p: dict) -> str:
    """The one label of a :func:`provenance`: "scale map · Fashion-MNIST · 4800 iterations · seeds
    0, 1, 2 · 12 runs · final errors on 10000 test images · bf16 · commit da6cf36 · <hardware>"."""
    runs = p["runs"]
    return (
        f"scale map · {', '.join(map(dataset_name, p['datasets']))} · "
        f"{'/'.join(map(str, p['iterations']))} iterations · seeds {', '.join(map(str, p['seeds']))} · "
        f"{runs} run{'s' * (runs != 1)} · final errors on {'/'.join(map(str, p['test_images']))} test images · "
        f"{'/'.join(p['precision'])} · commit {', '.join(p['commits'])} · {'; '.join(p['hardware'])}"
    )
