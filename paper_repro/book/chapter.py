"""What a chapter shows, in one visible call each: a figure, a verdict table, a table of final
errors. The plumbing stays here: every figure is also saved as a PNG with the numbers behind it and
their provenance (``figures/<folder>/<name>.png`` and ``.json``), and every table says where its
numbers were measured. The chapters call these on runs they trained in plain sight
(``paper_repro.experiments.runs.train_nets``) and on the committed records.
"""

from __future__ import annotations

from paper_repro.book import evidence as ev
from paper_repro.book import findings
from paper_repro.book.figures import save_figure, show_figure
from paper_repro.book.tables import markdown_table
from paper_repro.classification.config import Profile
from paper_repro.paper import claims
from paper_repro.runs.records import dataset_name, mean_std_of, net_name, net_order


def _display(markdown: str) -> None:
    from IPython.display import Markdown, display  # noqa: PLC0415 - optional: only inside a notebook kernel

    display(Markdown(markdown))


def _figure(fig, name: str, profile: Profile, data, provenance: dict, keep: bool = True) -> None:
    """Show ``fig``; where it draws the profile's plan (``keep``), also save it under
    ``figures/<profile>/`` with its data and provenance. A reader's own experiment is shown, never
    written over the profile's figures."""
    if keep:
        show_figure(fig, name, profile.name, data, provenance)
    else:
        _show(fig)


def _show(fig) -> None:
    """Display ``fig`` as :func:`figures.save_figure` draws it, writing no file."""
    import io  # noqa: PLC0415

    from IPython.display import Image, display  # noqa: PLC0415 - optional: only inside a notebook kernel

    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=110, bbox_inches="tight")
    display(Image(data=png.getvalue()))


def label_of(profile: Profile, results) -> str:
    """Where a build's runs were measured: profile, data, iterations, seeds, commit, hardware."""
    return findings.provenance_label(findings.provenance_of(profile, results))


def fig6(records: list[dict], chapter_runs, profile: Profile, name: str = "fig6_plain_vs_resnet"):
    """Fig. 6 (plain nets left, ResNets right; training error dashed, test error bold) at the longest
    committed schedule with 3 seeds per net, with ``chapter_runs`` (this build's or the reader's own:
    each net's first seed) drawn on it as thin series; the plan's is saved under
    ``figures/<profile>/<name>``."""
    runs, keep = chapter_runs.first(), chapter_runs.planned
    longest = ev.longest(records, ev.FIG6_NETS, ("curves",))
    mine = {k: findings.curve(r) for k, r in runs.items()}
    iters = sorted({r.config.iterations for r in runs.values()})
    added = f"this build, {'/'.join(map(str, iters))} it."
    fig, shown = ev.fig6_figure(longest, mine, added)
    prov = findings.provenance_of(profile, runs)
    fig.texts[-1].set_text(fig.texts[-1].get_text() + f"\nthis build: {findings.provenance_label(prov)}")
    provenance = {"build": prov, "committed": longest and longest.provenance()}
    if longest is None:
        _display(ev.missing(records, ev.FIG6_NETS, ("curves",)) + " This figure shows this build's runs alone.")
        _figure(fig, name, profile, shown, provenance, keep)
        return fig
    # one figure for the claim: the explorable one on the page (every committed length, this build's
    # runs on each), the static one saved beside its data for the README and for print
    from IPython.display import display  # noqa: PLC0415 - optional: only inside a notebook kernel

    from paper_repro.book import explore  # noqa: PLC0415 - plotly, only when drawn

    if keep:
        save_figure(fig, name, profile.name, shown, provenance)
    display(explore.fig6(records, added=mine, added_label=added))
    _display(f"This build: {findings.provenance_label(prov)}.")
    return fig


def verdicts(
    keys, records: list[dict], by_model: dict, profile: Profile, values: dict | None = None, unit: str = "pt"
) -> list[dict]:
    """Each claim's verdict, first at its longest committed schedule (3 seeds per net), then on
    ``by_model`` ({net: [Result per seed]}, this build's runs; ``values`` replaces the summary's
    quantity, e.g. layer responses). Shows one table; returns this build's judgements."""
    scale = 100.0 if unit == "pt" else 1.0
    judged = findings.judge_all(keys, by_model, values)
    mine = {j["claim"]: j for j in judged}
    rows = []
    for k in keys:
        c = claims.BY_KEY[k]
        sign = ">" if c.direction > 0 else "<"
        j = mine.get(k)
        rows.append(
            {
                "claim": f"{c.title} ({c.source}; paper: {net_name(c.a)} − {net_name(c.b)} {sign} 0)",
                "longest": ev.longest_cell(ev.judge_longest(k, records)),
                "build": claims.describe(j, unit, scale) if j else _missing_nets(c, by_model),
            }
        )
    note = ev.schedules_note([ev.judge_longest(k, records) for k in keys])
    results = [r for rs in by_model.values() for r in rs]
    _display(
        markdown_table(rows, [("claim", "claim"), ("longest", "longest committed"), ("build", "this build")])
        + "\n\nThe book's rule (see the introduction): **holds** only where the 95% Welch interval of the "
        + "difference lies on the paper's side of zero.\n\nCommitted records:\n"
        + note
        + (f"\n\nThis build: {label_of(profile, results)}." if results else "")
    )
    return judged


def _missing_nets(c, by_model: dict) -> str:
    gone = [net_name(n) for n in (c.a, c.b) if n not in by_model]
    return f"needs {' and '.join(gone)}: not in this experiment"


def final_errors(by_model: dict) -> None:
    """Per net: the final training and test error, mean ± std over its seeds (%)."""
    rows = []
    for net in sorted(by_model, key=net_order):
        rs = by_model[net]
        rows.append(
            {
                "net": net_name(net),
                "seeds": len(rs),
                "train": mean_std_of([100 * r.summary["final_train_error"] for r in rs]),
                "test": mean_std_of([100 * r.summary["final_eval_error"] for r in rs]),
            }
        )
    cols = [("net", "net"), ("seeds", "seeds"), ("train", "training error (%)"), ("test", "test error (%)")]
    _display(markdown_table(rows, cols))


def table2(profile: Profile, inet: dict | None) -> list[dict]:
    """Table 2 (ImageNet top-1 error, 10-crop): the paper's column, and this build's where ImageNet
    runs (``inet``: {net: Result}) were given, with Fig. 4's curves; returns their report rows."""
    from paper_repro.book import plots  # noqa: PLC0415 - matplotlib, only when drawn
    from paper_repro.paper import classification as paper  # noqa: PLC0415

    table = [{"model": k, "net": net_name(k), "paper": v} for k, v in paper.TABLE2_TOP1.items()]
    rows = []
    if inet:
        iprov = findings.provenance_of(profile, inet)
        rows = findings.table2_rows(table, inet, profile, iprov)
        icurves = {k: findings.curve(v) for k, v in inet.items()}
        panels = [
            ("plain-18/34", {k: icurves[k] for k in ("plain18", "plain34")}),
            ("ResNet-18/34", {k: icurves[k] for k in ("resnet18", "resnet34")}),
        ]
        show_figure(
            plots.training_curves(panels, findings.provenance_label(iprov)),
            "fig4_imagenet",
            profile.name,
            icurves,
            iprov,
        )
    else:
        _display("No ImageNet folder was given to this build: Table 2 below shows the paper's numbers only.")
    _display(markdown_table(table, [("net", "net"), ("paper", "top-1 error (%), Table 2"), ("ours", "this run (%)")]))
    return rows


def claim_rows(judged: list[dict], profile: Profile, by_model: dict, **kw) -> list[dict]:
    """The report page's rows for this build's verdicts."""
    prov = findings.provenance_of(profile, [r for rs in by_model.values() for r in rs])
    return [findings.claim_row(j, profile, prov, **kw) for j in judged]


def save_rows(key: str, profile: Profile, rows: list[dict]) -> None:
    """Leave the rows for the report page (``figures/<profile>/report-<key>.json``)."""
    from paper_repro.book import tables  # noqa: PLC0415

    tables.save_rows(key, profile, rows)


def table6(by_model: dict, profile: Profile, planned: bool = True) -> list[dict]:
    """Table 6: the paper's CIFAR-10 column, the published reproductions' and this build's ResNets
    (mean ± std over seeds), and the test error by depth as a figure; returns the depth rows."""
    from paper_repro.book import plots  # noqa: PLC0415 - matplotlib, only when drawn
    from paper_repro.paper import classification as paper  # noqa: PLC0415

    by_depth = {
        int(k.removeprefix("resnet")): v
        for k, v in sorted(by_model.items(), key=lambda kv: net_order(kv[0]))
        if k.startswith("resnet")
    }
    if not by_depth:
        _display("No ResNet in this experiment: Table 6 below shows the paper's and the published numbers only.")
    rows = findings.depth_rows(by_depth)
    results = [r for rs in by_depth.values() for r in rs]
    _display(markdown_table(ev.table6_rows(rows), ev.TABLE6_COLUMNS))
    m, s = paper.TABLE6_RESNET110_MEAN_STD
    _display(
        f"Paper, ResNet-110 over 5 runs: {m} ± {s}%."
        + (f" This build: {label_of(profile, results)}." if results else "")
    )
    if results:
        prov = findings.provenance_of(profile, results)
        _display(markdown_table(rows, findings.DEPTH_COLUMNS))
        fig = plots.error_by_depth(rows, findings.provenance_label(prov))
        _figure(fig, "table6_error_by_depth", profile, rows, prov, planned)
    return rows


def fashion_depth(records: list[dict]) -> None:
    """Depth on Fashion-MNIST: the published table beside this project's longest committed runs and
    its runs at the paper's full length."""
    table, columns, note = ev.fashion_table(records)
    _display(markdown_table(table, columns) + "\n\n" + note + "\n\n" + ev.full_length_comparison(records, label=False))
    full = ev.paper_length_resnets(records)
    if full is not None:
        _display(
            f"**Fig. 6, the ResNets at the paper's length** ({full.iterations} iterations): every seed "
            "measured so far, their mean, and where there are several, their spread."
        )
        _show(ev.fig6_figure(full)[0])


def depth_overtake(records: list[dict], by_model: dict | None = None, profile: Profile | None = None) -> list[dict]:
    """Where ResNet-56's training error first falls below ResNet-20's during training, at every
    committed schedule with curves of both, or that it never does (a sentence and a table), then
    the same for this build's (or the reader's) runs in ``by_model`` ({net: [Result]}) where it has
    both nets; returns the committed rows (:func:`evidence.overtake_rows`)."""
    rows = ev.overtake_rows(records)
    if rows:
        _display(ev.overtake_sentence(rows, label=False))
        _display(markdown_table(ev.overtake_table(rows), ev.OVERTAKE_COLUMNS))
        _display(f"Differences in points, ResNet-56 minus ResNet-20. Measured with {ev.overtake_label(rows)}.")
        _show(ev.overtake_figure(rows))
    else:
        _display("No committed schedule has training curves of ResNet-20 and ResNet-56 with a common seed yet.")
    mine = {net: (by_model or {}).get(net, []) for net in ("resnet56", "resnet20")}
    if all(mine.values()) and profile is not None:
        results = [r for rs in mine.values() for r in rs]
        own = ev.overtake_rows([findings.curve_record(r) for r in results])
        label = findings.provenance_label(findings.provenance_of(profile, results))
        if own:
            sentence = ev.overtake_sentence(own, label=False, where="these runs")
            _display(f"In this build's runs: {sentence} This build: {label}.")
    return rows


def warmup(runs: list) -> None:
    """When each ResNet-110 run's 0.01 warm-up ended (§4.2: about 400 iterations in the paper)."""
    _display(findings.warmup_sentences(runs))


def fig6_right(profile: Profile, deep: dict) -> list[dict]:
    """Fig. 6 right: ResNet-110 against ResNet-1202 ({net: Result}); returns their report rows."""
    from paper_repro.book import plots  # noqa: PLC0415 - matplotlib, only when drawn

    if not deep:
        _display(
            "Fig. 6 right is the profile's plan only (ResNet-110 and ResNet-1202); leave `nets` at None to run it."
        )
        return []
    prov = findings.provenance_of(profile, deep)
    curves = {k: findings.curve(v) for k, v in deep.items()}
    _display(findings.deep_sentence(profile, deep))
    title = "ResNet-" + "/".join(k.removeprefix("resnet") for k in deep)
    show_figure(
        plots.training_curves([(title, curves)], findings.provenance_label(prov)),
        "fig6_right_deep",
        profile.name,
        curves,
        prov,
    )
    return findings.deep_report_rows(profile, deep, prov)


def depth_report(profile: Profile, rows: list[dict], judged: list[dict], by_model: dict) -> list[dict]:
    """Chapter 3's report rows: Table 6 per depth and the depth verdicts."""
    results = [r for rs in by_model.values() for r in rs]
    prov = findings.provenance_of(profile, results)
    return findings.cifar_report_rows(profile, rows, prov) + [findings.claim_row(j, profile, prov) for j in judged]


def fig7(records: list[dict], responses: dict, chapter_runs, profile: Profile, images: int) -> None:
    """Fig. 7 at the longest committed schedule with 3 seeds per net (mean of the seeds, shaded min
    to max), with ``responses`` ({net: [std per 3x3 layer]} of ``chapter_runs``' first seeds,
    measured on ``images`` test images) drawn on it as thin dotted series; then the committed
    verdicts' table. The plan's figure is saved under ``figures/<profile>/``."""
    from paper_repro.book import plots  # noqa: PLC0415 - matplotlib, only when drawn

    runs, keep = chapter_runs.first(), chapter_runs.planned

    longest = ev.longest(records, ev.FIG7_NETS, ("fig7",))
    prov = {**findings.provenance_of(profile, runs), "response_images": images}
    iters = "/".join(map(str, sorted({r.config.iterations for r in runs.values()})))
    mine = f"this build, {iters} it."
    build = findings.provenance_label(prov) + f" · responses on {images} test images"
    if longest is None:
        _display(ev.missing(records, ev.FIG7_NETS, ("fig7",)) + " This figure shows this build's runs alone.")
        fig = plots.layer_responses(responses, build)
        _figure(fig, "fig7_layer_responses", profile, responses, prov, keep)
        return
    f7 = ev.fig7_data(longest)
    shown = {**f7["responses"], **{f"{k} ({mine})": v for k, v in responses.items()}}
    label = (
        longest.label()
        + f" · responses on {'/'.join(map(str, f7['images']))} test images, mean of the seeds"
        + f"\nthin dotted: {build}"
    )
    fig = plots.layer_responses(shown, label, f7["bands"], spread=ev.SPREAD)
    _figure(fig, "fig7_layer_responses", profile, shown, {"build": prov, "committed": longest.provenance()}, keep)
    response_table(f7["means"], f7["gammas"], f"the committed runs of {longest.iterations} iterations")


def response_table(means: dict, gammas: dict, where: str = "this build") -> None:
    """Per net: the mean layer response and the mean |gamma| of the BN layers it follows."""
    _display(
        markdown_table(findings.response_rows(means, gammas), findings.RESPONSE_COLUMNS)
        + "\n\n"
        + findings.gamma_sentence(means, gammas, where)
    )


def fig7_shipped(responses: dict, metas: list[dict], records: list[dict], profile: Profile, images: int) -> None:
    """Fig. 7 of the trained nets that ship with the book ({net: [std per 3x3 layer]}), labelled
    with the runs they came from (their records: data set, iterations, seed, precision, commit,
    hardware)."""
    from paper_repro.book import plots  # noqa: PLC0415 - matplotlib, only when drawn

    by_hash = {r["config_hash"]: r for r in records}
    used = [by_hash[m["config_hash"]] for m in metas if m["net"] in responses and m["config_hash"] in by_hash]
    if not used:
        _display("No shipped net matches a committed record.")
        return
    prov = {
        "source": "the trained nets in figures/scale-map/weights",
        "nets": sorted(responses, key=net_order),
        "dataset": sorted({r["dataset"] for r in used}),
        "iterations": sorted({r["iterations"] for r in used}),
        "seeds": sorted({r["seed"] for r in used}),
        "precision": sorted({r["precision"] for r in used}),
        "commit": sorted({r["commit"] for r in used}),
        "hardware": sorted({r["hardware"] for r in used}),
        "response_images": images,
    }
    label = " · ".join(
        [
            "shipped nets",
            "/".join(dataset_name(d) for d in prov["dataset"]),
            "/".join(map(str, prov["iterations"])) + " iterations",
            "seed " + ", ".join(map(str, prov["seeds"])),
            "/".join(prov["precision"]),
            "commit " + ", ".join(prov["commit"]),
            "; ".join(prov["hardware"]),
            f"responses on {images} test images",
        ]
    )
    show_figure(plots.layer_responses(responses, label), "fig7_shipped", profile.name, responses, prov)


# --------------------------------------------------------------------------- chapter 7: the scale map
def map_answer(records: list[dict]) -> dict:
    """Where each claim of the map first held, and what its longest schedule with 3 seeds per net
    says, in numbers, with where the records were measured. Returns the claims' points (per claim,
    one judged point per schedule length)."""
    from paper_repro.book import scale_map as sm  # noqa: PLC0415
    from paper_repro.runs import records as rec  # noqa: PLC0415

    points = sm.claim_points(records, sm.MAP_CLAIMS + sm.RESPONSE_CLAIMS)
    if not records:
        _display("No scale-map points yet: `python -m paper_repro scale-map` measures them.")
        return points
    _display("\n\n".join(sm.summary_sentences(points)))
    _display(f"Measured with {rec.label(rec.provenance(rec.latest(records)))}.")
    return points


def scale_map(records: list[dict], points: dict, profile: Profile, keep: bool = True) -> None:
    """The map, explorable (every net's errors and responses, and each claim's difference with its
    95% interval, against the schedule length); the static panels of every claim are saved beside
    their data as ``figures/<profile>/scale_map`` for the README and for print where ``keep``."""
    if not records:
        return
    from IPython.display import display  # noqa: PLC0415 - optional: only inside a notebook kernel

    from paper_repro.book import explore, plots  # noqa: PLC0415 - matplotlib and plotly, only when drawn
    from paper_repro.runs import records as rec  # noqa: PLC0415

    if keep:
        prov = rec.provenance(rec.latest(records))
        save_figure(plots.scale_map(points, rec.label(prov)), "scale_map", profile.name, points, prov)
    display(explore.scale_map(records))


def map_tables(records: list[dict], points: dict) -> None:
    """Each claim's verdict at each length (difference and 95% interval), then each net's final test
    and training errors at each length (mean ± std over its seeds)."""
    from paper_repro.book import scale_map as sm  # noqa: PLC0415

    if not records:
        return
    rows, columns = sm.verdict_rows(points)
    _display(
        markdown_table(rows, columns) + "\n\nEach cell: the verdict, the difference of the means (a − b) and its 95% "
        "Welch interval; errors in percentage points, responses in std units. The rule: " + claims.RULE + "."
    )
    quantities = (("final_eval_error", "Final test error (%)"), ("final_train_error", "Final training error (%)"))
    for quantity, what in quantities:
        rows, columns = sm.net_rows(records, quantity)
        _display(f"**{what}**\n\n" + markdown_table(rows, columns))


def precision_control(records: list[dict]) -> None:
    """The depth claims in the map's precision beside the control's (fp32), and whether the verdict
    changes, in one sentence (or how far the control has got)."""
    from paper_repro.book import scale_map as sm  # noqa: PLC0415

    rows, columns = sm.precision_rows(records)
    _display((markdown_table(rows, columns) + "\n\n" if rows else "") + sm.precision_sentence(records))
