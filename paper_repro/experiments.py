"""What the notebooks call: train the nets of an experiment through the run store, and turn
runs into curves, tables, findings and report rows. Notebooks hold prose and calls; this holds
the logic."""
from __future__ import annotations

import statistics
import time

import torch

from . import claims, paper
from .analysis import layer_responses, num_parameters
from .config import Profile, get_profile
from .data import ensure_fashion_mnist, parse_dataset
from .figures import report_row, write_report_rows
from .report import markdown_table  # noqa: F401 - the chapters call ex.markdown_table
from .models import build_model
from .provenance import ROOT
from .train import Result, build_data, fit, load_model, resolve_speed

RUNS = ROOT / "runs"
DATA = ROOT / "data"
DATASET_NAMES = {"fashion-mnist": "Fashion-MNIST", "cifar10": "CIFAR-10", "synthetic": "synthetic", "imagenet": "ImageNet"}


def setup(profile: str, **folders: str) -> Profile:
    """A chapter's first call: check its parameters (``profile`` and any data folders it declares,
    passed by name; "" = not given) with one clear line for a bad one, make sure the profile's data
    set is on disk, and return the profile."""
    from pathlib import Path

    from .config import PROFILES
    from .parameters import ParameterError, check

    check({"profile": profile, **folders}, {"profile": tuple(PROFILES)})
    for name, path in folders.items():
        if path and not Path(path).is_dir():
            raise ParameterError(f"{name} {path!r}: no such folder; give an existing folder or leave it empty")
    p = get_profile(profile)
    if p.dataset == "fashion-mnist":
        ensure_fashion_mnist(DATA)
    return p


def train(profile: Profile, models, experiment: str, seeds=(0,), iterations: int | None = None, verbose=True,
          **overrides) -> dict[str, Result]:
    """Train (or read back) every model x seed; keys are ``"resnet20"`` for seed 0 when one seed is
    asked for, else ``"resnet20/s1"``."""
    results = {}
    for model in models:
        for seed in seeds:
            cfg = profile.run_config(model, experiment, seed=seed, iterations=iterations, **overrides)
            t = time.perf_counter()
            r = fit(cfg, out=RUNS, data_root=str(DATA))
            key = model if len(seeds) == 1 else f"{model}/s{seed}"
            results[key] = r
            if verbose:
                how = "stored run" if r.cached else f"trained in {time.perf_counter() - t:.0f} s"
                print(f"{key:>16}: {how}; final training error {100 * r.summary['final_train_error']:.2f}%, "
                      f"{r.summary['eval_split']} error {100 * r.summary['final_eval_error']:.2f}%  ({r.run_dir.name})")
    return results


def curve(result: Result) -> dict:
    m = result.metrics
    return {"iteration": [r["iteration"] for r in m], "train_error": [r["train_error"] for r in m],
            "eval_error": [r["eval_error"] for r in m]}


def provenance_of(profile: Profile, results) -> dict:
    rs = list(results.values()) if isinstance(results, dict) else list(results)
    s = rs[0].summary
    name, _ = parse_dataset(s["dataset"])
    per_net: dict[str, set] = {}
    for r in rs:
        per_net.setdefault(r.summary.get("model", r.config.model), set()).add(r.summary["seed"])
    return {"profile": profile.name, "dataset": DATASET_NAMES.get(name, name), "train_images": s["train_images"],
            "eval_images": s["eval_images"], "eval_split": s["eval_split"],
            "final_eval_images": s.get("final_eval_images", s["eval_images"]),
            "iterations": sorted({r.summary["iterations_done"] for r in rs}),
            "seeds": sorted({r.summary["seed"] for r in rs}), "commit": s["commit"], "hardware": s["hardware"],
            "precision": s["precision"], "runs_per_net": {k: len(v) for k, v in per_net.items()}}


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


def label(prov: dict) -> str:
    """The provenance footer of a figure: profile, data, iterations, seeds, precision, commit, hardware."""
    its = "/".join(map(str, prov["iterations"]))
    final = prov.get("final_eval_images", prov["eval_images"])
    held_out = (f"{prov['eval_images']} {prov['eval_split']} images" if final == prov["eval_images"] else
                f"final errors on {final} {prov['eval_split']} images, curves on {prov['eval_images']}")
    return (f"profile {prov['profile']} · {prov['dataset']} ({prov['train_images']} training, {held_out}) · "
            f"{its} iterations · {seeds_label(prov)} · "
            f"{prov['precision']} · commit {prov['commit']} · {prov['hardware']}")


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f}%"


# --------------------------------------------------------------------------- tables
SHORTCUT_COLUMNS = [("net", "net"), ("option", "shortcut"), ("params_m", "parameters (M)"),
                    ("projections", "projection shortcuts"), ("zero_pad", "zero-padding shortcuts")]


def shortcut_rows(depths=(34, 50)) -> list[dict]:
    """Options A, B and C (§3.3) side by side: parameters and how many shortcuts project or zero-pad."""
    from .models import ShortcutA, resnet

    rows = []
    for option in "ABC":
        for depth in depths:
            m = resnet(depth, option)
            rows.append({"net": f"ResNet-{depth}", "option": option, "params_m": num_parameters(m) / 1e6,
                         "projections": sum(1 for n, mod in m.named_modules()
                                            if n.endswith("shortcut") and isinstance(mod, torch.nn.Sequential)),
                         "zero_pad": sum(1 for mod in m.modules() if isinstance(mod, ShortcutA))})
    return rows


TABLE1_COLUMNS = [("net", "net"), ("block", "block"), ("stages", "blocks per stage"), ("layers", "layers"),
                  ("params_m", "params (M)"), ("gmacs", "mult-adds (G), ours"),
                  ("paper_gmacs", "mult-adds (G), Table 1"), ("diff_pct", "diff. (%)")]


def table1_rows() -> list[dict]:
    from .analysis import architecture_table

    rows = []
    for r in architecture_table():
        rows.append({"net": f"ResNet-{r['depth']}", "block": r["block"], "stages": "×".join(map(str, r["blocks_per_stage"])),
                     "layers": r["layers"], "params_m": r["params"] / 1e6, "gmacs": r["multiply_adds"] / 1e9,
                     "paper_gmacs": r["paper_multiply_adds"] / 1e9,
                     "diff_pct": 100 * (r["multiply_adds"] / r["paper_multiply_adds"] - 1)})
    return rows


def paper_rounding(n: int, like: str) -> str:
    """Round a parameter count as the paper rounds the value ``like`` (e.g. "0.27M", "19.4M")."""
    decimals = len(like.rstrip("M").split(".")[1]) if "." in like else 0
    return f"{n / 1e6:.{decimals}f}M"


def cifar_param_rows(depths=(20, 32, 44, 56, 110, 1202)) -> list[dict]:
    rows = []
    for d in depths:
        n = num_parameters(build_model(f"resnet{d}"))
        rows.append({"net": f"ResNet-{d}", "params": n, "ours": paper_rounding(n, paper.TABLE6_PARAMS[d]),
                     "paper": paper.TABLE6_PARAMS[d],
                     "plain_params": num_parameters(build_model(f"plain{d}"))})
    return rows


# --------------------------------------------------------------------------- findings
def plain_vs_resnet_rows(results: dict[str, Result], depths) -> list[dict]:
    """Plain against ResNet at each depth, in percent, with the training-error gap (plain minus ResNet)."""
    rows = []
    for d in depths:
        p, r = results[f"plain{d}"].summary, results[f"resnet{d}"].summary
        rows.append({"depth": d, "plain_train": 100 * p["final_train_error"], "resnet_train": 100 * r["final_train_error"],
                     "plain_eval": 100 * p["final_eval_error"], "resnet_eval": 100 * r["final_eval_error"],
                     "gap": 100 * (p["final_train_error"] - r["final_train_error"])})
    return rows


PLAIN_VS_RESNET_COLUMNS = [("depth", "depth"), ("plain_train", "plain: training error (%)"),
                           ("resnet_train", "ResNet: training error (%)"), ("gap", "gap (points)"),
                           ("plain_eval", "plain: test error (%)"), ("resnet_eval", "ResNet: test error (%)")]


def scale_caveat(profile: Profile, prov: dict) -> str:
    if profile.dataset == "cifar10" and profile.iterations == 64000:
        return f"Profile `{profile.name}` is the paper's setting: CIFAR-10, 64k iterations."
    return (f"Profile `{profile.name}` trains on {prov['dataset']} for {'/'.join(map(str, prov['iterations']))} "
            "iterations; the paper trains on CIFAR-10 for 64k iterations, so compare the direction of the effect, "
            "not the error values.")


def scale_note(profile: Profile) -> str:
    """What the profile's scale means for reading the numbers, from the profile itself."""
    if profile.dataset == "cifar10" and profile.iterations == 64000:
        return (f"Profile `{profile.name}` is the paper's setting: CIFAR-10, 64k iterations per net; the values "
                "can be compared with the paper's directly.")
    data = DATASET_NAMES.get(profile.dataset, profile.dataset)
    final = f"final errors on {profile.final_eval_subset} test images" if profile.final_eval_subset else \
        "final errors on all test images"
    curves = f", curves on {profile.eval_subset}" if profile.eval_subset and not profile.final_eval_subset else ""
    subset = (f"{profile.train_subset} training images" if profile.train_subset else "all training images") + \
        f"; {final}{curves}"
    return (f"Profile `{profile.name}` trains each net on {data} ({subset}) for {profile.iterations} iterations; the "
            "paper trains on CIFAR-10 for 64,000. Error values are not comparable with the paper's, only the "
            "direction of each effect is, and an effect counts only where its verdict says **holds**.")


def gap_sentence(rows: list[dict], profile: Profile, prov: dict) -> str:
    """The plain-versus-ResNet finding at the deepest common depth, in this run's numbers."""
    deepest = rows[-1]
    return (f"At depth {deepest['depth']} the ResNet's training error is {abs(deepest['gap']):.2f} points "
            + ("lower" if deepest["gap"] > 0 else "higher") + f" than the plain net's ({deepest['resnet_train']:.2f}% "
            f"against {deepest['plain_train']:.2f}%). " + scale_caveat(profile, prov))


def depth_rows(by_depth: dict[int, list[Result]]) -> list[dict]:
    """Table 6 rows: mean ± std of the final test error over seeds, beside the paper."""
    rows = []
    for d, rs in sorted(by_depth.items()):
        errs = [100 * r.summary["final_eval_error"] for r in rs]
        rows.append({"depth": d, "net": f"ResNet-{d}", "params": paper.TABLE6_PARAMS.get(d),
                     "paper": paper.TABLE6_ERROR.get(d), "mean": statistics.fmean(errs),
                     "std": statistics.stdev(errs) if len(errs) > 1 else None, "best": min(errs), "runs": len(errs),
                     "seeds": [r.summary["seed"] for r in rs],
                     "train": 100 * statistics.fmean(r.summary["final_train_error"] for r in rs)})
        rows[-1]["measured"] = mean_std(rows[-1]["mean"], rows[-1]["std"])
    return rows


DEPTH_COLUMNS = [("net", "net"), ("params", "params"), ("paper", "paper: test error (%), CIFAR-10"),
                 ("measured", "this build: test error (%)"), ("runs", "seeds"), ("best", "best seed (%)"),
                 ("train", "training error (%)")]


def mean_std(mean: float, std: float | None) -> str:
    return f"{mean:.2f}" if std is None else f"{mean:.2f} ± {std:.2f}"


def warmup_sentences(runs: list[Result]) -> str:
    """What the §4.2 warm-up did in each ResNet-110 run, in words (never a raw None)."""
    if not runs:
        return "This profile trains no ResNet-110, so there is no warm-up to show."
    out = []
    for r in runs:
        s = r.summary
        first_lr = r.metrics[0]["lr"] if r.metrics else None
        if s.get("warmup_ended_at") is None:
            what = (f"the warm-up at lr 0.01 had not ended after {s['iterations_done']} iterations (the training error "
                    "had not yet fallen below 80%), so this run never reached lr 0.1")
        else:
            what = (f"the warm-up at lr 0.01 ended at iteration {s['warmup_ended_at']}, when the training error fell "
                    "below 80%; the lr then went back to 0.1 (paper: about 400 iterations on CIFAR-10)")
        lr_note = f" (lr at the first evaluation: {first_lr:g})" if first_lr is not None else ""
        out.append(f"ResNet-110, seed {s['seed']}: {what}{lr_note}.")
    return "\n\n".join(out)


def deep_sentence(profile: Profile, deep: dict[str, Result]) -> str:
    """Fig. 6 right in this build's numbers, or why the profile does not train ResNet-1202."""
    if "resnet1202" not in deep:
        return (f"Profile `{profile.name}` does not train ResNet-1202 (about 11× the cost of ResNet-110 per "
                "iteration); the `smoke` profile exercises it for a few iterations and `full` trains it with the "
                "paper's schedule.")
    s = deep["resnet1202"].summary
    return (f"ResNet-1202 ends at {pct(s['final_train_error'])} training error and {pct(s['final_eval_error'])} test "
            f"error after {s['iterations_done']} iterations (paper, CIFAR-10 at 64k iterations: < 0.1% and 7.93%).")


def deep_report_rows(profile: Profile, deep: dict[str, Result], prov: dict) -> list[dict]:
    """ResNet-1202's test error beside Table 6, and the overfitting claim (1202 vs 110)."""
    if "resnet1202" not in deep:
        return []
    s = deep["resnet1202"].summary
    rows = [prov_row("ResNet-1202 test error", paper.TABLE6_ERROR[1202], 100 * s["final_eval_error"], "%", "Table 6",
                     profile, prov, seeds=[s["seed"]])]
    by_model = {k: [r] for k, r in deep.items()}
    return rows + [claim_row(j, profile, prov) for j in judge_all(("overfit_1202",), by_model)]


# --------------------------------------------------------------------------- layer responses
def _trained_net(r: Result):
    """A finished run's network on its device and its held-out loader (what Fig. 7 measures on)."""
    speed = resolve_speed(r.config)
    data = build_data(r.config, speed, str(DATA))
    model = load_model(r, speed.device)
    if speed.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model, data, speed


def responses(results: dict[str, Result], n_images: int) -> dict[str, list[float]]:
    """Fig. 7 for each trained net: std of every 3x3 layer's output (after BN, before ReLU or
    the addition) on the first ``n_images`` held-out images."""
    out = {}
    for name, r in results.items():
        model, data, speed = _trained_net(r)
        out[name] = list(layer_responses(model, data.eval, speed.device, max_images=n_images).values())
    return out


def prov_row(quantity: str, paper_value: float | None, measured: float | None, unit: str, source: str,
             profile: Profile, prov: dict, note: str = "", seeds=None, dataset: str | None = None) -> dict:
    """``report_row`` labelled with the provenance of the runs behind it (``provenance_of``)."""
    return report_row(quantity, paper_value, measured, unit, source, profile.name, dataset or prov["dataset"],
                      "/".join(map(str, prov["iterations"])), prov["seeds"] if seeds is None else seeds,
                      prov["commit"], prov["hardware"], note=note)


RESPONSE_COLUMNS = [("net", "net"), ("mean", "response std, mean over layers"), ("gamma", "BN |γ|, mean over layers"),
                    ("ratio", "std ÷ |γ|"), ("n", "seeds")]


def response_rows(means: dict[str, list[float]], gammas: dict[str, list[float]] | None = None) -> list[dict]:
    """Per net: the mean response std over its 3x3 layers (mean ± std over seeds) and, beside it,
    the mean |gamma| of the BN layers those responses are taken after."""
    rows = []
    for m, v in means.items():
        row = {"net": net_name(m), "mean": mean_std(statistics.fmean(v), statistics.stdev(v) if len(v) > 1 else None),
               "n": len(v)}
        if gammas and m in gammas:
            g = statistics.fmean(gammas[m])
            row.update(gamma=f"{g:.3f}", ratio=f"{statistics.fmean(v) / g:.3f}")
        rows.append(row)
    return rows


def gamma_sentence(means: dict[str, list[float]], gammas: dict[str, list[float]]) -> str:
    """How far the responses are explained by BN's |gamma| at this scale, from the numbers."""
    ratios = {m: statistics.fmean(means[m]) / statistics.fmean(gammas[m]) for m in means if m in gammas}
    g = {m: statistics.fmean(v) for m, v in gammas.items()}
    lo, hi = min(ratios.values()), max(ratios.values())
    return (f"Each response is taken right after a BN layer, so its std is set by that layer's |γ| (and by how the "
            f"batch statistics carry over to the test images). In this build the mean |γ| ranges from "
            f"{min(g.values()):.3f} ({net_name(min(g, key=g.get))}) to {max(g.values()):.3f} "
            f"({net_name(max(g, key=g.get))}), and the ratio of response std to |γ| from {lo:.3f} to {hi:.3f}: "
            + ("the responses are explained by |γ| to within "
               f"{100 * max(abs(lo - 1), abs(hi - 1)):.0f}%, so differences between nets here are differences in how "
               "far training has moved γ." if max(abs(lo - 1), abs(hi - 1)) < 0.25 else
               "the responses differ from |γ| by more than a quarter for some nets, so they carry more than γ alone."))


def response_means(by_model: dict[str, list[Result]], n_images: int) -> tuple[dict, dict]:
    """Fig. 7's summary per net and seed, from one load of each run's network: the mean over its
    3x3 layers of the response std, and the mean |gamma| of the BN layers those responses follow."""
    from .analysis import bn_gammas

    means, gammas = {}, {}
    for m, rs in by_model.items():
        for r in rs:
            model, data, speed = _trained_net(r)
            means.setdefault(m, []).append(
                statistics.fmean(layer_responses(model, data.eval, speed.device, max_images=n_images).values()))
            gammas.setdefault(m, []).append(statistics.fmean(bn_gammas(model).values()))
    return means, gammas


def cifar_report_rows(profile: Profile, rows: list[dict], prov: dict) -> list[dict]:
    """Table 6's test errors as report rows: mean ± std over the profile's seeds, n."""
    out = []
    for r in rows:
        row = prov_row(f"ResNet-{r['depth']} test error", r["paper"], r["mean"], "%", "Table 6", profile, prov,
                       note=f"mean of {r['runs']} seed(s)", seeds=r["seeds"])
        row.update(std=r["std"], n=r["runs"])
        out.append(row)
    return out


# --------------------------------------------------------------------------- claims and verdicts
QUANTITY_NAMES = {"final_train_error": "training error", "final_eval_error": "test error",
                  "response": "mean layer response (std)", "map50": "mAP@.5", "top1": "top-1 error"}


def net_name(model: str) -> str:
    """plain56 -> plain-56, resnet110 -> ResNet-110, vgg16 -> VGG-16 (the paper's spelling)."""
    for prefix, shown in (("resnet", "ResNet-"), ("plain", "plain-"), ("vgg", "VGG-")):
        if model.startswith(prefix):
            return shown + model[len(prefix):]
    return model


def seed_runs(profile: Profile, models, experiment: str = "cifar", iterations: int | None = None,
              verbose: bool = True) -> dict[str, list[Result]]:
    """Every seed the profile runs for each model (``Profile.seeds_for`` its depth), trained or read
    back: the samples a claim's verdict is computed from."""
    out = {}
    for m in models:
        depth = int("".join(ch for ch in m if ch.isdigit()))
        out[m] = list(train(profile, [m], experiment, seeds=profile.seeds_for(depth), iterations=iterations,
                            verbose=verbose).values())
    return out


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
    return (f"**{j['title']}** ({j['source']}; paper: {net_name(j['a'])} − {net_name(j['b'])} "
            f"{QUANTITY_NAMES[j['quantity']]} {sign} 0): {claims.describe(j, unit, scale)}.")


def claim_row(j: dict, profile: Profile, prov: dict, unit: str = "points", scale: float = 100.0,
              paper_value: float | None = None, seeds=None) -> dict:
    """A report row for a judged claim: the measured difference, its interval, n and the verdict."""
    sign = ">" if j["direction"] > 0 else "<"
    row = prov_row(f"{net_name(j['a'])} − {net_name(j['b'])} {QUANTITY_NAMES[j['quantity']]}", paper_value,
                   scale * j["diff"], unit, f"{j['source']} (paper: {sign} 0)", profile, prov,
                   note=claims.describe(j, unit, scale).replace("**", ""), seeds=seeds)
    row.update(claim=j["claim"], verdict=j["label"], n=min(j["n_a"], j["n_b"]),
               low=None if j["low"] is None else scale * j["low"], high=None if j["high"] is None else scale * j["high"])
    return row


def table2_rows(table2: list[dict], inet: dict[str, Result], profile: Profile, prov: dict) -> list[dict]:
    """Fills Table 2's "ours" column (top-1 error, %) in place and returns its report rows: one per
    net, and the two ImageNet claims with their verdicts."""
    rows = []
    for row in table2:
        row["ours"] = 100 * inet[row["model"]].summary["final_eval_error"]
        rows.append(prov_row(f"{row['net']} top-1 error", row["paper"], row["ours"], "%", "Table 2", profile, prov,
                             dataset="ImageNet"))
    by_model = {k: [r] for k, r in inet.items()}
    for key in ("imagenet_plain", "imagenet_resnet"):
        j = claims.judge(key, [r.summary["final_eval_error"] for r in by_model[claims.BY_KEY[key].a]],
                         [r.summary["final_eval_error"] for r in by_model[claims.BY_KEY[key].b]])
        rows.append(claim_row(j, profile, prov))
    return rows


def save_rows(chapter: str, profile: Profile, rows: list[dict]):
    return write_report_rows(chapter, profile.name, rows)


def train_imagenet(profile: Profile, models, path: str, verbose=True) -> dict[str, Result]:
    """Table 2 / Fig. 4 nets on an ImageNet-style folder (§3.4 transforms, 10-crop validation)."""
    results = {}
    for model in models:
        if profile.name == "full":
            # §3.4: batch 256, lr 0.1 divided by 10 "when the error plateaus", up to 60e4 iterations
            cfg = profile.run_config(model, "imagenet", dataset=f"imagenet:{path}", iterations=600000, batch_size=256)
            cfg = cfg.replace(milestones=(150000, 300000, 450000), eval_interval=5000, checkpoint_interval=5000,
                              eval_subset=None, train_subset=None)
        else:
            cfg = profile.run_config(model, "imagenet", dataset=f"imagenet:{path}", batch_size=32 if profile.name == "cpu" else 8,
                                     iterations=profile.iterations)
            cfg = cfg.replace(eval_subset=200 if profile.name == "cpu" else 16, train_subset=None)
        t = time.perf_counter()
        results[model] = r = fit(cfg.validate(), out=RUNS, data_root=str(DATA))
        if verbose:
            how = "stored run" if r.cached else f"trained in {time.perf_counter() - t:.0f} s"
            print(f"{model:>10}: {how}; top-1 val error (10-crop) {pct(r.summary['final_eval_error'])}")
    return results
