"""One function per figure kind; each takes data and returns a matplotlib Figure."""

from __future__ import annotations

import textwrap

from matplotlib import colormaps, patches, ticker, transforms
from matplotlib.figure import Figure

from paper_repro.paper import claims
from paper_repro.runs.records import net_name

# Figures are built with matplotlib.figure.Figure, not pyplot: no global state, no display needed
# (they save anywhere), and a notebook shows the returned Figure exactly once.


def _subplots(nrows=1, ncols=1, figsize=(6, 4), **kw):
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **kw)


COLORS = {
    20: "#e6a100",
    32: "#1f77b4",
    44: "#2ca02c",
    56: "#d62728",
    110: "#111111",
    1202: "#9467bd",
    18: "#1f77b4",
    34: "#d62728",
}
# Fig. 7 draws plain and residual nets in one panel: each family gets its own colours
PLAIN_COLORS = {20: "#6baed6", 32: "#4292c6", 44: "#2171b5", 56: "#08306b", 110: "#041b3d"}
RESNET_COLORS = {20: "#fdae6b", 32: "#fd8d3c", 44: "#e6550d", 56: "#a63603", 110: "#5a1e02", 1202: "#2d0f01"}


def _marker(xs) -> str | None:
    return "o" if len(xs) == 1 else None  # a curve of one point would otherwise be invisible


def _depth(name: str) -> int:
    return int("".join(c for c in name if c.isdigit()) or 0)


def training_curves(
    panels: list[tuple[str, dict]], label: str, ylim: tuple[float, float] | None = None, spread: str | None = None
):
    """Fig. 6 style: per panel, each net's training error (dashed) and test error (bold), in %,
    against iterations. ``panels`` is [(title, {name: curve})] with curve = {"iteration": [...],
    "train_error": [...], "eval_error": [...]}; a curve that also has ``train_lo``/``train_hi`` and
    ``eval_lo``/``eval_hi`` (e.g. the seeds' min and max) gets them shaded, and ``spread`` says
    what the shading is in the legend's title; one with ``final_eval`` (iteration, error) gets a
    diamond there (its final test error where the curve was measured on fewer images)."""
    # long legend entries (seeds, test sets) would cover the curves: then the legend goes under the axes
    under = max((len(c.get("legend", net_name(n))) for _, curves in panels for n, c in curves.items()), default=0) > 24
    # its height in points: its entries, its title's lines and its frame
    below = (11 * max(len(curves) for _, curves in panels) + 9 * (2 + bool(spread)) + 12) * under
    fig, axes = _subplots(1, len(panels), figsize=(5.2 * len(panels), 3.8 + below / 72), squeeze=False)
    for ax, (title, curves) in zip(axes[0], panels):
        for name, c in curves.items():
            color = COLORS.get(_depth(c.get("net", name)))
            m = _marker(c["iteration"]) or ("." if c.get("added") else None)
            lw = 0.7 if c.get("added") else 1.0  # a series added on the committed evidence: thin, with dots
            ax.plot(
                c["iteration"],
                [100 * e for e in c["train_error"]],
                "--",
                color=color,
                lw=1.2 * lw,
                marker=m,
                mfc="none",
            )
            ax.plot(
                c["iteration"],
                [100 * e for e in c["eval_error"]],
                "-",
                color=color,
                lw=2.2 * lw,
                label=c.get("legend", net_name(name)),  # as the paper's legends write it: plain-20, ResNet-56
                marker=m,
            )
            if "final_eval" in c:  # the final test error on another (the whole) test set: a diamond at the end
                x, y = c["final_eval"]
                ax.plot([x], [100 * y], "D", color=color, ms=6, mec="black", mew=0.6)
            for k, alpha in (("train", 0.10), ("eval", 0.22)):
                if f"{k}_lo" in c:
                    ax.fill_between(
                        c["iteration"],
                        [100 * e for e in c[f"{k}_lo"]],
                        [100 * e for e in c[f"{k}_hi"]],
                        color=color,
                        alpha=alpha,
                        lw=0,
                    )
        ax.set_title(title)
        ax.set_xlabel("iteration")
        ax.set_ylabel("error (%)")
        if ylim:
            ax.set_ylim(*ylim)
        ax.grid(alpha=0.3)
        key = "dashed: training, bold: test" + (f"\n{spread}" if spread else "")
        if under:
            under_label = transforms.offset_copy(ax.transAxes, fig, y=-34, units="points")  # below the x-axis' label
            ax.legend(
                fontsize=8,
                title=key,
                title_fontsize=7,
                loc="upper center",
                bbox_to_anchor=(0.5, 0),
                bbox_transform=under_label,
            )
        else:
            ax.legend(fontsize=8, title=key, title_fontsize=7)
    footer(fig, label, 0.07)  # tight_layout makes room for a legend under the axes
    return fig


def difference_curves(series: dict[str, tuple[list[float], list[float]]], ylabel: str, label: str, marks=()):
    """One difference against the fraction of training done, a line per series ({name: (fractions,
    values)}), shorter schedules lighter; a line at 0 and dotted verticals at ``marks`` (the lr
    drops). The y axis is linear within ±1 and logarithmic beyond (symlog), so that the first
    iterations' large gaps and the last ones' fractions of a point both stay readable."""
    fig, ax = _subplots(figsize=(8.0, 3.8))
    n = len(series)
    for i, (name, (xs, ys)) in enumerate(series.items()):
        k = (n - 1 - i) / max(1, n - 1)  # 0 for the last (longest) schedule
        ax.plot(xs, ys, "-", color=colormaps["viridis"](0.85 * k), lw=2.0 - 0.9 * k, label=name)
    ax.axhline(0, color="#333333", lw=0.8)
    for m in marks:
        ax.axvline(m, color="#888888", lw=0.8, ls=":")
    ax.set_yscale("symlog", linthresh=1.0)
    ax.yaxis.set_major_locator(ticker.FixedLocator([-30, -10, -3, -1, -0.5, 0, 0.5, 1, 3, 10, 30]))
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:+g}" if v else "0"))
    ax.yaxis.set_minor_locator(ticker.NullLocator())
    ax.set_xlim(0, 1)
    ax.set_title("below 0: the deeper net has the lower training error", fontsize=9)
    ax.xaxis.set_major_formatter(ticker.PercentFormatter(1.0))
    ax.set_xlabel("training done (dotted: lr ÷10)")
    ax.set_ylabel(ylabel, fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, title="schedule", title_fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    footer(fig, label, 0.09)
    return fig


def footer(fig, label: str, bottom: float) -> None:
    """The provenance line under a figure, wrapped to the figure's width; the plots keep at least
    ``bottom`` of the height free for it, more where it wraps to more lines than that holds."""
    fig.text(0.5, 0.005, label, ha="center", va="bottom", fontsize=7, color="#555555", wrap=True)
    width, height = fig.get_size_inches() * 72  # points
    lines = len(textwrap.wrap(label, max(20, int(width / (7 * 0.55)))))  # 7-point text, about 0.55 em a character
    fig.tight_layout(rect=(0, max(bottom, (lines * 7 * 1.25 + 4) / height), 1, 1))


def error_by_depth(rows: list[dict], label: str):
    """Table 6 as a plot: test error against depth, this run (mean ± std over seeds) beside the paper."""
    fig, ax = _subplots(figsize=(5.5, 3.6))
    ours = [r for r in rows if r.get("mean") is not None]
    ax.errorbar(
        [r["depth"] for r in ours],
        [r["mean"] for r in ours],
        yerr=[r.get("std") or 0 for r in ours],
        fmt="o-",
        capsize=3,
        label="this build (mean; ± std where a depth has several seeds)",
    )
    paper = [r for r in rows if r.get("paper") is not None]
    ax.plot(
        [r["depth"] for r in paper],
        [r["paper"] for r in paper],
        "s--",
        color="#888888",
        label="paper, CIFAR-10 (Table 6)",
    )
    ax.set_xscale("log")
    ax.set_xticks([r["depth"] for r in rows])
    ax.set_xticklabels([str(r["depth"]) for r in rows])
    ax.set_xticks([], minor=True)  # the log axis' minor labels (3x10^1 ...) would overprint the depths
    ax.set_xlabel("depth (layers)")
    ax.set_ylabel("test error (%)")
    ax.grid(alpha=0.3)
    ax.set_title("Table 6: test error against depth", fontsize=10)
    ax.legend(fontsize=8)
    footer(fig, label, 0.1)
    return fig


class _PlainLog(ticker.LogFormatter):
    """Matplotlib's choice of which log ticks to label, each label a plain number (0.6, 2, 1000)."""

    def __call__(self, x, pos=None):
        return f"{x:g}" if super().__call__(x, pos) else ""


def layer_responses(
    responses: dict[str, list[float]], label: str, bands: dict[str, dict] | None = None, spread: str | None = None
):
    """Fig. 7: std of each 3x3 layer's response, in layer order (top) and sorted (bottom).
    ``bands[name]`` = {"lo": [...], "hi": [...]} per layer (e.g. the seeds' min and max) is shaded
    in the top panel; ``spread`` says what it is."""
    fig, (top, bottom) = _subplots(2, 1, figsize=(7, 6.4))
    for name, stds in responses.items():
        plain = name.startswith("plain")
        color = (PLAIN_COLORS if plain else RESNET_COLORS).get(_depth(name))
        style = "--" if plain else "-"
        idx = range(1, len(stds) + 1)
        added = " (" in name  # "resnet20 (this build, 150 it.)": a series added on the committed evidence
        m = _marker(stds) or ("." if added else None)
        lw = 0.8 if added else 1.4
        top.plot(idx, stds, style, color=color, label=net_name(name), lw=lw, marker=m)
        if bands and name in bands:
            top.fill_between(idx, bands[name]["lo"], bands[name]["hi"], color=color, alpha=0.18, lw=0)
        bottom.plot(idx, sorted(stds, reverse=True), style, color=color, label=net_name(name), lw=lw, marker=m)
    top.set_title("Fig. 7: std of each 3×3 layer's response (after BN, before ReLU / addition)", fontsize=10)
    top.set_xlabel("layer index (original)")
    bottom.set_xlabel("layer index (sorted by magnitude)")
    for ax in (top, bottom):
        ax.set_ylabel("std (log scale)")
        ax.set_yscale("log")  # a diverging plain net must not flatten every other curve
        ax.yaxis.set_major_formatter(_PlainLog())  # "6", not "6x10^0"
        ax.yaxis.set_minor_formatter(_PlainLog(labelOnlyBase=False))
        ax.grid(alpha=0.3, which="both")
        ax.legend(
            fontsize=8,
            ncol=3,
            title="dashed: plain, solid: ResNet" + (f"; {spread}" if spread else ""),
            title_fontsize=7,
        )
    footer(fig, label, 0.06)
    return fig


def scale_map(points: dict[str, list[dict]], label: str):
    """One panel per claim: the difference ± its 95% interval against the schedule length, the
    paper's side of zero shaded. Error claims in points; Fig. 7's response claims in response stds."""

    keys = [k for k, pts in points.items() if pts]
    cols = min(3, max(1, len(keys)))
    rows = -(-len(keys) // cols) if keys else 1
    fig, axes = _subplots(rows, cols, figsize=(3.2 * cols, 2.9 * rows + 0.6), squeeze=False)
    colors = {claims.HOLDS: "#2ca02c", claims.REVERSED: "#d62728", claims.NOT_SHOWN: "#7f7f7f"}
    for ax in axes.flat[len(keys) :]:
        ax.axis("off")
    for ax, key in zip(axes.flat, keys):
        c, pts = claims.BY_KEY[key], points[key]
        response = c.quantity == "response"
        _, scale, _ = claims.units(c.quantity)
        xs = [p["iterations"] for p in pts]
        ys = [scale * p["diff"] for p in pts]
        for x, y, p in zip(xs, ys, pts):
            color = colors.get(p["label"], "#bbbbbb")
            if p["low"] is not None:
                ax.errorbar(
                    [x], [y], yerr=[[y - scale * p["low"]], [scale * p["high"] - y]], fmt="o", color=color, capsize=3
                )
            else:
                ax.plot([x], [y], "o", mfc="none", color=color)
        ax.plot(xs, ys, "-", color="#999999", lw=0.8, zorder=0)
        ax.axhline(0, color="black", lw=0.8)
        lo, hi = ax.get_ylim()
        pad = 0.01 * scale
        if c.direction > 0:
            ax.axhspan(0, max(hi, pad), color="#2ca02c", alpha=0.13)
        else:
            ax.axhspan(min(lo, -pad), 0, color="#2ca02c", alpha=0.13)
        ax.set_ylim(lo, hi)
        ax.set_xscale("log")
        ax.set_xticks(sorted(set(xs)))
        ax.set_xticklabels([str(x) for x in sorted(set(xs))])
        ax.set_xticks([], minor=True)
        what = claims.QUANTITY_NAMES[c.quantity]
        ax.set_title(f"{c.title}\n{net_name(c.a)} − {net_name(c.b)}, {what}", fontsize=9)
        ax.set_xlabel("iterations", fontsize=9)
        ax.set_ylabel("difference (std)" if response else "difference (points)", fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(
        "Scale map: each claim's difference ± 95% interval (green band: the paper's side; "
        "filled green: holds, red: reversed, grey: not shown, hollow: < 3 seeds)",
        fontsize=9,
        wrap=True,
    )
    footer(fig, label, 0.08)
    return fig


def detection_losses(curves: dict[str, dict], label: str):
    """Faster R-CNN's training loss against iterations, per backbone: the sum of the four losses
    (solid) and the detector's classification loss (dashed). ``curves[name]`` has "iteration",
    "loss" and "loss_classifier"."""
    fig, ax = _subplots(figsize=(7, 3.8))
    for color, (name, c) in zip(("tab:blue", "tab:red", "tab:green"), curves.items()):
        m = _marker(c["iteration"])
        ax.plot(c["iteration"], c["loss"], color=color, marker=m, label=f"{name}: total")
        ax.plot(c["iteration"], c["loss_classifier"], color=color, ls="--", marker=m, label=f"{name}: classifier")
    ax.set_title("Faster R-CNN training loss (sum of RPN and detector losses)", fontsize=10)
    ax.set_xlabel("iteration")
    ax.set_ylabel("training loss")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    footer(fig, label, 0.07)
    return fig


def detections(rows: dict[str, list[dict]], classes: list[str], n: int, label: str):
    """Held-out images, one row per backbone: ground truth dashed green, the shown detections red
    with class and score. ``rows[name]`` is a list of {"image": HxWxC array, "gt_boxes",
    "gt_labels", "boxes", "labels", "scores"} (labels count from 1; 0 is the background)."""

    fig, axes = _subplots(len(rows), n, figsize=(2.4 * n, 2.8 * len(rows) + 0.4), squeeze=False)
    for row, (name, images) in enumerate(rows.items()):
        for col in range(n):
            ax = axes[row][col]
            ax.set_xticks([])
            ax.set_yticks([])
            if col >= len(images):
                ax.axis("off")
                continue
            s = images[col]
            ax.imshow(s["image"], cmap="gray")
            for x1, y1, x2, y2 in s["gt_boxes"]:
                ax.add_patch(patches.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, ec="lime", ls="--", lw=1))
            for (x1, y1, x2, y2), lb, sc in zip(s["boxes"], s["labels"], s["scores"]):
                ax.add_patch(patches.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, ec="red", lw=1.2))
                ax.text(
                    x1,
                    y2,
                    f"{classes[lb - 1]} {sc:.2f}",
                    color="white",
                    fontsize=6,
                    va="top",
                    bbox=dict(facecolor="red", alpha=0.6, pad=0.5, lw=0),
                )
            truth = ", ".join(classes[lb - 1] for lb in s["gt_labels"])
            ax.set_title(f"{name}  (truth: {truth})", fontsize=7)
    fig.suptitle("Held-out images: truth dashed green; top detections red (class, score)", fontsize=10)
    footer(fig, label, 0.05)
    return fig
