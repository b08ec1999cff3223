"""What the notebooks call: train the nets of an experiment through the run store, and turn
runs into curves, tables, findings and report rows. Notebooks hold prose and calls; this holds
the logic."""
from __future__ import annotations

import statistics
import time

import torch

from . import paper
from .analysis import layer_responses, num_parameters
from .config import Profile, get_profile
from .data import ensure_fashion_mnist, parse_dataset
from .figures import report_row, write_report_rows
from .models import build_model
from .provenance import ROOT, git_commit
from .train import Result, build_data, fit, load_model, resolve_speed

RUNS = ROOT / "runs"
DATA = ROOT / "data"
DATASET_NAMES = {"fashion-mnist": "Fashion-MNIST", "cifar10": "CIFAR-10", "synthetic": "synthetic", "imagenet": "ImageNet"}


def setup(profile: str) -> Profile:
    """The profile object; makes sure its data set is on disk (one clear error otherwise)."""
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
            r = fit(cfg, out=RUNS, data_root=str(DATA), progress=False)
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
    return {"profile": profile.name, "dataset": DATASET_NAMES.get(name, name), "train_images": s["train_images"],
            "eval_images": s["eval_images"], "eval_split": s["eval_split"],
            "iterations": sorted({r.summary["iterations_done"] for r in rs}),
            "seeds": sorted({r.summary["seed"] for r in rs}), "commit": s["commit"], "hardware": s["hardware"],
            "precision": s["precision"]}


def label(prov: dict) -> str:
    its = "/".join(map(str, prov["iterations"]))
    return (f"profile {prov['profile']} · {prov['dataset']} ({prov['train_images']} training, {prov['eval_images']} "
            f"{prov['eval_split']} images) · {its} iterations · seeds {','.join(map(str, prov['seeds']))} · "
            f"{prov['precision']} · commit {prov['commit']} · {prov['hardware']}")


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f}%"


# --------------------------------------------------------------------------- tables
def markdown_table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    """A Markdown table; ``columns`` is [(key, header)]; floats get two decimals."""
    def fmt(v):
        if v is None:
            return "–"
        if isinstance(v, float):
            return f"{v:.2f}"
        return str(v)
    head = "| " + " | ".join(h for _, h in columns) + " |"
    sep = "|" + "|".join("---" for _ in columns) + "|"
    body = ["| " + " | ".join(fmt(r.get(k)) for k, _ in columns) + " |" for r in rows]
    return "\n".join([head, sep, *body])


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
def final_errors(results: dict[str, Result]) -> dict[str, tuple[float, float]]:
    return {k: (r.summary["final_train_error"], r.summary["final_eval_error"]) for k, r in results.items()}


def depth_trend(results: dict[str, Result], kind: str) -> dict:
    """Compare the deepest and the shallowest net of a family by final training and test error.

    Returns the numbers and whether deeper was worse (the degradation of plain nets, Fig. 6 left)
    or better (ResNets, Fig. 6 middle)."""
    nets = sorted((int(k[len(kind):]), k) for k in results if k.startswith(kind))
    (_, k0), (_, k1) = nets[0], nets[-1]
    s0, s1 = results[k0].summary, results[k1].summary
    errs = [results[k].summary["final_train_error"] for _, k in nets]
    monotone_up = all(a <= b for a, b in zip(errs, errs[1:]))
    monotone_down = all(a >= b for a, b in zip(errs, errs[1:]))
    return {"shallow": k0, "deep": k1, "shallow_train": s0["final_train_error"], "deep_train": s1["final_train_error"],
            "shallow_eval": s0["final_eval_error"], "deep_eval": s1["final_eval_error"],
            "deeper_worse_train": s1["final_train_error"] > s0["final_train_error"],
            "deeper_worse_eval": s1["final_eval_error"] > s0["final_eval_error"],
            "monotone_worse": monotone_up, "monotone_better": monotone_down,
            "order": [(k, results[k].summary["final_train_error"]) for _, k in nets]}


def degradation_sentence(t: dict, kind: str) -> str:
    """The finding, in this run's numbers; says plainly when the run did not show the paper's effect."""
    base = (f"{t['deep']} ends at {pct(t['deep_train'])} training error and {pct(t['deep_eval'])} test error; "
            f"{t['shallow']} at {pct(t['shallow_train'])} and {pct(t['shallow_eval'])}. ")
    if kind == "plain":
        if t["deeper_worse_train"]:
            return base + ("The deeper plain net has the higher training error: this run shows the degradation problem "
                           "of Fig. 6 (left)" + (", at every depth in order." if t["monotone_worse"] else
                                                 ", though not in strict order of depth."))
        return base + "This run does NOT show the degradation problem: the deeper plain net trains at least as well."
    if not t["deeper_worse_train"]:
        return base + ("The deeper ResNet has the lower (or equal) training error: depth does not hurt with shortcuts"
                       + (", in strict order of depth, as in Fig. 6 (middle)." if t["monotone_better"] else
                          ", though not in strict order of depth."))
    return base + ("This run does NOT show Fig. 6 (middle)'s ordering: the deeper ResNet has the higher training "
                   "error at this schedule length.")


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


def gap_sentence(rows: list[dict], profile: Profile, prov: dict) -> str:
    """The plain-versus-ResNet finding at the deepest common depth, in this run's numbers."""
    deepest = rows[-1]
    return (f"At depth {deepest['depth']} the ResNet's training error is {abs(deepest['gap']):.2f} points "
            + ("lower" if deepest["gap"] > 0 else "higher") + f" than the plain net's ({deepest['resnet_train']:.2f}% "
            f"against {deepest['plain_train']:.2f}%). " + scale_caveat(profile, prov))


def depth_finding(rows: list[dict], profile: Profile, prov: dict) -> str:
    """Table 6's claim (test error falls with depth) checked on ``depth_rows``; says so when it does not hold,
    and names the seed-to-seed spread a difference must exceed."""
    best = min(rows, key=lambda r: r["mean"])
    ordered = all(a["mean"] >= b["mean"] for a, b in zip(rows, rows[1:]))
    spread = [r for r in rows if r["std"] is not None]
    spreads = ", ".join("±{:.2f} (ResNet-{}, {} runs)".format(r["std"], r["depth"], r["runs"]) for r in spread)
    noise = (f" Repeated runs spread by {spreads} points, which is the scale a difference between depths must "
             "exceed to count." if spread else "")
    if ordered:
        verdict = "Test error falls with every step in depth, as in Table 6."
    else:
        verdict = ("This run does NOT show Table 6's monotone trend: test error does not fall with every step in "
                   f"depth at this schedule length (lowest: ResNet-{best['depth']}).")
    return (f"{verdict} ResNet-{rows[0]['depth']}: {rows[0]['mean']:.2f}%, ResNet-{rows[-1]['depth']}: "
            f"{rows[-1]['mean']:.2f}% (paper {rows[0]['paper']}% and {rows[-1]['paper']}%).{noise} "
            + scale_caveat(profile, prov))


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
    return rows


# --------------------------------------------------------------------------- layer responses
def responses(results: dict[str, Result], n_images: int) -> dict[str, list[float]]:
    """Fig. 7 for each trained net: std of every 3x3 layer's output (after BN, before ReLU or
    the addition) on the first ``n_images`` held-out images."""
    out = {}
    for name, r in results.items():
        speed = resolve_speed(r.config)
        data = build_data(r.config, speed, str(DATA))
        model = load_model(r, speed.device)
        if speed.channels_last:
            model = model.to(memory_format=torch.channels_last)
        out[name] = list(layer_responses(model, data.eval, speed.device, max_images=n_images).values())
    return out


def response_findings(resp: dict[str, list[float]]) -> list[dict]:
    """Both findings of Fig. 7 as numbers: mean std per net; each ResNet against its plain
    counterpart; deeper ResNets against shallower ones."""
    mean = {k: statistics.fmean(v) for k, v in resp.items()}
    checks = []
    for k in mean:
        if k.startswith("resnet") and f"plain{k[6:]}" in mean:
            checks.append({"claim": f"{k} responds less than plain{k[6:]}", "left": mean[k], "right": mean[f"plain{k[6:]}"],
                           "holds": mean[k] < mean[f"plain{k[6:]}"]})
    res = sorted((int(k[6:]), k) for k in mean if k.startswith("resnet"))
    for (d0, k0), (d1, k1) in zip(res, res[1:]):
        checks.append({"claim": f"{k1} responds less than {k0}", "left": mean[k1], "right": mean[k0],
                       "holds": mean[k1] < mean[k0]})
    return checks


# --------------------------------------------------------------------------- report rows
RESPONSE_COLUMNS = [("claim", "Fig. 7 claim"), ("left", "mean std (first net)"), ("right", "mean std (second net)"),
                    ("holds", "holds in this run")]


def response_sentence(checks: list[dict], profile: Profile, prov: dict) -> str:
    """How many of Fig. 7's comparisons this run shows, naming the ones it does not."""
    failed = [c for c in checks if not c["holds"]]
    text = f"{len(checks) - len(failed)} of {len(checks)} comparisons agree with Fig. 7."
    if failed:
        text += " Not shown by this run: " + "; ".join(c["claim"] for c in failed) + "."
    return text + " " + scale_caveat(profile, prov)


def prov_row(quantity: str, paper_value: float | None, measured: float | None, unit: str, source: str,
             profile: Profile, prov: dict, note: str = "", seeds=None, dataset: str | None = None) -> dict:
    """``report_row`` labelled with the provenance of the runs behind it (``provenance_of``)."""
    return report_row(quantity, paper_value, measured, unit, source, profile.name, dataset or prov["dataset"],
                      "/".join(map(str, prov["iterations"])), prov["seeds"] if seeds is None else seeds,
                      prov["commit"], prov["hardware"], note=note)


def degradation_report_rows(plain_trend: dict, res_trend: dict, profile: Profile, prov: dict) -> list[dict]:
    """Fig. 6 left and middle as report rows: deepest minus shallowest training error, in points."""
    return [prov_row(f"plain-{plain_trend['deep'][5:]} minus plain-{plain_trend['shallow'][5:]} training error", None,
                     100 * (plain_trend["deep_train"] - plain_trend["shallow_train"]), "points",
                     "Fig. 6 left (paper: > 0)", profile, prov, note="positive = degradation shown"),
            prov_row(f"ResNet-{res_trend['deep'][6:]} minus ResNet-{res_trend['shallow'][6:]} training error", None,
                     100 * (res_trend["deep_train"] - res_trend["shallow_train"]), "points",
                     "Fig. 6 middle (paper: < 0)", profile, prov, note="negative = deeper ResNet better")]


def response_report_rows(checks: list[dict], profile: Profile, prov: dict) -> list[dict]:
    """One report row per Fig. 7 comparison: the ratio of mean stds (the paper shows it below 1)."""
    return [prov_row(c["claim"], None, c["left"] / c["right"], "ratio of mean stds", "Fig. 7 (paper: < 1)", profile,
                     prov, note="holds" if c["holds"] else "not shown")
            for c in checks]


def cifar_report_rows(profile: Profile, rows: list[dict], prov: dict) -> list[dict]:
    return [prov_row(f"ResNet-{r['depth']} test error", r["paper"], r["mean"], "%", "Table 6", profile, prov,
                     note=f"mean of {r['runs']} run(s)", seeds=r["seeds"])
            for r in rows]


def save_rows(chapter: str, profile: Profile, rows: list[dict]):
    return write_report_rows(chapter, profile.name, rows)


def commit() -> str:
    return git_commit()


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
        results[model] = r = fit(cfg.validate(), out=RUNS, data_root=str(DATA), progress=False)
        if verbose:
            how = "stored run" if r.cached else f"trained in {time.perf_counter() - t:.0f} s"
            print(f"{model:>10}: {how}; top-1 val error (10-crop) {pct(r.summary['final_eval_error'])}")
    return results
