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
            ax.plot(c["iteration"], [100 * e for e in c["train_error"]], "--", color=color, lw=1.2)
            ax.plot(c["iteration"], [100 * e for e in c["eval_error"]], "-", color=color, lw=2.2, label=name)
        ax.set_title(title)
        ax.set_xlabel("iteration")
        ax.set_ylabel("error (%)")
        if ylim:
            ax.set_ylim(*ylim)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, title="dashed: training, bold: test", title_fontsize=7)
    fig.suptitle(label, fontsize=8, y=0.01, va="bottom", color="#555555")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def error_by_depth(rows: list[dict], label: str):
    """Table 6 as a plot: test error against depth, this run (mean ± std over seeds) beside the paper."""
    fig, ax = _subplots(figsize=(5.5, 3.6))
    ours = [r for r in rows if r.get("mean") is not None]
    ax.errorbar([r["depth"] for r in ours], [r["mean"] for r in ours], yerr=[r.get("std") or 0 for r in ours],
                fmt="o-", capsize=3, label="this run (mean ± std over seeds)")
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
    ax.legend(fontsize=8)
    fig.suptitle(label, fontsize=8, y=0.01, va="bottom", color="#555555")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


def layer_responses(responses: dict[str, list[float]], label: str):
    """Fig. 7: std of each 3x3 layer's response, in layer order (top) and sorted (bottom)."""
    fig, (top, bottom) = _subplots(2, 1, figsize=(7, 6))
    for name, stds in responses.items():
        color = COLORS.get(_depth(name))
        style = "--" if name.startswith("plain") else "-"
        idx = range(1, len(stds) + 1)
        top.plot(idx, stds, style, color=color, label=name, lw=1.4)
        bottom.plot(idx, sorted(stds, reverse=True), style, color=color, label=name, lw=1.4)
    top.set_xlabel("layer index (original)")
    bottom.set_xlabel("layer index (sorted by magnitude)")
    for ax in (top, bottom):
        ax.set_ylabel("std")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, ncol=3)
    fig.suptitle(label, fontsize=8, y=0.01, va="bottom", color="#555555")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
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
    fig.suptitle(label, fontsize=8, y=0.01, va="bottom", color="#555555")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig
