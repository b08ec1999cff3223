"""The claims of §4 that the book tests, and the one rule that turns seeds into a verdict.

Each claim compares two runs ``a`` and ``b`` (over the profile's seeds) on one quantity and says
which way the paper reports the difference ``a - b``. :func:`verdict` decides, for every page of the
book, the report, the README block and the intro's scoreboard:

* **holds**: the 95% Welch interval of ``mean(a) - mean(b)`` lies entirely on the paper's side of 0;
* **reversed**: it lies entirely on the other side;
* **not shown at this scale**: it contains 0 (a tie, or too much seed-to-seed spread);
* **one run: no verdict** / **n runs: no verdict**: fewer than 3 seeds on either side; no interval
  can be trusted, so none is claimed, whatever the sign.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from scipy import stats

from paper_repro.paper import classification as cls
from paper_repro.paper import detection as det

LEVEL = 0.95
MIN_SEEDS = 3
HOLDS, REVERSED, NOT_SHOWN = "holds", "reversed", "not shown at this scale"
RULE = (
    f"a claim **holds** when the {LEVEL:.0%} Welch confidence interval of the difference of the means "
    f"(over at least {MIN_SEEDS} seeds per net) lies entirely on the paper's side of zero, is **reversed** "
    "when it lies entirely on the other side, and is **not shown at this scale** when it contains zero; "
    f"with fewer than {MIN_SEEDS} seeds per net there is no verdict"
)


@dataclass(frozen=True)
class Claim:
    key: str
    title: str  # short, for the scoreboard
    statement: str  # what the paper says
    source: str  # where it says it
    chapter: str  # the book's chapter that measures it
    a: str  # the runs compared: a - b ...
    b: str
    quantity: str  # final_train_error | final_eval_error | response | map50 | top1
    direction: int  # ... is > 0 (+1) or < 0 (-1) in the paper


CLAIMS = (
    Claim(
        "degradation",
        "Deeper plain nets train worse",
        "plain-56 has higher training error than plain-20 (the degradation problem)",
        "Fig. 1, Fig. 6 left",
        "02_degradation",
        "plain56",
        "plain20",
        "final_train_error",
        +1,
    ),
    Claim(
        "resnet_fixes_train",
        "Shortcuts remove the degradation (training)",
        "ResNet-56 has lower training error than plain-56",
        "Fig. 6",
        "02_degradation",
        "resnet56",
        "plain56",
        "final_train_error",
        -1,
    ),
    Claim(
        "resnet_fixes_test",
        "Shortcuts remove the degradation (test)",
        "ResNet-56 has lower test error than plain-56",
        "Fig. 6, Table 6",
        "02_degradation",
        "resnet56",
        "plain56",
        "final_eval_error",
        -1,
    ),
    Claim(
        "deeper_resnet_train",
        "Deeper ResNets train better",
        "ResNet-56 has lower training error than ResNet-20",
        "Fig. 6 middle",
        "02_degradation",
        "resnet56",
        "resnet20",
        "final_train_error",
        -1,
    ),
    Claim(
        "deeper_resnet_56",
        "Deeper ResNets test better (56 vs 20)",
        "ResNet-56 has lower test error than ResNet-20 (6.97% vs 8.75%)",
        "Table 6",
        "03_depth",
        "resnet56",
        "resnet20",
        "final_eval_error",
        -1,
    ),
    Claim(
        "deeper_resnet_110",
        "Deeper ResNets test better (110 vs 20)",
        "ResNet-110 has lower test error than ResNet-20 (6.43% vs 8.75%)",
        "Table 6",
        "03_depth",
        "resnet110",
        "resnet20",
        "final_eval_error",
        -1,
    ),
    Claim(
        "overfit_1202",
        "ResNet-1202 overfits",
        "ResNet-1202 has higher test error than ResNet-110 (7.93% vs 6.43%) at a training error below 0.1%",
        "Table 6, Fig. 6 right",
        "03_depth",
        "resnet1202",
        "resnet110",
        "final_eval_error",
        +1,
    ),
    Claim(
        "responses_plain20",
        "ResNets respond less than plain nets (20)",
        "ResNet-20's layer responses are smaller than plain-20's",
        "Fig. 7",
        "04_responses",
        "resnet20",
        "plain20",
        "response",
        -1,
    ),
    Claim(
        "responses_plain56",
        "ResNets respond less than plain nets (56)",
        "ResNet-56's layer responses are smaller than plain-56's",
        "Fig. 7",
        "04_responses",
        "resnet56",
        "plain56",
        "response",
        -1,
    ),
    Claim(
        "responses_depth",
        "Deeper ResNets respond less",
        "ResNet-56's layer responses are smaller than ResNet-20's",
        "Fig. 7",
        "04_responses",
        "resnet56",
        "resnet20",
        "response",
        -1,
    ),
    Claim(
        "imagenet_plain",
        "Degradation on ImageNet",
        "plain-34 has higher top-1 error than plain-18 (28.54% vs 27.94%)",
        "Table 2",
        "02_degradation",
        "plain34",
        "plain18",
        "top1",
        +1,
    ),
    Claim(
        "imagenet_resnet",
        "ResNet-34 beats ResNet-18 on ImageNet",
        "ResNet-34 has lower top-1 error than ResNet-18 (25.03% vs 27.88%)",
        "Table 2",
        "02_degradation",
        "resnet34",
        "resnet18",
        "top1",
        -1,
    ),
    Claim(
        "detection",
        "ResNet-101 detects better than VGG-16",
        "Faster R-CNN with ResNet-101 has higher mAP than "
        "with VGG-16 (VOC 07: 76.4% vs 73.2%; COCO mAP@.5: 48.4% vs 41.5%)",
        "Tables 7, 8",
        "05_detection",
        "resnet101",
        "vgg16",
        "map50",
        +1,
    ),
)
BY_KEY = {c.key: c for c in CLAIMS}


def verdict(a: list[float], b: list[float], direction: int, level: float = LEVEL) -> dict:
    """The verdict on ``mean(a) - mean(b)`` against the paper's sign ``direction`` (+1 or -1).

    Returns ``label`` (see the module docstring), ``diff`` (mean(a) - mean(b)), the interval
    ``low``/``high`` (None without enough seeds), ``n_a``/``n_b``, and the means and stds."""
    if direction not in (1, -1):
        raise ValueError(f"direction must be +1 or -1, got {direction!r}")
    a, b = [float(x) for x in a], [float(x) for x in b]
    if not a or not b:
        raise ValueError("verdict needs at least one value on each side")
    out = {
        "diff": statistics.fmean(a) - statistics.fmean(b),
        "n_a": len(a),
        "n_b": len(b),
        "mean_a": statistics.fmean(a),
        "mean_b": statistics.fmean(b),
        "std_a": statistics.stdev(a) if len(a) > 1 else None,
        "std_b": statistics.stdev(b) if len(b) > 1 else None,
        "low": None,
        "high": None,
        "level": level,
    }
    n = min(len(a), len(b))
    if n < MIN_SEEDS:
        out["label"] = "one run: no verdict" if n == 1 else f"{n} runs: no verdict"
        return out
    low, high = _welch_interval(a, b, level)
    out["low"], out["high"] = low, high
    if (low > 0 and direction > 0) or (high < 0 and direction < 0):
        out["label"] = HOLDS
    elif (low > 0 and direction < 0) or (high < 0 and direction > 0):
        out["label"] = REVERSED
    else:
        out["label"] = NOT_SHOWN
    return out


def _welch_interval(a: list[float], b: list[float], level: float) -> tuple[float, float]:
    """Welch's interval for mean(a) - mean(b) (scipy.stats). When both samples have zero spread
    the interval is the point itself if the means differ, which scipy reports as nan."""

    diff = statistics.fmean(a) - statistics.fmean(b)
    if statistics.pvariance(a) == 0 and statistics.pvariance(b) == 0:
        return diff, diff
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(level)
    low, high = float(ci.low), float(ci.high)
    if math.isnan(low) or math.isnan(high):
        return -math.inf, math.inf
    return low, high


def interaction(first: dict, second: dict, level: float = LEVEL) -> dict | None:
    """How much a difference of means changes between two conditions (the map's precision and the
    control's): ``(a - b)`` of ``first`` minus ``(a - b)`` of ``second`` (each a :func:`verdict`), with
    its ``level`` interval: Welch's t interval over the four groups (the standard error from each
    group's variance over its n, the degrees of freedom by Welch-Satterthwaite). ``beyond_noise`` when
    the interval excludes 0. None where a group has fewer than :data:`MIN_SEEDS` seeds."""
    groups = [(j[f"std_{k}"], j[f"n_{k}"]) for j in (first, second) for k in ("a", "b")]
    if any(std is None or n < MIN_SEEDS for std, n in groups):
        return None
    v = [std**2 / n for std, n in groups]
    diff = first["diff"] - second["diff"]
    if sum(v) == 0:
        low = high = diff
    else:
        df = sum(v) ** 2 / sum(x**2 / (n - 1) for x, (_, n) in zip(v, groups, strict=True))
        half = float(stats.t.ppf((1 + level) / 2, df)) * math.sqrt(sum(v))
        low, high = diff - half, diff + half
    return {"diff": diff, "low": low, "high": high, "level": level, "beyond_noise": low > 0 or high < 0}


QUANTITY_NAMES = {
    "final_train_error": "training error",
    "final_eval_error": "test error",
    "response": "mean layer response std",
    "map50": "mAP@.5",
    "top1": "top-1 error",
}
"""What each claim's ``quantity`` measures, in the words every page uses for it."""


def units(quantity: str) -> tuple[str, float, int]:
    """(unit, scale, digits) of a difference in ``quantity``: error rates in percentage points with
    2 decimals; response stds as they are, with 3."""
    return ("", 1.0, 3) if quantity == "response" else ("points", 100.0, 2)


def signed(x: float, digits: int) -> str:
    """``x`` with its sign and ``digits`` decimals, or 3 significant digits where it is 10,000 or
    more in size (a plain net's layer responses after a few iterations: "-9.44e+05", not
    "-943802.567")."""
    return f"{x:+.3g}" if abs(x) >= 1e4 else f"{x:+.{digits}f}"


def difference_text(j: dict, suffix: str = "") -> str:
    """A judged difference (:func:`judge`) in its units, ``suffix`` after the number, then its 95%
    interval: "+7.67 [+6.44, +8.89]"."""
    _, scale, digits = units(j["quantity"])
    text = f"{signed(scale * j['diff'], digits)}{suffix}"
    if j["low"] is not None:
        text += f" [{signed(scale * j['low'], digits)}, {signed(scale * j['high'], digits)}]"
    return text


def judge(claim: Claim | str, a: list[float], b: list[float]) -> dict:
    """``verdict`` for a claim of :data:`CLAIMS`, with the claim's fields beside it."""
    c = BY_KEY[claim] if isinstance(claim, str) else claim
    return {
        "claim": c.key,
        "title": c.title,
        "statement": c.statement,
        "source": c.source,
        "chapter": c.chapter,
        "a": c.a,
        "b": c.b,
        "quantity": c.quantity,
        "direction": c.direction,
        **verdict(a, b, c.direction),
    }


def describe(j: dict, unit: str = "points", scale: float = 100.0, digits: int | None = None) -> str:
    """``judge``'s result as a sentence fragment: the difference, its interval and n, and the verdict."""
    digits = (2 if scale >= 100 else 3) if digits is None else digits
    d = signed(scale * j["diff"], digits) + (f" {unit}" if unit else "")
    if j["low"] is not None:
        lo, hi = (
            signed(scale * x, digits) if math.isfinite(x) else ("-∞" if x < 0 else "+∞") for x in (j["low"], j["high"])
        )
        d += f" ({j['level']:.0%} interval {lo} to {hi})"
    n = f"n = {j['n_a']}" if j["n_a"] == j["n_b"] else f"n = {j['n_a']} and {j['n_b']}"
    seeds = "seed" if max(j["n_a"], j["n_b"]) == 1 else "seeds"
    return f"{d}, {n} {seeds} per net: **{j['label']}**"


def paper_difference(claim: Claim | str) -> tuple[float, str] | None:
    """The paper's own ``a - b`` in points, and the table it comes from, where the paper prints both
    numbers (Table 2 top-1, Table 6 test error, Table 7 VOC 2007 mAP); None for the claims the paper
    shows only in a figure."""

    c = BY_KEY[claim] if isinstance(claim, str) else claim
    depth = lambda net: int(net.removeprefix("resnet")) if net.removeprefix("resnet").isdigit() else None
    if c.quantity == "final_eval_error" and depth(c.a) in cls.TABLE6_ERROR and depth(c.b) in cls.TABLE6_ERROR:
        return round(cls.TABLE6_ERROR[depth(c.a)] - cls.TABLE6_ERROR[depth(c.b)], 2), "Table 6"
    if c.quantity == "top1" and c.a in cls.TABLE2_TOP1 and c.b in cls.TABLE2_TOP1:
        return round(cls.TABLE2_TOP1[c.a] - cls.TABLE2_TOP1[c.b], 2), "Table 2"
    if c.quantity == "map50" and (c.a, det.VOC07_TEST) in det.TABLE7 and (c.b, det.VOC07_TEST) in det.TABLE7:
        return round(det.TABLE7[(c.a, det.VOC07_TEST)] - det.TABLE7[(c.b, det.VOC07_TEST)], 2), "Table 7, VOC 2007"
    return None
