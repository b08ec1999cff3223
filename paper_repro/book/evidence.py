"""The strongest evidence the book shows: each claim and figure at the longest committed schedule.

The committed scale map (``figures/scale-map/records.jsonl``) holds one record per finished run. For
a claim or a figure, **the longest committed schedule** is the largest ``iterations`` (on one data
set) at which every net it needs has at least :data:`claims.MIN_SEEDS` seeds, counting only the
records that carry what it needs (``curves`` for Fig. 6, ``fig7`` for Fig. 7 and the response
claims). A point measured again (other commit, other hardware) is a new record; the latest record
of each (data set, iterations, net, seed) is the one used, so no seed counts twice.

Everything here is a pure function of the records, so the front page, the chapters and the README
show the same numbers on any build, the ``smoke`` profile's included; where no schedule qualifies,
:func:`missing` says in one sentence what is missing.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from paper_repro.book import figures, plots
from paper_repro.book.figures import save_figure
from paper_repro.book.tables import markdown_table
from paper_repro.classification.config import RunConfig
from paper_repro.paper import claims, published
from paper_repro.paper import classification as paper
from paper_repro.runs import records as rec
from paper_repro.runs.records import (
    NETS,
    Schedule,
    dataset_name,
    latest,
    longest,
    mean_std_of,
    needs,
    net_name,
    net_order,
)

FIG6_NETS = NETS  # plain-20/56 left, ResNet-20/56 right
FIG7_NETS = NETS
RESNETS = ("resnet20", "resnet56")  # the depth claims' pair, measured at longer schedules than the plain nets


def missing(records: list[dict], nets, need: tuple[str, ...] = ()) -> str:
    """Why no schedule qualifies, in one sentence: what the longest records with ``need`` hold."""
    have = [r for r in latest(records) if all(k in r for k in need)]
    what = " with " + " and ".join(need) if need else ""
    names = ", ".join(nets)
    text = f"No committed schedule has {claims.MIN_SEEDS} seeds of each of {names}{what} yet"
    if have:
        n = max(r["iterations"] for r in have)
        counts = {net: len({r["seed"] for r in have if r["iterations"] == n and r["net"] == net}) for net in nets}
        text += (
            f"; the longest such records are at {n} iterations ("
            + ", ".join(f"{net}: {k} seed{'s' if k != 1 else ''}" for net, k in counts.items())
            + ")"
        )
    return text + ". `python -m paper_repro scale-map` measures them."


# --------------------------------------------------------------------------- claims
def claim_nets(key: str) -> tuple[str, str]:
    c = claims.BY_KEY[key]
    return c.a, c.b


def judge_longest(key: str, records: list[dict]) -> dict | None:
    """claims.judge for ``key`` at its longest committed schedule (with ``schedule`` beside the
    verdict); None where the scale map does not measure the claim's nets with enough seeds."""
    c = claims.BY_KEY[key]
    s = longest(records, (c.a, c.b), needs(c.quantity))
    if s is None:
        return None
    return {**rec.judge(c, s.records), "schedule": s}


def longest_cell(j: dict | None) -> str:
    """A scoreboard cell: the verdict at the longest committed schedule, its iterations and number."""
    if j is None:
        return "not in the scale map"
    d = claims.difference_text(j, " pt" if claims.units(j["quantity"])[0] else "")
    return f"**{j['label']}** at {j['schedule'].iterations} iterations: {d} (n={min(j['n_a'], j['n_b'])})"


def schedules_note(judged: list[dict | None]) -> str:
    """One provenance line per distinct longest schedule (iterations, data set) the judged claims
    stand on, over every net they compare there."""
    seen: dict = {}
    for j in judged:
        if j is not None:
            s = j["schedule"]
            merged = seen.setdefault((s.iterations, s.dataset), Schedule(s.iterations, s.dataset, {}))
            merged.by_net.update(s.by_net)
    return "\n".join(
        f"- {s.iterations} iterations ({', '.join(sorted(s.by_net))}): {s.label()}"
        for _, s in sorted(seen.items(), reverse=True)
    )


# --------------------------------------------------------------------------- Fig. 6 and Fig. 7
def _band(per_seed: list[list[float]]) -> tuple[list[float], list[float], list[float]]:
    cols = list(zip(*per_seed))
    return [statistics.fmean(c) for c in cols], [min(c) for c in cols], [max(c) for c in cols]


SPREAD = "shaded: min-max over the seeds"


def fig6_step(s: Schedule) -> int:
    """The window Fig. 6 draws schedule ``s`` at: 1/:data:`OVERTAKE_WINDOWS` of the schedule (400
    iterations at the paper's 64,000), as the overtake analysis reads it, rounded down to a multiple
    of every run's evaluation interval, and at least the coarsest of them. So a net evaluated every 25
    iterations on 1,000 images is not drawn with 16 times the points, each about √10 times noisier
    (a tenth of the images), beside one evaluated every 400 on all 10,000, and a 64k run's 2,560
    evaluations do not blur into a band."""
    curved = [r for r in s.records if "curves" in r]
    span = min(r["curves"]["iteration"][-1] for r in curved)  # the schedule, where every curve reaches its end
    return _window(curved, span)


def fig6_curves(s: Schedule) -> dict[str, dict]:
    """Per net: the mean over seeds of the training and test error at each evaluation, with the
    seeds' min and max (``train_lo``/``train_hi``, ``eval_lo``/``eval_hi``), on the iterations every
    seed evaluated. A run evaluated more often than :func:`fig6_step` is averaged over windows of
    that step (its training error is then the mean over the window's batches, like the others')."""
    out, step = {}, fig6_step(s)
    for net, rs in s.by_net.items():
        train_w, eval_w = ([curve_windows(r, step, k) for r in rs] for k in ("train_error", "eval_error"))
        common = sorted(set.intersection(*(set(w) for w in train_w + eval_w)))
        train, tlo, thi = _band([[w[i] for i in common] for w in train_w])
        ev, elo, ehi = _band([[w[i] for i in common] for w in eval_w])
        out[net] = {
            "iteration": common,
            "train_error": train,
            "eval_error": ev,
            "train_lo": tlo,
            "train_hi": thi,
            "eval_lo": elo,
            "eval_hi": ehi,
            "seeds": [r["seed"] for r in rs],
            "eval_images": sorted({r["curves"]["eval_images"] for r in rs}),
        }
    return out


# --------------------------------------------------------------------------- when depth starts to pay
OVERTAKE_WINDOWS = 160  # windows per schedule: 400 iterations at the paper's 64,000


def _interval(r: dict) -> int:
    """A record's evaluation interval: its curves' first point is the end of the first interval."""
    return r["curves"]["iteration"][0]


def _window(runs: list[dict], span: int) -> int:
    """1/:data:`OVERTAKE_WINDOWS` of ``span`` iterations, rounded down to a multiple of every run's
    evaluation interval, and at least the coarsest of them (their least common multiple)."""
    step = math.lcm(*map(_interval, runs))
    return step * max(1, span // OVERTAKE_WINDOWS // step)


def curve_windows(r: dict, window: int, key: str = "train_error") -> dict[int, float]:
    """A record's training error (or its curve ``key``) over consecutive windows of ``window``
    iterations (a multiple of its evaluation interval), keyed by each window's last iteration. Each
    training point is already the mean over its interval's batches, so a window is the mean of the
    points it holds; a window missing a point is left out."""
    c, k = r["curves"], _interval(r)
    at = dict(zip(c["iteration"], c[key]))
    out = {}
    for end in range(window, c["iteration"][-1] + 1, window):
        points = [at.get(i) for i in range(end - window + k, end + 1, k)]
        if None not in points:
            out[end] = statistics.fmean(points)
    return out


def overtake(s: Schedule, deeper: str, shallower: str) -> dict | None:
    """When ``deeper``'s training error falls below ``shallower``'s during the runs of schedule ``s``:
    both nets' curves averaged over the seeds both have, and over windows of 1/:data:`OVERTAKE_WINDOWS`
    of the schedule (rounded down to a multiple of every curve's evaluation interval, so that one
    net's short interval is not compared with the other's long one). ``first``: the first window
    where it is below; ``from``: the window from which it stays below to the end (None: never);
    ``closest``: (iteration, difference in points) where deeper minus shallower is lowest; ``end``:
    the difference in the last window; ``records``: the runs compared. None where the two nets share
    no seed with curves."""
    a, b = ({r["seed"]: r for r in s.by_net.get(net, []) if "curves" in r} for net in (deeper, shallower))
    seeds = sorted(a.keys() & b.keys())
    if not seeds:
        return None
    runs = [x[k] for k in seeds for x in (a, b)]
    window = _window(runs, s.iterations)
    wa, wb = ([curve_windows(x[k], window) for k in seeds] for x in (a, b))
    ends = sorted(set.intersection(*(set(w) for w in wa + wb)))
    if not ends:
        return None
    diff = [100 * (statistics.fmean(w[e] for w in wa) - statistics.fmean(w[e] for w in wb)) for e in ends]
    below = [e for e, d in zip(ends, diff) if d < 0]
    stays = None
    for e, d in zip(reversed(ends), reversed(diff)):
        if d >= 0:
            break
        stays = e
    low = min(range(len(diff)), key=diff.__getitem__)
    return {
        "iterations": s.iterations,
        "dataset": s.dataset,
        "deeper": deeper,
        "shallower": shallower,
        "seeds": seeds,
        "window": window,
        "first": below[0] if below else None,
        "from": stays,
        "closest": (ends[low], diff[low]),
        "end": diff[-1],
        "ends": ends,
        "diff": diff,
        "records": runs,
    }


def overtake_rows(records: list[dict], deeper: str = "resnet56", shallower: str = "resnet20") -> list[dict]:
    """:func:`overtake` at every committed schedule (one data set each) where both nets have curves
    of a common seed, shortest first."""
    per = rec.groups(records, ("curves",))
    found = (overtake(Schedule(n, ds, dict(nets)), deeper, shallower) for (n, ds), nets in sorted(per.items()))
    return [o for o in found if o is not None]


def _seeds_text(seeds: list[int]) -> str:
    return f"seed{'s' * (len(seeds) > 1)} {', '.join(map(str, seeds))}"


def overtake_label(rows: list[dict]) -> str:
    """The provenance of the runs behind :func:`overtake_rows`, in one label."""
    return rec.label(rec.provenance([r for row in rows for r in row["records"]]))


def overtake_sentence(rows: list[dict], label: bool = True, where: str = "any schedule measured so far") -> str:
    """Where the deeper net first trains better than the shallower one, or that it never does, in
    numbers, from :func:`overtake_rows`, with the runs' provenance unless ``label`` is False; ""
    where there is no row. ``where``: what "never at any point of" covers."""
    if not rows:
        return ""
    prov = f" Measured with {overtake_label(rows)}." if label else ""
    d, s = net_name(rows[0]["deeper"]), net_name(rows[0]["shallower"])
    first = next((r for r in rows if r["first"] is not None), None)
    windows = sorted({r["window"] for r in ([first] if first else rows)})
    how = (
        f"{dataset_name(rows[0]['dataset'])}; training error averaged over the seeds both nets have, in windows "
        f"of {windows[0] if len(windows) == 1 else f'{windows[0]} to {windows[-1]}'} iterations"
    )
    if first is None:
        best = min(rows, key=lambda r: r["closest"][1])
        at, gap = best["closest"]
        lengths = sorted({r["iterations"] for r in rows})
        span = f"from {lengths[0]} to {lengths[-1]} iterations" if len(lengths) > 1 else f"of {lengths[0]} iterations"
        return (
            f"{d}'s training error never falls below {s}'s at any point of {where} "
            f"({span}; {how}): the closest it comes is {gap:+.2f} points, at iteration {at} of "
            f"{best['iterations']} ({_seeds_text(best['seeds'])})." + prov
        )
    stays = (
        f" and stays below from iteration {first['from']}"
        if first["from"] is not None
        else f", but does not stay below ({first['end']:+.2f} points at the end)"
    )
    never = sorted(r["iterations"] for r in rows if r["first"] is None)
    before = (
        f" In the runs of {never[0]}{f' to {never[-1]}' if len(never) > 1 else ''} iterations it never does."
        if never
        else ""
    )
    return (
        f"{d}'s training error first falls below {s}'s in the runs of {first['iterations']} iterations "
        f"({_seeds_text(first['seeds'])}; {how}): at iteration {first['first']}{stays}.{before}" + prov
    )


def overtake_figure(rows: list[dict]):
    """:func:`overtake_rows` as a figure: at each schedule, the deeper net's training error minus the
    shallower one's, window by window, against the fraction of the schedule done (every schedule
    divides the lr by 10 at the same fractions, 1/2 and 3/4); below 0, the deeper net trains better."""
    series = {
        f"{r['iterations']} iterations ({_seeds_text(r['seeds'])})": (
            [e / r["iterations"] for e in r["ends"]],
            r["diff"],
        )
        for r in rows
    }
    return plots.difference_curves(
        series,
        f"{net_name(rows[0]['deeper'])} − {net_name(rows[0]['shallower'])}, training error (points)",
        overtake_label(rows),
        marks=[m / paper.ITERATIONS for m in RunConfig.milestones],  # §4.2: 32k and 48k of 64k
    )


OVERTAKE_COLUMNS = [
    ("iterations", "schedule (iterations)"),
    ("seeds", "seeds"),
    ("window", "window (iterations)"),
    ("first", "first below at"),
    ("from", "below from"),
    ("closest", "lowest difference (at)"),
    ("end", "difference in the last window"),
]


def overtake_table(rows: list[dict]) -> list[dict]:
    """:func:`overtake_rows` as table cells (:data:`OVERTAKE_COLUMNS`): differences in points."""
    return [
        {
            "iterations": r["iterations"],
            "seeds": ", ".join(map(str, r["seeds"])),
            "window": r["window"],
            "first": r["first"] if r["first"] is not None else "never",
            "from": r["from"] if r["from"] is not None else "never",
            "closest": f"{r['closest'][1]:+.2f} pt ({r['closest'][0]})",
            "end": f"{r['end']:+.2f} pt",
        }
        for r in rows
    ]


def fig6_panels(curves: dict[str, dict]) -> list[tuple[str, dict]]:
    """Plain nets left, ResNets right, as in the paper."""
    plain = {k: v for k, v in curves.items() if k.startswith("plain")}
    res = {k: v for k, v in curves.items() if k.startswith("resnet")}

    def depths(panel, prefix):
        return "/".join(dict.fromkeys(v.get("net", k).removeprefix(prefix) for k, v in panel.items()))

    return [
        (title, panel)
        for title, panel in (("plain-" + depths(plain, "plain"), plain), ("ResNet-" + depths(res, "resnet"), res))
        if panel
    ]


def fig7_data(s: Schedule) -> dict:
    """Fig. 7 at this schedule: per net, each layer's response std (mean over seeds, with min and
    max), and per net and seed the mean response std and mean BN |gamma| over its 3x3 layers."""
    responses, bands, means, gammas = {}, {}, {}, {}
    for net, rs in s.by_net.items():
        mean, lo, hi = _band([r["fig7"]["response_std"] for r in rs])
        responses[net], bands[net] = mean, {"lo": lo, "hi": hi}
        means[net] = [statistics.fmean(r["fig7"]["response_std"]) for r in rs]
        gammas[net] = [statistics.fmean(r["fig7"]["bn_gamma"]) for r in rs]
    return {
        "responses": responses,
        "bands": bands,
        "means": means,
        "gammas": gammas,
        "images": sorted({r["fig7"]["images"] for r in s.records}),
    }


def fig6_top(curves: dict[str, dict]) -> float:
    """Where Fig. 6's error axis stops: 2.5 times the highest final test error of the mean curves,
    rounded up to 5%, at most 100%. The paper's Fig. 6 stops at 20% for the same reason: the end of
    training, where the nets separate, stays readable while the first iterations run off the top."""
    worst = max(100 * c["eval_error"][-1] for c in curves.values())
    return min(100.0, 5.0 * math.ceil(2.5 * worst / 5.0))


def fig6_figure(s: Schedule | None, added: dict[str, dict] | None = None, added_label: str = ""):
    """Fig. 6 at schedule ``s`` as chapter 2 and the README show it: (figure, the plotted curves).
    ``added``: more curves ({net: curve}, e.g. this build's or the reader's runs) drawn on the same
    panels as thin dotted series named "<net> (<added_note>)"; with ``s`` None, they alone."""
    curves = fig6_curves(s) if s is not None else {}
    shown = dict(curves)
    for net, c in (added or {}).items():
        shown[f"{net} ({added_label})" if curves else net] = {**c, "net": net, "added": bool(curves)}
    label = s.label() if s is not None else added_label
    if s is not None:
        images = sorted({n for c in curves.values() for n in c["eval_images"]})
        if images != sorted({r["final_eval_images"] for r in s.records}):
            label += f" · test curves on {'/'.join(map(str, images))} test images"
        if len(images) > 1:  # a curve on fewer images than another is a different test set: its legend says so,
            # and every net's final test error on all the images marks the end of its curve, where the two compare
            for i, (net, c) in enumerate(curves.items()):  # side by side past the end, so that close ones both show
                final = statistics.fmean(r["final_eval_error"] for r in s.by_net[net])
                shown[net] = {**shown[net], "final_eval": (c["iteration"][-1] * (1 + 0.03 * (i + 1)), final)}
                if min(c["eval_images"]) < images[-1]:  # all its seeds, or some (the mean of two test sets)
                    sets = "/".join(map(str, c["eval_images"]))
                    shown[net]["legend"] = f"{net_name(net)}, test curve on {sets} images"
            label += f" · ◆ final test error on {images[-1]} images"
        if len({tuple(c["seeds"]) for c in curves.values()}) > 1:  # a mean of other seeds than the next net's
            for net, c in curves.items():
                legend = shown[net].get("legend", net_name(net))
                shown[net]["legend"] = f"{legend} ({_seeds_text(c['seeds'])})"
        step = fig6_step(s)
        if any(_interval(r) != step for r in s.records if "curves" in r):
            label += f" · curves averaged over windows of {step} iterations"
    if s is not None and added:
        label += f" · thin dotted: {added_label}"
    top = fig6_top(curves or shown)
    fig = plots.training_curves(fig6_panels(shown), label, ylim=(0, top), spread=SPREAD if curves else None)
    return fig, shown


def fig7_figure(s: Schedule):
    """Fig. 7 at schedule ``s`` as chapter 4 and the README show it: (figure, :func:`fig7_data`)."""
    f7 = fig7_data(s)
    label = s.label() + f" · responses on {'/'.join(map(str, f7['images']))} test images, mean of the seeds"
    return plots.layer_responses(f7["responses"], label, f7["bands"], spread=SPREAD), f7


class LongestFigure(NamedTuple):
    """One figure of the README's first block, drawn at the longest schedule of ``nets`` whose
    records carry ``need``; where ``beyond`` names another such figure, only at a schedule longer
    than that figure's (one figure per length, not the same runs twice)."""

    nets: tuple[str, ...]
    need: tuple[str, ...]
    draw: Callable
    what: str
    beyond: str | None = None


LONGEST_FIGURES = {  # name in figures/scale-map/ -> how it is chosen and drawn
    "fig6_longest": LongestFigure(
        FIG6_NETS,
        ("curves",),
        fig6_figure,
        "Fig. 6: plain nets (left) and ResNets (right), training error dashed, test error bold",
    ),
    # the depth claims are judged where ResNet-20/56 have 3 seeds, beyond the plain nets' runs
    "fig6_resnets_longest": LongestFigure(
        RESNETS,
        ("curves",),
        fig6_figure,
        "Fig. 6, the ResNets alone at their longest schedule, training error dashed, test error bold",
        beyond="fig6_longest",
    ),
    "fig7_longest": LongestFigure(
        FIG7_NETS, ("fig7",), fig7_figure, "Fig. 7: standard deviation of every 3x3 layer's response"
    ),
}


def longest_figures(records: list[dict]) -> list[tuple[str, Schedule, LongestFigure]]:
    """(name, schedule, figure) of each figure of :data:`LONGEST_FIGURES` that some schedule of
    ``records`` qualifies for, in the table's order."""
    at = {name: longest(records, f.nets, f.need) for name, f in LONGEST_FIGURES.items()}
    out = []
    for name, f in LONGEST_FIGURES.items():
        s, other = at[name], at.get(f.beyond)
        if s is not None and (other is None or s.iterations > other.iterations):
            out.append((name, s, f))
    return out


def save_longest_figures(records: list[dict] | None = None) -> dict[str, Path]:
    """The figures of :func:`longest_figures`, drawn from the records alone into
    ``figures/scale-map/`` (PNG and JSON with the data and provenance), for the README's first block.
    A figure of :data:`LONGEST_FIGURES` that the records no longer call for is removed, so that no
    stale file stands beside the block."""
    records = rec.read() if records is None else records
    out = {}
    for name, s, f in longest_figures(records):
        fig, data = f.draw(s)
        out[name] = save_figure(fig, name, "scale-map", data, s.provenance())
    for name in LONGEST_FIGURES.keys() - out.keys():
        for suffix in (".png", ".json"):
            (figures.FIGURES / "scale-map" / f"{name}{suffix}").unlink(missing_ok=True)
    return out


def figures_markdown(records: list[dict]) -> str:
    """The README's links to the figures of :func:`save_longest_figures`, with what each shows."""
    return "\n\n".join(
        f"![{f.what}, {s.iterations} iterations, mean of the seeds](figures/scale-map/{name}.png)"
        for name, s, f in longest_figures(records)
    )


# --------------------------------------------------------------------------- Table 6 and Fashion-MNIST
def table6_rows(depth_rows: list[dict]) -> list[dict]:
    """Table 6 beside the published CIFAR-10 reproductions and this build's column.
    ``depth_rows`` are findings.depth_rows of this build (ResNets)."""

    ours = {r["depth"]: r for r in depth_rows}
    rows = []
    for d in sorted(set(paper.TABLE6_ERROR) | set(ours)):
        o = ours.get(d)
        rows.append(
            {
                "net": f"ResNet-{d}",
                "paper": paper.TABLE6_ERROR.get(d),
                "published": published.cell(f"resnet{d}"),
                "measured": "not run" if o is None else f"{o['measured']} (n={o['runs']})",
            }
        )
    for net in ("plain20", "plain56"):
        rows.append({"net": net_name(net), "paper": None, "published": published.cell(net), "measured": "–"})
    return rows


TABLE6_COLUMNS = [
    ("net", "net"),
    ("paper", "paper, CIFAR-10 (Table 6)"),
    ("published", "published reproductions, CIFAR-10 (source, runs)"),
    ("measured", "this build: mean ± std (n seeds)"),
]


def at_paper_schedule(records: list[dict], dataset: str = "fashion-mnist") -> Schedule | None:
    """This project's runs of ``dataset`` at the paper's full length (:data:`paper.ITERATIONS`),
    with however many seeds and nets they have so far; None where there is none."""
    return rec.at(records, paper.ITERATIONS, dataset)


def paper_length_resnets(records: list[dict]) -> Schedule | None:
    """The ResNets' runs at the paper's full length that carry curves, however many seeds each has
    so far (chapter 3 draws them as Fig. 6's ResNet panel); None where there is none."""
    full = at_paper_schedule(records)
    nets = {n: rs for n, rs in (full.by_net.items() if full else ()) if n.startswith("resnet")}
    nets = {n: [r for r in rs if "curves" in r] for n, rs in nets.items()}
    nets = {n: rs for n, rs in sorted(nets.items(), key=lambda kv: net_order(kv[0])) if rs}
    return Schedule(full.iterations, full.dataset, nets) if nets else None


def _errors_cell(rs: list[dict]) -> str:
    """Final test error (%): "7.34 (n=1)", or mean ± std over the seeds "7.34 ± 0.12 (n=3)"."""
    errs = [100 * r["final_eval_error"] for r in rs]
    return f"{mean_std_of(errs)} (n={len(errs)})"


def paper_length_claims(records: list[dict]) -> str:
    """The claims whose two nets have both run at the paper's full length on the same seeds, but not
    on the :data:`claims.MIN_SEEDS` seeds a verdict needs there yet: each difference a − b seed by
    seed, in the claim's units, with both nets' values and no verdict, then the value of each seed
    only one of the two nets has so far (the README's table and the
    scoreboard go on judging the claim at its longest 3-seed schedule). "" where there is none."""
    full = at_paper_schedule(records)
    if full is None:
        return ""
    parts = []
    for c in claims.CLAIMS:
        j = judge_longest(c.key, records)
        if j is not None and j["schedule"].iterations == full.iterations:
            continue  # judged at the paper's length already: the table says it
        a, b = (
            {r["seed"]: r for r in full.by_net.get(net, []) if all(k in r for k in needs(c.quantity))}
            for net in (c.a, c.b)
        )
        seeds = sorted(a.keys() & b.keys())
        if not seeds:
            continue
        unit, scale, digits = claims.units(c.quantity)
        pct = "%" if unit else ""
        va = statistics.fmean(scale * rec.value(a[s], c.quantity) for s in seeds)
        vb = statistics.fmean(scale * rec.value(b[s], c.quantity) for s in seeds)
        diffs = ", ".join(
            claims.signed(scale * (rec.value(a[s], c.quantity) - rec.value(b[s], c.quantity)), digits) for s in seeds
        )
        mean = "" if len(seeds) == 1 else "mean "
        # a seed one net has and the other has not yet: its value alone, which says how far the
        # seeds of that net spread, beside the matched difference
        alone = ""
        for net, other, rs in ((c.a, c.b, a), (c.b, c.a, b)):
            if extra := sorted(rs.keys() - set(seeds)):
                values = ", ".join(f"{scale * rec.value(rs[s], c.quantity):.{digits}f}{pct}" for s in extra)
                alone += f"; {net_name(net)}'s {_seeds_text(extra)} alone (no {net_name(other)} yet): {values}"
        parts.append(
            f"*{c.title}* ({claims.QUANTITY_NAMES[c.quantity]}): {net_name(c.a)} {mean}{va:.{digits}f}{pct} against "
            f"{net_name(c.b)}'s {vb:.{digits}f}{pct}, a difference of {diffs}"
            f"{' ' + unit if unit else ''} ({_seeds_text(seeds)}){alone}"
        )
    if not parts:
        return ""
    return (
        f"No verdict at this length until each net has {claims.MIN_SEEDS} seeds; so far, seed by seed:\n"
        + "\n".join(f"- {p}." for p in parts)
    )


def full_length_comparison(records: list[dict], label: bool = True) -> str:
    """Chapter 3's paragraphs (markdown) on this project's Fashion-MNIST runs at the paper's 64,000
    iterations: the claims not yet judged there, seed by seed (:func:`paper_length_claims`), then
    the published 300-epoch numbers beside them, a bullet per net, then once the two ways the figures
    differ (the published schedule is longer, and the README reports the best epoch) and, unless
    ``label`` is False (chapter 3 gives it under its table), the runs' provenance; "" while there is none."""
    full = at_paper_schedule(records)
    if full is None:
        return ""
    batch = RunConfig.batch_size
    out, cited = [], {}
    for net, rs in full.by_net.items():
        nums = [(src, src.get(net)) for src in published.FASHION_MNIST if src.get(net)]
        if not nums:
            continue
        cited.update((src.key, src) for src, _ in nums)
        errs = [100 * r["final_eval_error"] for r in rs]
        ours = statistics.fmean(errs)
        versus = " and ".join(
            f"{abs(ours - n.error):.2f} points {'above' if ours > n.error else 'below'} {src.cite()}'s "
            f"{n.text()}% ({published.runs_text(src, n)})"
            for src, n in nums
        )
        seeds = f"mean ± std of {len(rs)} seeds" if len(rs) > 1 else "1 seed"
        out.append(f"- {net_name(net)} tests at {mean_std_of(errs)}% ({seeds}): {versus}.")
    pending = paper_length_claims(records)
    if not out:
        return pending
    runs = [r for rs in full.by_net.values() for r in rs]
    epochs = sorted({round(full.iterations * batch / r["train_images"]) for r in runs})
    theirs = sorted({src.epochs for src in cited.values() if src.epochs})
    longer = (
        f"The published runs are longer: {full.iterations} iterations of batch {batch} are "
        f"{'/'.join(map(str, epochs))} epochs of the "
        f"{'/'.join(str(n) for n in sorted({r['train_images'] for r in runs}))} training images, against their "
        f"{'/'.join(map(str, theirs))} epochs"
        + "".join(
            f"; and {src.cite()} reports the best test accuracy over epochs, this project the final test error"
            for src in cited.values()
            if "best test accuracy over epochs" in src.statistic
        )
        + (f" ({full.label()})." if label else ".")
    )
    versus = "Test error beside the published Fashion-MNIST runs:\n" + "\n".join(out)
    return "\n\n".join(x for x in (pending, versus, longer) if x)


def fashion_table(records: list[dict]) -> tuple[list[dict], list[tuple[str, str]], str]:
    """Chapter 3's Fashion-MNIST table: the published depth table beside this project's longest
    Fashion-MNIST runs (test error %, at the longest schedule where every net of the scale map has
    3 seeds) and, once there are any, its runs at the paper's full 64,000 iterations (any number of
    seeds: the first full-length runs are single ones). Returns the rows, the columns and the note
    that gives every column's source."""
    fashion = [r for r in records if r["dataset"] == "fashion-mnist"]
    s, full = longest(fashion, NETS), at_paper_schedule(fashion)
    if full is not None and s is not None and s.iterations == paper.ITERATIONS:
        full = None  # the longest schedule is the paper's already: one column says it
    # the ResNets alone may have 3 seeds at a longer schedule than the plain nets: their own column
    deep = longest(fashion, RESNETS)
    if deep is not None and (s is None or deep.iterations <= s.iterations or deep.iterations == paper.ITERATIONS):
        deep = None
    nets = {n.net for src in published.FASHION_MNIST for n in src.numbers} | set(NETS)
    nets |= set(full.by_net) if full else set()
    rows = []
    for net in sorted(nets, key=net_order):
        row = {"net": net_name(net)}
        for src in published.FASHION_MNIST:
            n = src.get(net)
            row[src.key] = n.text() if n else "–"
        row["ours"] = _errors_cell(s.by_net[net]) if s is not None and net in s.by_net else "–"
        if deep is not None:
            row["resnets"] = _errors_cell(deep.by_net[net]) if net in deep.by_net else "–"
        if full is not None:
            row["full"] = _errors_cell(full.by_net[net]) if net in full.by_net else "not run yet"
        rows.append(row)
    sources = published.RANDOM_ERASING, published.RANDOM_ERASING_RERUN
    # a break allowed after the owner's "/" (a zero-width space): "zhunzhong07/Random-Erasing" in one
    # piece made the table wider than the page's column
    columns = [("net", "net")] + [(x.key, x.cite().replace("/", "/\u200b", 1)) for x in sources]
    columns.append(("ours", f"this project, {s.iterations} iterations" if s else "this project"))
    if deep is not None:
        columns.append(("resnets", f"this project, {deep.iterations} iterations (the ResNets)"))
    re, rr = sources
    note = (
        f"Published, test error (%): {re.cite()}, {re.dataset}, {re.recipe}; {re.statistic}. {rr.cite()}: "
        f"{rr.dataset}, {rr.recipe}; {rr.statistic}. "
    )
    note += (
        missing([], NETS)
        if s is None
        else f"This project: final test error on all test images, mean ± std over the seeds (n), {s.label()}."
    )
    if deep is not None:
        note += f" The ResNets at {deep.iterations} iterations, where they have 3 seeds: {deep.label()}."
    if full is not None:
        columns.append(("full", f"this project, the paper's {paper.ITERATIONS} iterations"))
        note += (
            f" At the paper's length (§4.2: {paper.ITERATIONS} iterations, lr ÷10 at 32k and 48k; the same "
            f"recipe otherwise): {full.label()}."
        )
    return rows, columns, note


# --------------------------------------------------------------------------- the README block
def readme_markdown(records: list[dict] | None = None) -> str:
    """The README's first reproduced-numbers block: every claim the scale map measures, at its
    longest committed schedule, with the paper's number where there is one and the provenance."""

    records = rec.read() if records is None else records
    judged = [(c, judge_longest(c.key, records)) for c in claims.CLAIMS]
    judged = [(c, j) for c, j in judged if j is not None]
    if not judged:
        return missing(records, NETS)
    rows = []
    for c, j in judged:
        p = claims.paper_difference(c)
        rows.append(
            {
                "claim": c.title,
                "source": c.source,
                "paper": f"{p[0]:+.2f} pt ({p[1]})" if p else f"{'> 0' if c.direction > 0 else '< 0'}",
                "measured": longest_cell(j).split(": ", 1)[1],
                "verdict": j["label"],
                "iterations": j["schedule"].iterations,
                "seeds": ", ".join(str(r["seed"]) for r in j["schedule"].by_net[c.a]),
            }
        )
    table = markdown_table(
        rows,
        [
            ("claim", "claim"),
            ("source", "paper source"),
            ("paper", "paper (a − b)"),
            ("measured", "measured a − b [95% interval] (n)"),
            ("verdict", "verdict"),
            ("iterations", "iterations"),
            ("seeds", "seeds"),
        ],
    )
    figs = figures_markdown(records)
    full = full_length_comparison(records)
    overtaken = overtake_sentence(overtake_rows(records))
    return (
        f"{table}\n\nMeasured with the `cpu` profile's recipe, only the iterations changed:\n"
        f"{schedules_note([j for _, j in judged])}\n\n"
        + (f"**At the paper's full length** ({paper.ITERATIONS} iterations; chapter 3). {full}\n\n" if full else "")
        + (f"**During training** (chapter 3): {overtaken}\n\n" if overtaken else "")
        + "Generated from `figures/scale-map/records.jsonl` "
        "(`python -m paper_repro report --readme README.md`, which also draws the figures below from the "
        "records); verdicts by the one rule." + ("\n\n" + figs if figs else "")
    )
