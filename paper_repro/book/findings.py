"""Runs into what a reader sees: curves, tables, sentences in this build's numbers, the verdicts'
wording and the report rows, each labelled with where its numbers came from. Pure functions of
results already trained (``paper_repro.experiments.runs`` trains them); the chapters call both.
"""

from __future__ import annotations

import statistics

from paper_repro.book.tables import markdown_table, report_row
from paper_repro.classification.config import PROFILES, Profile
from paper_repro.models.measure import cost_ratio
from paper_repro.paper import claims
from paper_repro.paper import classification as paper
from paper_repro.runs.records import DATASET_NAMES, mean_std, net_name
from paper_repro.runs.run import Result
from paper_repro.runs.spec import scaled_milestones


def curve(result: Result) -> dict:
    m = result.metrics
    return {
        "iteration": [r["iteration"] for r in m],
        "train_error": [r["train_error"] for r in m],
        "eval_error": [r["eval_error"] for r in m],
    }


def curve_record(result: Result) -> dict:
    """A finished run as the few fields of a scale-map record that its curves are read by (net, seed,
    schedule, data set, precision, curves), so that this build's runs go through the same functions."""
    c = result.config
    return {
        "net": c.model,
        "seed": c.seed,
        "iterations": c.iterations,
        "dataset": c.dataset,
        "precision": result.summary.get("precision"),
        "curves": curve(result),
    }


def provenance_of(profile: Profile, results) -> dict:
    rs = list(results.values()) if isinstance(results, dict) else list(results)
    s = rs[0].summary
    name = s["dataset"].split(":", 1)[0]  # "imagenet:PATH" -> "imagenet"
    per_net: dict[str, set] = {}
    for r in rs:
        per_net.setdefault(r.summary.get("model", r.config.model), set()).add(r.summary["seed"])
    return {
        "profile": profile.name,
        "dataset": DATASET_NAMES.get(name, name),
        "train_images": s["train_images"],
        "eval_images": s["eval_images"],
        "eval_split": s["eval_split"],
        "final_eval_images": s.get("final_eval_images", s["eval_images"]),
        "iterations": sorted({r.summary["iterations_done"] for r in rs}),
        "seeds": sorted({r.summary["seed"] for r in rs}),
        "commit": s["commit"],
        "hardware": s["hardware"],
        "precision": s["precision"],
        "runs_per_net": {k: len(v) for k, v in per_net.items()},
    }


def seeds_label(prov: dict) -> str:
    """How many seeds stand behind each net: "seed 0", "seeds 0–2", or "seeds: ResNet-20 ×3, others ×1"."""
    seeds = prov["seeds"]
    counts = prov.get("runs_per_net") or {}
    if len(set(counts.values())) > 1:
        values = list(counts.values())
        common = max(set(values), key=values.count)
        more = [f"{net_name(k)} ×{n}" for k, n in counts.items() if n != common]
        return f"seeds: {', '.join(more)}, others ×{common}"
    if len(seeds) == 1:
        return f"seed {seeds[0]}"
    if seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"seeds {seeds[0]}–{seeds[-1]}"
    return "seeds " + ",".join(map(str, seeds))


def provenance_label(prov: dict) -> str:
    """The provenance footer of a figure: profile, data, iterations, seeds, precision, commit, hardware."""
    its = "/".join(map(str, prov["iterations"]))
    final = prov.get("final_eval_images", prov["eval_images"])
    held_out = (
        f"{prov['eval_images']} {prov['eval_split']} images"
        if final == prov["eval_images"]
        else f"final errors on {final} {prov['eval_split']} images, curves on {prov['eval_images']}"
    )
    return (
        f"profile {prov['profile']} · {prov['dataset']} ({prov['train_images']} training, {held_out}) · "
        f"{its} iterations · {seeds_label(prov)} · "
        f"{prov['precision']} · commit {prov['commit']} · {prov['hardware']}"
    )


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f}%"


# --------------------------------------------------------------------------- tables
SHORTCUT_COLUMNS = [
    ("net", "net"),
    ("option", "shortcut"),
    ("params_m", "parameters (M)"),
    ("projections", "projection shortcuts"),
    ("zero_pad", "zero-padding shortcuts"),
]


TABLE1_COLUMNS = [
    ("net", "net"),
    ("block", "block"),
    ("stages", "blocks per stage"),
    ("layers", "layers"),
    ("params_m", "params (M)"),
    ("gmacs", "mult-adds (G), ours"),
    ("paper_gmacs", "mult-adds (G), Table 1"),
    ("diff_pct", "diff. (%)"),
]


# --------------------------------------------------------------------------- findings
def plain_vs_resnet_rows(results: dict[str, Result], depths) -> list[dict]:
    """Plain against ResNet at each depth, in percent, with the training-error gap (plain minus ResNet)."""
    rows = []
    for d in depths:
        p, r = results[f"plain{d}"].summary, results[f"resnet{d}"].summary
        rows.append(
            {
                "depth": d,
                "plain_train": 100 * p["final_train_error"],
                "resnet_train": 100 * r["final_train_error"],
                "plain_eval": 100 * p["final_eval_error"],
                "resnet_eval": 100 * r["final_eval_error"],
                "gap": 100 * (p["final_train_error"] - r["final_train_error"]),
            }
        )
    return rows


PLAIN_VS_RESNET_COLUMNS = [
    ("depth", "depth"),
    ("plain_train", "plain: training error (%)"),
    ("resnet_train", "ResNet: training error (%)"),
    ("gap", "gap (points)"),
    ("plain_eval", "plain: test error (%)"),
    ("resnet_eval", "ResNet: test error (%)"),
]


def scale_caveat(profile: Profile, prov: dict) -> str:
    if profile.dataset == "cifar10" and profile.iterations == 64000:
        return f"Profile `{profile.name}` is the paper's setting: CIFAR-10, 64k iterations."
    return (
        f"Profile `{profile.name}` trains on {prov['dataset']} for {'/'.join(map(str, prov['iterations']))} "
        "iterations; the paper trains on CIFAR-10 for 64k iterations, so compare the direction of the effect, "
        "not the error values."
    )


def scale_note(profile: Profile) -> str:
    """What the profile's scale means for reading the numbers, from the profile itself."""
    if profile.dataset == "cifar10" and profile.iterations == 64000:
        return (
            f"Profile `{profile.name}` is the paper's setting: CIFAR-10, 64k iterations per net; the values "
            "can be compared with the paper's directly."
        )
    data = DATASET_NAMES.get(profile.dataset, profile.dataset)
    final = (
        f"final errors on {profile.final_eval_subset} test images"
        if profile.final_eval_subset
        else "final errors on all test images"
    )
    curves = f", curves on {profile.eval_subset}" if profile.eval_subset and not profile.final_eval_subset else ""
    subset = (
        f"{profile.train_subset} training images" if profile.train_subset else "all training images"
    ) + f"; {final}{curves}"
    return (
        f"Profile `{profile.name}` trains each net on {data} ({subset}) for {profile.iterations} iterations; the "
        "paper trains on CIFAR-10 for 64,000. Error values are not comparable with the paper's, only the "
        "direction of each effect is, and an effect counts only where its verdict says **holds**."
    )


def gap_sentence(rows: list[dict], profile: Profile, prov: dict) -> str:
    """The plain-versus-ResNet finding at the deepest common depth, in this run's numbers."""
    deepest = rows[-1]
    return (
        f"At depth {deepest['depth']} the ResNet's training error is {abs(deepest['gap']):.2f} points "
        + ("lower" if deepest["gap"] > 0 else "higher")
        + f" than the plain net's ({deepest['resnet_train']:.2f}% "
        f"against {deepest['plain_train']:.2f}%) in the runs drawn above, one seed per net; whether such a gap "
        "is more than seed noise is what the verdicts above decide. " + scale_caveat(profile, prov)
    )


def depth_rows(by_depth: dict[int, list[Result]]) -> list[dict]:
    """Table 6 rows: mean ± std of the final test error over seeds, beside the paper."""
    rows = []
    for d, rs in sorted(by_depth.items()):
        errs = [100 * r.summary["final_eval_error"] for r in rs]
        rows.append(
            {
                "depth": d,
                "net": f"ResNet-{d}",
                "params": paper.TABLE6_PARAMS.get(d),
                "paper": paper.TABLE6_ERROR.get(d),
                "mean": statistics.fmean(errs),
                "std": statistics.stdev(errs) if len(errs) > 1 else None,
                "best": min(errs),
                "runs": len(errs),
                "seeds": [r.summary["seed"] for r in rs],
                "train": 100 * statistics.fmean(r.summary["final_train_error"] for r in rs),
            }
        )
        rows[-1]["measured"] = mean_std(rows[-1]["mean"], rows[-1]["std"])
    return rows


DEPTH_COLUMNS = [
    ("net", "net"),
    ("params", "params"),
    ("paper", "paper: test error (%), CIFAR-10"),
    ("measured", "this build: test error (%)"),
    ("runs", "seeds"),
    ("best", "best seed (%)"),
    ("train", "training error (%)"),
]


def warmup_sentences(runs: list[Result]) -> str:
    """What the §4.2 warm-up did in each ResNet-110 run, in words (never a raw None)."""
    if not runs:
        return "This profile trains no ResNet-110, so there is no warm-up to show."
    out = []
    for r in runs:
        s = r.summary
        first_lr = r.metrics[0]["lr"] if r.metrics else None
        if s.get("warmup_ended_at") is None:
            what = (
                f"the warm-up at lr 0.01 had not ended after {s['iterations_done']} iterations (the training error "
                "had not yet fallen below 80%), so this run never reached lr 0.1"
            )
        else:
            what = (
                f"the warm-up at lr 0.01 ended at iteration {s['warmup_ended_at']}, when the training error fell "
                "below 80%; the lr then went back to 0.1 (paper: about 400 iterations on CIFAR-10)"
            )
        lr_note = f" (lr at the first evaluation: {first_lr:g})" if first_lr is not None else ""
        out.append(f"ResNet-110, seed {s['seed']}: {what}{lr_note}.")
    return "\n\n".join(out)


def deep_sentence(profile: Profile, deep: dict[str, Result]) -> str:
    """Fig. 6 right in this build's numbers, or why the profile does not train ResNet-1202."""
    if "resnet1202" not in deep:
        return (
            f"Profile `{profile.name}` does not train ResNet-1202 ({cost_ratio('resnet1202', 'resnet110'):.0f}× the "
            "multiply-adds of ResNet-110 per image, counted); the `smoke` profile exercises it for a few iterations "
            "and `full` trains it with the paper's schedule."
        )
    s = deep["resnet1202"].summary
    return (
        f"ResNet-1202 ends at {pct(s['final_train_error'])} training error and {pct(s['final_eval_error'])} test "
        f"error after {s['iterations_done']} iterations (paper, CIFAR-10 at 64k iterations: < 0.1% training error "
        f"(Fig. 6 right) and {paper.TABLE6_ERROR[1202]}% test error (Table 6))."
    )


def profiles_markdown() -> str:
    """The profiles as a table, read from ``classification.config.PROFILES`` (not typed)."""
    rows = []
    for p in PROFILES.values():
        train = "all" if p.train_subset is None else f"{p.train_subset:,}"
        final = "all" if p.final_eval_subset is None else f"{p.final_eval_subset:,}"
        steps = ", ".join(f"{m:,}" for m in scaled_milestones(p.iterations))
        seeds = ", ".join(f"{len(s)} at depth {d}" for d, s in p.repeats.items()) + ", 1 elsewhere"
        rows.append(
            {
                "profile": f"`{p.name}`" + (" (default)" if p.name == "cpu" else ""),
                "data": f"{DATASET_NAMES[p.dataset]}: {train} training images, final errors on {final} test images",
                "scale": f"{p.iterations:,} iterations per run (lr ÷10 at {steps}); "
                f"depths {', '.join(map(str, p.cifar_depths))}; seeds {seeds}",
                "where": p.where,
            }
        )
    return markdown_table(rows, [("profile", "profile"), ("data", "data"), ("scale", "scale"), ("where", "where")])


def deep_report_rows(profile: Profile, deep: dict[str, Result], prov: dict) -> list[dict]:
    """ResNet-1202's test error beside Table 6, and the overfitting claim (1202 vs 110)."""
    if "resnet1202" not in deep:
        return []
    s = deep["resnet1202"].summary
    rows = [
        report_row(
            "ResNet-1202 test error",
            paper.TABLE6_ERROR[1202],
            100 * s["final_eval_error"],
            "%",
            "Table 6",
            where_of(profile, prov, seeds=[s["seed"]]),
        )
    ]
    by_model = {k: [r] for k, r in deep.items()}
    return rows + [claim_row(j, profile, prov) for j in judge_all(("overfit_1202",), by_model)]


# --------------------------------------------------------------------------- layer responses
def where_of(profile: Profile, prov: dict, **override) -> dict:
    """Where the runs behind a report row were measured (``provenance_of``), for ``report_row``;
    ``override`` replaces a field (the seeds of one depth, a data set)."""
    where = {
        "profile": profile.name,
        "dataset": prov["dataset"],
        "iterations": "/".join(map(str, prov["iterations"])),
        "seeds": prov["seeds"],
        "commit": prov["commit"],
        "hardware": prov["hardware"],
    }
    return {**where, **override}


RESPONSE_COLUMNS = [
    ("net", "net"),
    ("mean", "response std, mean over layers"),
    ("gamma", "BN |γ|, mean over layers"),
    ("ratio", "std ÷ |γ|"),
    ("n", "seeds"),
]


def response_rows(means: dict[str, list[float]], gammas: dict[str, list[float]] | None = None) -> list[dict]:
    """Per net: the mean response std over its 3x3 layers (mean ± std over seeds) and, beside it,
    the mean |gamma| of the BN layers those responses are taken after."""
    rows = []
    for m, v in means.items():
        row = {
            "net": net_name(m),
            "mean": mean_std(statistics.fmean(v), statistics.stdev(v) if len(v) > 1 else None),
            "n": len(v),
        }
        if gammas and m in gammas:
            g = statistics.fmean(gammas[m])
            row.update(gamma=f"{g:.3f}", ratio=f"{statistics.fmean(v) / g:.3f}")
        rows.append(row)
    return rows


def gamma_sentence(means: dict[str, list[float]], gammas: dict[str, list[float]], where: str = "this build") -> str:
    """How far the responses are explained by BN's |gamma| at this scale, from the numbers."""
    ratios = {m: statistics.fmean(means[m]) / statistics.fmean(gammas[m]) for m in means if m in gammas}
    g = {m: statistics.fmean(v) for m, v in gammas.items()}
    lo, hi = min(ratios.values()), max(ratios.values())
    return (
        f"Each response is taken right after a BN layer, so its std is set by that layer's |γ| (and by how the "
        f"batch statistics carry over to the test images). In {where} the mean |γ| ranges from "
        f"{min(g.values()):.3f} ({net_name(min(g, key=g.get))}) to {max(g.values()):.3f} "
        f"({net_name(max(g, key=g.get))}), and the ratio of response std to |γ| from {lo:.3f} to {hi:.3f}: "
        + (
            "the responses are explained by |γ| to within "
            f"{100 * max(abs(lo - 1), abs(hi - 1)):.0f}%, so differences between nets here are differences in how "
            "far training has moved γ."
            if max(abs(lo - 1), abs(hi - 1)) < 0.25
            else "the responses differ from |γ| by more than a quarter for some nets, so they carry more than γ alone."
        )
    )


def cifar_report_rows(profile: Profile, rows: list[dict], prov: dict) -> list[dict]:
    """Table 6's test errors as report rows: mean ± std over the profile's seeds, n."""
    out = []
    for r in rows:
        row = report_row(
            f"ResNet-{r['depth']} test error",
            r["paper"],
            r["mean"],
            "%",
            "Table 6",
            where_of(profile, prov, seeds=r["seeds"]),
            note=f"mean of {r['runs']} seed(s)",
        )
        row.update(std=r["std"], n=r["runs"])
        out.append(row)
    return out


# --------------------------------------------------------------------------- claims and verdicts


def judge_runs(key: str, by_model: dict, values: dict | None = None) -> dict:
    """The verdict on claim ``key`` from the runs of its two nets (``by_model[name]`` = list of
    Results, one per seed); ``values[name]`` (list per seed) replaces the summary's quantity where
    it is not a summary field (layer responses)."""
    c = claims.BY_KEY[key]
    get = (lambda m: values[m]) if values is not None else (lambda m: [r.summary[c.quantity] for r in by_model[m]])
    return claims.judge(c, get(c.a), get(c.b))


def judge_all(keys, by_model: dict, values: dict | None = None) -> list[dict]:
    """``judge_runs`` for each claim whose two nets this build ran (the others are left out)."""
    have = set(values if values is not None else by_model)
    return [judge_runs(k, by_model, values) for k in keys if {claims.BY_KEY[k].a, claims.BY_KEY[k].b} <= have]


def claim_sentence(j: dict, unit: str = "points", scale: float = 100.0) -> str:
    """One claim's finding, in this run's numbers, with the verdict of :func:`claims.verdict`."""
    sign = ">" if j["direction"] > 0 else "<"
    return (
        f"**{j['title']}** ({j['source']}; paper: {net_name(j['a'])} − {net_name(j['b'])} "
        f"{claims.QUANTITY_NAMES[j['quantity']]} {sign} 0): {claims.describe(j, unit, scale)}."
    )


def claim_row(
    j: dict,
    profile: Profile,
    prov: dict,
    unit: str = "points",
    scale: float = 100.0,
    paper_value: float | None = None,
    seeds=None,
) -> dict:
    """A report row for a judged claim: the measured difference, its interval, n and the verdict."""
    sign = ">" if j["direction"] > 0 else "<"
    row = report_row(
        f"{net_name(j['a'])} − {net_name(j['b'])} {claims.QUANTITY_NAMES[j['quantity']]}",
        paper_value,
        scale * j["diff"],
        unit,
        f"{j['source']} (paper: {sign} 0)",
        where_of(profile, prov, **({} if seeds is None else {"seeds": seeds})),
        note=claims.describe(j, unit, scale).replace("**", ""),
    )
    row.update(
        claim=j["claim"],
        verdict=j["label"],
        n=min(j["n_a"], j["n_b"]),
        low=None if j["low"] is None else scale * j["low"],
        high=None if j["high"] is None else scale * j["high"],
    )
    return row


def table2_rows(table2: list[dict], inet: dict[str, Result], profile: Profile, prov: dict) -> list[dict]:
    """Fills Table 2's "ours" column (top-1 error, %) in place and returns its report rows: one per
    net, and the two ImageNet claims with their verdicts."""
    rows = []
    for row in table2:
        row["ours"] = 100 * inet[row["model"]].summary["final_eval_error"]
        rows.append(
            report_row(
                f"{row['net']} top-1 error",
                row["paper"],
                row["ours"],
                "%",
                "Table 2",
                where_of(profile, prov, dataset="ImageNet"),
            )
        )
    by_model = {k: [r] for k, r in inet.items()}
    for key in ("imagenet_plain", "imagenet_resnet"):
        j = claims.judge(
            key,
            [r.summary["final_eval_error"] for r in by_model[claims.BY_KEY[key].a]],
            [r.summary["final_eval_error"] for r in by_model[claims.BY_KEY[key].b]],
        )
        rows.append(claim_row(j, profile, prov))
    return rows
