"""One function per figure kind; each takes data and returns a matplotlib Figure."""
from __future__ import annotations

from matplotlib.figure import Figure

# Figures are built with matplotlib.figure.Figure, not pyplot: no global state, no display needed
# (they save anywhere), and a notebook shows the returned Figure exactly once.


def _subplots(nrows=1, ncols=1, figsize=(6, 4), **kw):
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **kw)

COLORS = {20: "#e6a100", 32: "#1f77b4", 44: "#2ca02c", 56: "#d62728", 110: "#111111", 1202: "#9467bd",
          18: "#1f77b4", 34: "#d62728"}
# Fig. 7 draws plain and residual nets in one panel: each family gets its own colours
PLAIN_COLORS = {20: "#6baed6", 32: "#4292c6", 44: "#2171b5", 56: "#08306b", 110: "#041b3d"}
RESNET_COLORS = {20: "#fdae6b", 32: "#fd8d3c", 44: "#e6550d", 56: "#a63603", 110: "#5a1e02", 1202: "#2d0f01"}


def _marker(xs) -> str | None:
    return "o" if len(xs) == 1 else None  # a curve of one point would otherwise be invisible


def _depth(name: str) -> int:
    return int("".join(c for c in name if c.isdigit()) or 0)


def training_curves(panels: list[tuple[str, dict]], label: str, ylim: tuple[float, float] | None = None):
    """Fig. 6 style: per panel, each net's training error (dashed) and test error (bold), in %,
    against iterations. ``panels`` is [(title, {name: curve})] with curve = {"iteration": [...],
    "train_error": [...], "eval_error": [...]}."""
    fig, axes = _subplots(1, len(panels), figsize=(5.2 * len(panels), 3.8), squeeze=False)
    for ax, (title, curves) in zip(axes[0], panels):
        for name, c in curves.items():
            color = COLORS.get(_depth(name))
            m = _marker(c["iteration"])
            ax.plot(c["iteration"], [100 * e for e in c["train_error"]], "--", color=color, lw=1.2, marker=m, mfc="none")
            ax.plot(c["iteration"], [100 * e for e in c["eval_error"]], "-", color=color, lw=2.2, label=name, marker=m)
        ax.set_title(title)
        ax.set_xlabel("iteration")
        ax.set_ylabel("error (%)")
        if ylim:
            ax.set_ylim(*ylim)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, title="dashed: training, bold: test", title_fontsize=7)
    footer(fig, label, 0.07)
    return fig


def footer(fig, label: str, bottom: float) -> None:
    """The provenance line under a figure, wrapped to the figure's width."""
    fig.text(0.5, 0.005, label, ha="center", va="bottom", fontsize=7, color="#555555", wrap=True)
    fig.tight_layout(rect=(0, bottom, 1, 1))


def error_by_depth(rows: list[dict], label: str):
    """Table 6 as a plot: test error against depth, this run (mean ± std over seeds) beside the paper."""
    fig, ax = _subplots(figsize=(5.5, 3.6))
    ours = [r for r in rows if r.get("mean") is not None]
    ax.errorbar([r["depth"] for r in ours], [r["mean"] for r in ours], yerr=[r.get("std") or 0 for r in ours],
                fmt="o-", capsize=3, label="this build (mean; ± std where a depth has several seeds)")
    paper = [r for r in rows if r.get("paper") is not None]
    ax.plot([r["depth"] for r in paper], [r["paper"] for r in paper], "s--", color="#888888",
            label="paper, CIFAR-10 (Table 6)")
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


def layer_responses(responses: dict[str, list[float]], label: str):
    """Fig. 7: std of each 3x3 layer's response, in layer order (top) and sorted (bottom)."""
    fig, (top, bottom) = _subplots(2, 1, figsize=(7, 6.4))
    for name, stds in responses.items():
        plain = name.startswith("plain")
        color = (PLAIN_COLORS if plain else RESNET_COLORS).get(_depth(name))
        style = "--" if plain else "-"
        idx = range(1, len(stds) + 1)
        m = _marker(stds)
        top.plot(idx, stds, style, color=color, label=name, lw=1.4, marker=m)
        bottom.plot(idx, sorted(stds, reverse=True), style, color=color, label=name, lw=1.4, marker=m)
    top.set_title("Fig. 7: std of each 3×3 layer's response (after BN, before ReLU / addition)", fontsize=10)
    top.set_xlabel("layer index (original)")
    bottom.set_xlabel("layer index (sorted by magnitude)")
    for ax in (top, bottom):
        ax.set_ylabel("std (log scale)")
        ax.set_yscale("log")  # a diverging plain net must not flatten every other curve
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8, ncol=3, title="dashed: plain, solid: ResNet", title_fontsize=7)
    footer(fig, label, 0.06)
    return fig


def bars(labels: list[str], paper: list[float | None], ours: list[float | None], ylabel: str, label: str):
    """Paper value beside ours, one pair of bars per label."""
    import numpy as np

    x = np.arange(len(labels))
    fig, ax = _subplots(figsize=(max(4, 1.1 * len(labels)), 3.4))
    ax.bar(x - 0.2, [p if p is not None else 0 for p in paper], 0.4, label="paper", color="#bbbbbb")
    ax.bar(x + 0.2, [o if o is not None else 0 for o in ours], 0.4, label="this run", color="#1f77b4")
    ax.set_xticks(x)
    ax.set_xticklabels(labels)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    footer(fig, label, 0.1)
    return fig
