# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Depth: from 20 to 1202 layers (Table 6, Fig. 6 right)
#
# **The claim.** On CIFAR-10 the ResNets' test error falls with depth: 8.75% (20 layers), 7.51%
# (32), 7.17% (44), 6.97% (56), 6.43% (110; 6.61 ± 0.16 over 5 runs). ResNet-1202 (19.4M
# parameters) still trains to below 0.1% training error, but tests at 7.93%, worse than
# ResNet-110: the paper attributes this to overfitting (Table 6, Fig. 6 right).
#
# ResNet-110 and ResNet-1202 start with lr 0.01 until the training error is below 80% (about 400
# iterations in the paper), then go back to 0.1 (§4.2). The table reports each depth's final test
# error, mean ± std over the profile's seeds where it repeats a depth.

# %% tags=["parameters"]
profile = "cpu"

# %%
from IPython.display import Image, Markdown, display

from paper_repro import experiments as ex
from paper_repro import paper, plots
from paper_repro.figures import save_figure

P = ex.setup(profile)
by_depth = {}
for d in P.cifar_depths:
    runs = ex.train(P, [f"resnet{d}"], "cifar", seeds=P.seeds_for(d))
    by_depth[d] = list(runs.values())
all_runs = {f"{r.config.model}/s{r.config.seed}": r for rs in by_depth.values() for r in rs}
prov = ex.provenance_of(P, all_runs)
print(ex.label(prov))

# %% [markdown]
# ## Table 6, beside the paper

# %%
rows = ex.depth_rows(by_depth)
display(Markdown(ex.markdown_table(rows, [("net", "net"), ("params", "params"), ("paper", "paper: test error (%), CIFAR-10"),
                                          ("mean", "this run: test error (%)"), ("std", "± std"), ("runs", "runs"),
                                          ("best", "best run (%)"), ("train", "training error (%)")])))
print(f"Paper, ResNet-110 over 5 runs: {paper.TABLE6_RESNET110_MEAN_STD[0]} ± {paper.TABLE6_RESNET110_MEAN_STD[1]}%.")
fig = plots.error_by_depth(rows, ex.label(prov))
png = save_figure(fig, "table6_error_by_depth", P.name, rows, prov)
Image(filename=png)

# %%
display(Markdown(ex.depth_finding(rows, P, prov)))

# %% [markdown]
# ## The warm-up of ResNet-110 (§4.2)

# %%
for r in by_depth.get(110, []):
    s = r.summary
    lrs = [(m["iteration"], m["lr"]) for m in r.metrics]
    print(f"ResNet-110 seed {s['seed']}: warm-up at lr 0.01 ended at iteration {s['warmup_ended_at']}; "
          f"lr at the evaluations: {lrs[:6]}{' ...' if len(lrs) > 6 else ''}")

# %% [markdown]
# ## Fig. 6 right: ResNet-110 against ResNet-1202

# %%
deep = ex.train(P, [f"resnet{d}" for d in P.deep_depths], "cifar", iterations=P.deep_iterations)
dprov = ex.provenance_of(P, deep)
fig6r = plots.training_curves([("ResNet-" + "/".join(map(str, P.deep_depths)), {k: ex.curve(v) for k, v in deep.items()})],
                              ex.label(dprov))
png6r = save_figure(fig6r, "fig6_right_deep", P.name, {k: ex.curve(v) for k, v in deep.items()}, dprov)
if 1202 in P.deep_depths:
    s = deep["resnet1202"].summary
    display(Markdown(f"ResNet-1202 ends at {ex.pct(s['final_train_error'])} training error and {ex.pct(s['final_eval_error'])} "
                     f"test error after {s['iterations_done']} iterations (paper, CIFAR-10 at 64k iterations: < 0.1% and "
                     f"7.93%)."))
else:
    display(Markdown(f"Profile `{P.name}` does not train ResNet-1202 (about 11× the cost of ResNet-110 per iteration); "
                     "the `smoke` profile exercises it for a few iterations and `full` trains it with the paper's schedule."))
Image(filename=png6r)

# %%
report = ex.cifar_report_rows(P, rows, prov)
if 1202 in P.deep_depths:
    from paper_repro.figures import report_row
    s = deep["resnet1202"].summary
    report.append(report_row("ResNet-1202 test error", paper.TABLE6_ERROR[1202], 100 * s["final_eval_error"], "%", "Table 6",
                             P.name, dprov["dataset"], s["iterations_done"], [s["seed"]], s["commit"], s["hardware"]))
ex.save_rows("depth", P, report);
