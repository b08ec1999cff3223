"""Explorable figures: Fig. 6, Fig. 7 and the scale map, drawn with plotly from the committed records.

The static matplotlib figures (``plots.py``) show one schedule length, the longest at which every
net has its seeds; they stay for the README and for print. Here a reader of the built book chooses
the schedule length among every length the records hold (a dropdown), hides or shows each net and
each seed (a click on its legend entry), and reads every point's mean and its min and max over the
seeds by hovering. The numbers are the ones the static figures use: the curves of
:func:`evidence.fig6_curves` and the Fig. 7 statistics of :func:`evidence.fig7_data`, per schedule
of :func:`records.groups` (the latest record of each seed, in the map's own precision).

Nothing loads from the network. A figure's output is a ``<div>`` and the one inline script that
draws it; ``plotly.min.js`` itself is copied from the installed plotly package into the built
book's ``_static/`` and loaded only by the pages that hold a figure (``offline_plotly``, a Sphinx
extension). In JupyterLab the same output renders through plotly's own mime type.
"""

from __future__ import annotations

import json
import math
import textwrap
from dataclasses import dataclass, field

import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from paper_repro.book import evidence, plots
from paper_repro.book import scale_map as sm
from paper_repro.paper import claims
from paper_repro.runs import records as rec
from paper_repro.runs.records import Schedule, dataset_name, net_name, net_order

MAX_POINTS = 240  # evaluations drawn per curve at most: a 64,000-iteration run evaluates 2,560 times
SPREAD = "band / bars: min–max over the seeds"
FONT = dict(family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif", size=12)
VERDICT_COLORS = {claims.HOLDS: "#2ca02c", claims.REVERSED: "#d62728", claims.NOT_SHOWN: "#7f7f7f"}
DIV_CLASS = "explorable-figure"  # the class of every figure's <div>: offline_plotly.MARK finds the pages by it


# --------------------------------------------------------------------------- the displayable object
@dataclass
class Explorable:
    """A plotly figure with a dropdown of views, as a notebook output: ``text/html`` (the ``<div>`` and
    its script, no plotly.js) for the built book, plotly's JSON mime type for JupyterLab, and a line
    of text (what it shows and its provenance) for anything else."""

    figure: go.Figure
    name: str  # the figure's id on its page, e.g. "explore-fig6"
    views: list[str] = field(default_factory=list)  # the dropdown's entries, in order
    summary: str = ""

    def html(self) -> str:
        div = pio.to_html(
            self.figure,
            full_html=False,
            include_plotlyjs=False,  # loaded once, from the book's own _static/ (offline_plotly)
            div_id=self.name,
            config={"displaylogo": False, "responsive": True, "modeBarButtons": [["zoom2d", "pan2d", "resetScale2d"]]},
        )
        return f'<div class="{DIV_CLASS}">{div}</div>'

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {
            "text/html": self.html(),
            "application/vnd.plotly.v1+json": json.loads(pio.to_json(self.figure, validate=False)),
            "text/plain": self.summary,
        }


@dataclass
class View:
    """One entry of the dropdown: its traces as (trace, subplot row, subplot column), and the
    layout it sets (title, axis ranges, the provenance line)."""

    label: str
    traces: list = field(default_factory=list)
    layout: dict = field(default_factory=dict)


def _assemble(fig: go.Figure, frame: Frame, views: list[View], active: int, name: str, summary: str) -> Explorable:
    """Every view's traces in one figure, a dropdown that shows one view at a time (each trace keeps
    its own state in its view: shown, or "legendonly" for the seeds), ``views[active]`` shown first."""
    spans = []
    for v in views:
        start = len(fig.data)
        for trace, row, col in v.traces:
            fig.add_trace(trace, row=row, col=col)
        spans.append(range(start, len(fig.data)))
    own = [True if t.visible is None else t.visible for t in fig.data]

    def visible(i):
        return [own[k] if k in spans[i] else False for k in range(len(fig.data))]

    buttons = [
        dict(label=v.label, method="update", args=[{"visible": visible(i)}, v.layout]) for i, v in enumerate(views)
    ]
    for k, shown in enumerate(visible(active)):
        fig.data[k].visible = shown
    fig.update_layout(views[active].layout)
    fig.update_layout(
        updatemenus=[
            dict(
                type="dropdown",
                buttons=buttons,
                active=active,
                x=0,
                xanchor="left",
                y=frame.menu_y,
                yanchor="bottom",
                bgcolor="#f4f4f4",
                font=dict(size=12),
            )
        ],
        font=FONT,
        template="plotly_white",
        hoverlabel=dict(font_size=12),
        # one row per net (its mean, then its seeds: the traces' order), under the x-axis title
        legend=dict(
            orientation="h",
            x=0,
            xanchor="left",
            y=frame.legend_y,
            yanchor="top",
            entrywidth=100,  # four entries a row (each with its 40 px symbol) in the book's column of 690 px
            font=dict(size=11),
        ),
        height=frame.height,
        margin=dict(t=frame.TOP, b=frame.bottom, l=70, r=20),
        title=dict(
            x=0, xref="paper", xanchor="left", y=1, yref="container", yanchor="top", pad=dict(t=34), font=dict(size=15)
        ),
    )
    return Explorable(fig, name, [v.label for v in views], summary)


# --------------------------------------------------------------------------- shared pieces
@dataclass(frozen=True)
class Frame:
    """A figure's layout from top to bottom, in pixels: the title, the dropdown, the plotting area
    (``plot`` high), the x-axis title, the provenance, and the legend (``legend_rows`` rows of four
    entries: each net's mean, then its seeds; last, so that a narrow page that wraps it into more
    rows hides nothing). Positions outside the plotting area are fractions of its height in plotly's
    paper coordinates, hence this one place that computes them."""

    plot: int
    legend_rows: int = 4
    TOP = 132  # the modebar, the title (one line, under the modebar), the dropdown, the panels' titles
    AXIS = 56  # the x-axis' tick labels and title
    ROW = 29  # one legend row
    FOOTER = 50  # three lines of provenance

    @property
    def bottom(self) -> int:
        return self.AXIS + self.ROW * self.legend_rows + 10 + self.FOOTER

    @property
    def height(self) -> int:
        return self.TOP + self.plot + self.bottom

    @property
    def menu_y(self) -> float:
        return 1 + 30 / self.plot

    @property
    def footer_y(self) -> float:
        return -self.AXIS / self.plot

    @property
    def legend_y(self) -> float:
        return -(self.AXIS + self.FOOTER) / self.plot


def _wrap(text: str, width: int = 120) -> str:
    return "<br>".join(textwrap.wrap(text, width))


def _footer(text: str, frame: Frame) -> dict:
    """The provenance line under a figure, as a layout annotation."""
    return dict(
        text=_wrap(text),
        x=0,
        xanchor="left",
        y=frame.footer_y,
        yanchor="top",
        xref="paper",
        yref="paper",
        showarrow=False,
        align="left",
        font=dict(size=10, color="#555555"),
    )


def _thin(n: int) -> slice:
    """Every k-th evaluation, k the smallest that keeps a curve within MAX_POINTS points (the last
    evaluation always kept by the caller)."""
    return slice(None, None, max(1, math.ceil(n / MAX_POINTS)))


def _pick(xs: list, step: slice) -> list:
    kept = xs[step]
    return kept if not xs or kept[-1] == xs[-1] else [*kept, xs[-1]]


def _pct(xs) -> list[float]:
    return [round(100 * x, 3) for x in xs]


def _color(net: str) -> str:
    return plots.COLORS.get(plots._depth(net), "#444444")


def _schedules(records: list[dict], need: tuple[str, ...]) -> list[Schedule]:
    """Every schedule the records hold with ``need`` (the latest record of each seed, the map's own
    precision), by length; each net's records sorted by seed, the nets in the pages' order."""
    out = []
    for (n, dataset), per in sorted(rec.groups(records, need).items()):
        by_net = {net: sorted(per[net], key=lambda r: r["seed"]) for net in sorted(per, key=net_order)}
        out.append(Schedule(n, dataset, by_net))
    return out


def _length_label(s: Schedule, several_datasets: bool) -> str:
    seeds = sorted({len(rs) for rs in s.by_net.values()})
    many = f"{seeds[0]} seed{'s' * (seeds[0] != 1)}" if len(seeds) == 1 else f"{seeds[0]}–{seeds[-1]} seeds"
    where = f", {dataset_name(s.dataset)}" if several_datasets else ""
    nets = len(s.by_net)
    return f"{s.iterations} iterations{where} ({nets} net{'s' * (nets != 1)}, {many} each)"


def _default(schedules: list[Schedule], nets=rec.NETS) -> int:
    """The view shown first: the longest schedule at which every net of ``nets`` has
    ``claims.MIN_SEEDS`` seeds (what the static figure shows), else the longest."""
    full = [i for i, s in enumerate(schedules) if all(len(s.by_net.get(n, [])) >= claims.MIN_SEEDS for n in nets)]
    return full[-1] if full else len(schedules) - 1


def _band(xs, lo, hi, color: str, alpha: float, group: str) -> go.Scatter:
    """The min–max band of a curve, as one closed polygon (no hover: the mean's hover gives both)."""
    return go.Scatter(
        x=[*xs, *xs[::-1]],
        y=[*hi, *lo[::-1]],
        fill="toself",
        fillcolor=_rgba(color, alpha),
        line=dict(width=0),
        hoverinfo="skip",
        showlegend=False,
        legendgroup=group,
    )


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _empty(text: str) -> Explorable:
    fig = go.Figure()
    fig.update_layout(annotations=[dict(text=text, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")])
    return Explorable(fig, "explore-empty", [], text)


# --------------------------------------------------------------------------- Fig. 6
def _added_traces(added: dict[str, dict], label: str) -> list:
    """Curves added on every view (this build's or the reader's runs): thin, with dots."""
    out = []
    for net, c in added.items():
        col = 1 if net.startswith("plain") else 2
        for kind, width, dash in (("train_error", 0.9, "dash"), ("eval_error", 1.3, "solid")):
            what = "test error" if kind == "eval_error" else "training error"
            out.append(
                (
                    go.Scatter(
                        x=list(c["iteration"]),
                        y=_pct(c[kind]),
                        mode="lines+markers",
                        marker=dict(size=4),
                        line=dict(color=_color(net), width=width, dash=dash),
                        name=net_name(net),  # told apart by its dots; the footer says what they are
                        legendgroup=f"added-{net}",
                        showlegend=kind == "eval_error",
                        hovertemplate=(
                            f"{net_name(net)} ({label}), {what}<br>iteration %{{x}}: %{{y:.2f}}%<extra></extra>"
                        ),
                    ),
                    1,
                    col,
                )
            )
    return out


def fig6(
    records: list[dict], name: str = "explore-fig6", added: dict[str, dict] | None = None, added_label: str = ""
) -> Explorable:
    """Fig. 6 at every schedule length the records hold curves for: plain nets left, ResNets right,
    training error dashed and test error bold (mean over the seeds, the seeds' min–max shaded),
    each seed's own curves one legend click away. ``added`` ({net: curve}, e.g. this build's runs,
    named by ``added_label``) is drawn on every length, thin with dots."""
    schedules = _schedules(records, ("curves",))
    if not schedules:
        return _empty(evidence.missing(records, evidence.FIG6_NETS, ("curves",)))
    several = len({s.dataset for s in schedules}) > 1
    frame = Frame(plot=330, legend_rows=4 + math.ceil(len(added or {}) / 4))  # the added runs: their own rows
    views = []
    for s in schedules:
        curves = evidence.fig6_curves(s)
        top = evidence.fig6_top(curves)
        v = View(_length_label(s, several))
        for net, c in curves.items():
            col = 1 if net.startswith("plain") else 2
            color, n = _color(net), len(c["seeds"])
            step = _thin(len(c["iteration"]))
            xs = _pick(c["iteration"], step)
            for kind, width, dash, alpha in (("train", 1.4, "dash", 0.10), ("eval", 2.6, "solid", 0.22)):
                mean, lo, hi = (_pct(_pick(c[k], step)) for k in (f"{kind}_error", f"{kind}_lo", f"{kind}_hi"))
                images = "/".join(map(str, c["eval_images"]))
                what = f"test error on {images} test images" if kind == "eval" else "training error"
                if n > 1:
                    v.traces.append((_band(xs, lo, hi, color, alpha, net), 1, col))
                v.traces.append(
                    (
                        go.Scatter(
                            x=xs,
                            y=mean,
                            mode="lines",
                            line=dict(color=color, width=width, dash=dash),
                            name=net_name(net),
                            legendgroup=net,
                            showlegend=kind == "eval",
                            customdata=list(zip(lo, hi)),
                            hovertemplate=(
                                f"<b>{net_name(net)}</b>, {what}<br>iteration %{{x}}<br>mean %{{y:.2f}}%"
                                + f"<br>min %{{customdata[0]:.2f}}%, max %{{customdata[1]:.2f}}%<br>{n} seed"
                                + "s" * (n != 1)
                                + "<extra></extra>"
                            ),
                        ),
                        1,
                        col,
                    )
                )
            for r in s.by_net[net]:
                it = r["curves"]["iteration"]
                step_r = _thin(len(it))
                for kind, dash in (("train_error", "dash"), ("eval_error", "solid")):
                    what = "test error" if kind == "eval_error" else "training error"
                    v.traces.append(
                        (
                            go.Scatter(
                                x=_pick(it, step_r),
                                y=_pct(_pick(r["curves"][kind], step_r)),
                                mode="lines",
                                line=dict(color=color, width=0.9, dash=dash),
                                opacity=0.8,
                                name=f"{net_name(net)} seed {r['seed']}",
                                legendgroup=f"{net}-seed{r['seed']}",
                                showlegend=kind == "eval_error",
                                visible="legendonly",
                                hovertemplate=(
                                    f"{net_name(net)} seed {r['seed']}, {what}<br>iteration %{{x}}: %{{y:.2f}}%"
                                    "<extra></extra>"
                                ),
                            ),
                            1,
                            col,
                        )
                    )
        v.traces += _added_traces(added or {}, added_label)
        note = f" · thin with dots: {added_label}" if added else ""
        v.layout = {
            "title.text": f"Fig. 6 at {s.iterations} iterations: training error (dashed), test error (bold)",
            "xaxis.range": [0, s.iterations],
            "xaxis2.range": [0, s.iterations],
            "yaxis.range": [0, top],
            "yaxis2.range": [0, top],
            "annotations": [
                *_titles(),
                _footer(f"{s.label()} · {SPREAD}; curves drawn at ≤ {MAX_POINTS} evaluations{note}", frame),
            ],
        }
        views.append(v)
    fig = make_subplots(1, 2, shared_yaxes=False, horizontal_spacing=0.08, subplot_titles=("plain nets", "ResNets"))
    fig.update_xaxes(title_text="iteration")
    fig.update_yaxes(title_text="error (%)", col=1)
    summary = "Fig. 6, explorable: schedule lengths " + ", ".join(str(s.iterations) for s in schedules)
    active = _default(schedules, evidence.FIG6_NETS)
    out = _assemble(fig, frame, views, active, name, summary)
    if added:  # one more entry: the same length, zoomed on the added runs' iterations and errors
        n = max(max(c["iteration"]) for c in added.values())
        worst = max(100 * e for c in added.values() for k in ("train_error", "eval_error") for e in c[k])
        top = min(100.0, 5.0 * math.ceil(round(worst, 6) / 5.0))
        menu = out.figure.layout.updatemenus[0]
        s = schedules[active]
        zoom = {f"{a}.range": r for a in ("xaxis", "xaxis2") for r in ([0, n],)}
        zoom.update({f"{a}.range": [0, top] for a in ("yaxis", "yaxis2")})
        zoom["title.text"] = f"Fig. 6 at {s.iterations} iterations, its first {n}: {added_label} beside it"
        menu.buttons = [
            *menu.buttons,
            dict(
                label=f"{s.iterations} iterations, zoomed on {added_label}",
                method="update",
                args=[menu.buttons[active].args[0], zoom],
            ),
        ]
        out.views.append(menu.buttons[-1].label)
    return out


def _titles() -> list[dict]:
    """make_subplots' panel titles (annotations), kept when a view replaces the annotations."""
    return [
        dict(text=t, x=x, xanchor="center", y=1.0, yanchor="bottom", xref="paper", yref="paper", showarrow=False)
        for t, x in (("plain nets", 0.23), ("ResNets", 0.77))
    ]


# --------------------------------------------------------------------------- Fig. 7
def fig7(records: list[dict], name: str = "explore-fig7") -> Explorable:
    """Fig. 7 at every schedule length the records hold its statistics for: each 3x3 layer's
    response std in layer order (top) and sorted by magnitude (bottom), plain nets dashed and
    ResNets solid, the mean over the seeds with their min–max, each seed one legend click away."""
    schedules = _schedules(records, ("fig7",))
    if not schedules:
        return _empty(evidence.missing(records, evidence.FIG7_NETS, ("fig7",)))
    several = len({s.dataset for s in schedules}) > 1
    frame = Frame(plot=600)
    views = []
    for s in schedules:
        f7 = evidence.fig7_data(s)
        v = View(_length_label(s, several))
        for net, mean in f7["responses"].items():
            plain = net.startswith("plain")
            color = (plots.PLAIN_COLORS if plain else plots.RESNET_COLORS).get(plots._depth(net), "#444444")
            dash = "dash" if plain else "solid"
            lo, hi = f7["bands"][net]["lo"], f7["bands"][net]["hi"]
            rs = s.by_net[net]
            n = len(rs)
            layers = rs[0]["fig7"]["layers"]
            idx = list(range(1, len(mean) + 1))
            seeds = f"{n} seed{'s' * (n != 1)}"
            if n > 1:
                v.traces.append((_band(idx, lo, hi, color, 0.18, net), 1, 1))
            v.traces.append(
                (
                    go.Scatter(
                        x=idx,
                        y=mean,
                        mode="lines+markers",
                        marker=dict(size=4),
                        line=dict(color=color, width=1.8, dash=dash),
                        name=net_name(net),
                        legendgroup=net,
                        customdata=[[a, b, layer] for a, b, layer in zip(lo, hi, layers)],
                        hovertemplate=(
                            f"<b>{net_name(net)}</b>, layer %{{x}} (%{{customdata[2]}})"
                            f"<br>response std: mean %{{y:.3g}}"
                            f"<br>min %{{customdata[0]:.3g}}, max %{{customdata[1]:.3g}}<br>{seeds}<extra></extra>"
                        ),
                    ),
                    1,
                    1,
                )
            )
            order = sorted(range(len(mean)), key=lambda i: -mean[i])  # sorted by the mean, as the static figure
            v.traces.append(
                (
                    go.Scatter(
                        x=idx,
                        y=[mean[i] for i in order],
                        mode="lines+markers",
                        marker=dict(size=4),
                        line=dict(color=color, width=1.8, dash=dash),
                        name=net_name(net),
                        legendgroup=net,
                        showlegend=False,
                        customdata=[[lo[i], hi[i], layers[i], i + 1] for i in order],
                        hovertemplate=(
                            f"<b>{net_name(net)}</b>, rank %{{x}}: layer %{{customdata[3]}} (%{{customdata[2]}})"
                            f"<br>response std: mean %{{y:.3g}}"
                            f"<br>min %{{customdata[0]:.3g}}, max %{{customdata[1]:.3g}}<br>{seeds}<extra></extra>"
                        ),
                    ),
                    2,
                    1,
                )
            )
            for r in rs:
                stds = r["fig7"]["response_std"]
                for row, ys, show in ((1, stds, True), (2, sorted(stds, reverse=True), False)):
                    v.traces.append(
                        (
                            go.Scatter(
                                x=idx,
                                y=ys,
                                mode="lines",
                                line=dict(color=color, width=0.9, dash=dash),
                                name=f"{net_name(net)} seed {r['seed']}",
                                legendgroup=f"{net}-seed{r['seed']}",
                                showlegend=show,
                                visible="legendonly",
                                hovertemplate=(
                                    f"{net_name(net)} seed {r['seed']}, "
                                    + ("layer" if row == 1 else "rank")
                                    + " %{x}: %{y:.3g}<extra></extra>"
                                ),
                            ),
                            row,
                            1,
                        )
                    )
        images = "/".join(map(str, f7["images"]))
        v.layout = {
            "title.text": f"Fig. 7 at {s.iterations} iterations: std of each 3×3 layer's response",
            "annotations": [
                _footer(
                    f"{s.label()} · responses on {images} test images, after BN and before ReLU / addition · {SPREAD}",
                    frame,
                )
            ],
        }
        views.append(v)
    fig = make_subplots(2, 1, vertical_spacing=0.12)
    fig.update_yaxes(type="log", title_text="std (log scale)")
    fig.update_xaxes(title_text="layer index (original)", row=1)
    fig.update_xaxes(title_text="layer index (sorted by magnitude)", row=2)
    summary = "Fig. 7, explorable: schedule lengths " + ", ".join(str(s.iterations) for s in schedules)
    return _assemble(fig, frame, views, _default(schedules, evidence.FIG7_NETS), name, summary)


# --------------------------------------------------------------------------- the scale map
QUANTITIES = (  # the per-net views of the map: record quantity, what it is, its unit's scale
    ("final_eval_error", "final test error (%)", 100.0),
    ("final_train_error", "final training error (%)", 100.0),
    ("response", "mean response std over the 3×3 layers (Fig. 7)", 1.0),
)


def net_points(records: list[dict], quantity: str) -> dict[str, list[dict]]:
    """Per net (the pages' order), per schedule length: the mean, min and max of ``quantity`` over
    the seeds (errors in %), their number and the seeds' own values."""
    scale = 100.0 if quantity != "response" else 1.0
    out: dict[str, list[dict]] = {}
    for (n, _dataset), per in sorted(rec.groups(records, rec.needs(quantity)).items()):
        for net in sorted(per, key=net_order):
            rs = sorted(per[net], key=lambda r: r["seed"])
            vals = [scale * rec.value(r, quantity) for r in rs]
            out.setdefault(net, []).append(
                {
                    "iterations": n,
                    "mean": sum(vals) / len(vals),
                    "min": min(vals),
                    "max": max(vals),
                    "n": len(vals),
                    "seeds": [r["seed"] for r in rs],
                    "values": vals,
                }
            )
    return dict(sorted(out.items(), key=lambda kv: net_order(kv[0])))


def scale_map(records: list[dict], name: str = "explore-scale-map") -> Explorable:
    """The scale map, one view at a time: each net's final test error, final training error or mean
    response std against the schedule length (mean over the seeds, bars to their min and max, each
    seed one legend click away), or one claim's difference a − b with its 95% Welch interval,
    coloured by its verdict, the paper's side of zero shaded."""
    main = rec.latest(records)
    if not main:
        return _empty("No scale-map points are committed yet: `python -m paper_repro scale-map` measures them.")
    label = rec.label(rec.provenance(main))
    lengths = sorted({r["iterations"] for r in main})
    frame = Frame(plot=340)
    views = []
    for quantity, what, _ in QUANTITIES:
        pts = net_points(records, quantity)
        if not pts:
            continue
        v = View(f"each net: {what}")
        fmt = ".2f" if quantity != "response" else ".3g"
        unit = "%" if quantity != "response" else ""
        for net, ps in pts.items():
            color = _color(net)
            xs = [p["iterations"] for p in ps]
            v.traces.append(
                (
                    go.Scatter(
                        x=xs,
                        y=[p["mean"] for p in ps],
                        mode="lines+markers",
                        line=dict(color=color, width=2, dash="dash" if net.startswith("plain") else "solid"),
                        marker=dict(size=7),
                        error_y=dict(
                            type="data",
                            symmetric=False,
                            array=[p["max"] - p["mean"] for p in ps],
                            arrayminus=[p["mean"] - p["min"] for p in ps],
                            thickness=1.2,
                            width=4,
                        ),
                        name=net_name(net),
                        legendgroup=net,
                        customdata=[[p["min"], p["max"], p["n"]] for p in ps],
                        hovertemplate=(
                            f"<b>{net_name(net)}</b>, %{{x}} iterations<br>{what}: mean %{{y:{fmt}}}{unit}"
                            f"<br>min %{{customdata[0]:{fmt}}}{unit}, max %{{customdata[1]:{fmt}}}{unit}"
                            "<br>%{customdata[2]} seed(s)<extra></extra>"
                        ),
                    ),
                    1,
                    1,
                )
            )
            seeds = sorted({s for p in ps for s in p["seeds"]})
            for seed in seeds:
                have = [(p["iterations"], val) for p in ps for s, val in zip(p["seeds"], p["values"]) if s == seed]
                v.traces.append(
                    (
                        go.Scatter(
                            x=[x for x, _ in have],
                            y=[y for _, y in have],
                            mode="markers",
                            marker=dict(color=color, size=6, symbol="circle-open"),
                            name=f"{net_name(net)} seed {seed}",
                            legendgroup=f"{net}-seed{seed}",
                            visible="legendonly",
                            hovertemplate=(
                                f"{net_name(net)} seed {seed}, %{{x}} iterations: %{{y:{fmt}}}{unit}<extra></extra>"
                            ),
                        ),
                        1,
                        1,
                    )
                )
        v.layout = {
            "title.text": f"Scale map: each net's {what} by schedule length",
            "yaxis.title.text": what,
            "yaxis.type": "log" if quantity == "response" else "linear",
            "yaxis.autorange": True,
            "shapes": [],
            "annotations": [_footer(f"{label} · {SPREAD}", frame)],
        }
        views.append(v)
    points = sm.claim_points(records, sm.MAP_CLAIMS + sm.RESPONSE_CLAIMS)
    for key, pts in points.items():
        if pts:
            views.append(_claim_view(key, pts, label, frame))
    fig = make_subplots(1, 1)
    ticks = dict(tickvals=lengths, ticktext=list(map(str, lengths)))
    fig.update_xaxes(type="log", title_text="schedule length (iterations, log scale)", **ticks)
    summary = "Scale map, explorable: " + "; ".join(v.label for v in views)
    return _assemble(fig, frame, views, 0, name, summary)


def _claim_view(key: str, pts: list[dict], label: str, frame: Frame) -> View:
    """One claim of the map: a − b at each length, bars to its 95% Welch interval (none with fewer
    than claims.MIN_SEEDS seeds: hollow markers), coloured by its verdict; the paper's side shaded."""
    c = claims.BY_KEY[key]
    _, scale, digits = claims.units(c.quantity)
    unit = " pt" if c.quantity != "response" else ""
    xs = [p["iterations"] for p in pts]
    ys = [scale * p["diff"] for p in pts]
    bounded = [p["low"] is not None and math.isfinite(p["low"]) and math.isfinite(p["high"]) for p in pts]
    text = [
        f"{claims.difference_text(p, unit)}, n = {min(p['n_a'], p['n_b'])}: <b>{p['label']}</b>"
        + ("" if ok or p["low"] is None else " (interval unbounded)")
        for p, ok in zip(pts, bounded)
    ]
    trace = go.Scatter(
        x=xs,
        y=ys,
        mode="lines+markers",
        line=dict(color="#999999", width=1),
        marker=dict(
            size=10,
            color=[VERDICT_COLORS.get(p["label"], "#bbbbbb") for p in pts],
            symbol=["circle" if p["low"] is not None else "circle-open" for p in pts],
            line=dict(width=2, color=[VERDICT_COLORS.get(p["label"], "#bbbbbb") for p in pts]),
        ),
        error_y=dict(
            type="data",
            symmetric=False,
            array=[scale * p["high"] - y if ok else 0 for p, y, ok in zip(pts, ys, bounded)],
            arrayminus=[y - scale * p["low"] if ok else 0 for p, y, ok in zip(pts, ys, bounded)],
            color="#555555",
            thickness=1.2,
            width=5,
        ),
        name=f"{net_name(c.a)} − {net_name(c.b)}",
        text=text,
        hovertemplate="%{x} iterations: %{text}<extra></extra>",
    )
    what = claims.QUANTITY_NAMES[c.quantity]
    paper_side = dict(
        type="rect",
        xref="paper",
        x0=0,
        x1=1,
        yref="y",
        y0=0,
        y1=1e9 if c.direction > 0 else -1e9,
        fillcolor="rgba(44,160,44,0.12)",
        line=dict(width=0),
        layer="below",
    )
    zero = dict(type="line", xref="paper", x0=0, x1=1, yref="y", y0=0, y1=0, line=dict(color="black", width=1))
    lows = [scale * p["low"] for p, ok in zip(pts, bounded) if ok] + ys
    highs = [scale * p["high"] for p, ok in zip(pts, bounded) if ok] + ys
    lo, hi = min(0.0, *lows), max(0.0, *highs)
    pad = 0.08 * (hi - lo or 1.0)
    return View(
        f"claim: {c.title} ({net_name(c.a)} − {net_name(c.b)}, {what})",
        [(trace, 1, 1)],
        {
            "title.text": f"{c.title} ({c.source}): {net_name(c.a)} − {net_name(c.b)}, {what}",
            "yaxis.title.text": "difference (points)" if c.quantity != "response" else "difference (std)",
            "yaxis.type": "linear",
            "yaxis.range": [lo - pad, hi + pad],
            "shapes": [paper_side, zero],
            "annotations": [
                _footer(
                    f"Green band: the paper's side of zero. Markers: holds (green), reversed (red), not shown (grey); "
                    f"hollow: fewer than {claims.MIN_SEEDS} seeds, no interval. Bars: the 95% Welch interval. "
                    f"{label}",
                    frame,
                )
            ],
        },
    )
