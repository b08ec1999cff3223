# ---
# jupyter:
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

# %% tags=["parameters", "remove-cell"]
profile = "cpu"

# %% tags=["hide-cell"]
from IPython.display import Image, Markdown, display

from paper_repro.book import experiments as ex
from paper_repro.book import findings
from paper_repro.book.report import markdown_table
from paper_repro.paper import classification as paper
from paper_repro.book import plots
from paper_repro.book.figures import save_figure

P = ex.setup(profile)
planned = ex.chapter_runs(P, "03_depth")  # the plan's runs for this chapter, trained or read back
by_depth = {d: planned.seeds(P.iterations)[f"resnet{d}"] for d in P.cifar_depths}
all_runs = [r for rs in by_depth.values() for r in rs]
prov = findings.provenance_of(P, all_runs)
print(findings.label(prov))

# %% [markdown]
# ## Table 6, beside the paper

# %% tags=["remove-input"]
rows = findings.depth_rows(by_depth)
display(Markdown(markdown_table(rows, findings.DEPTH_COLUMNS)))
display(Markdown(f"Paper, ResNet-110 over 5 runs: {paper.TABLE6_RESNET110_MEAN_STD[0]} ± "
                 f"{paper.TABLE6_RESNET110_MEAN_STD[1]}%. This build: {findings.label(prov)}."))
fig = plots.error_by_depth(rows, findings.label(prov))
png = save_figure(fig, "table6_error_by_depth", P.name, rows, prov)
Image(filename=png)

# %% [markdown]
# ## The finding, in this run's numbers

# %% tags=["remove-input"]
by_model = {f"resnet{d}": rs for d, rs in by_depth.items()}
judged = findings.judge_all(("deeper_resnet_56", "deeper_resnet_110"), by_model)
display(Markdown("\n\n".join(findings.claim_sentence(j) for j in judged) + "\n\n" + findings.scale_caveat(P, prov)))

# %% [markdown]
# ## The warm-up of ResNet-110 (§4.2)

# %% tags=["remove-input"]
display(Markdown(findings.warmup_sentences(by_depth.get(110, []))))

# %% [markdown]
# ## Fig. 6 right: ResNet-110 against ResNet-1202

# %% tags=["remove-input"]
deep = planned.first(P.deep_iterations, [f"resnet{d}" for d in P.deep_depths])
dprov = findings.provenance_of(P, deep)
fig6r = plots.training_curves([("ResNet-" + "/".join(map(str, P.deep_depths)), {k: findings.curve(v) for k, v in deep.items()})],
                              findings.label(dprov))
png6r = save_figure(fig6r, "fig6_right_deep", P.name, {k: findings.curve(v) for k, v in deep.items()}, dprov)
display(Markdown(findings.deep_sentence(P, deep)))
Image(filename=png6r)

# %% tags=["remove-cell"]
report = findings.cifar_report_rows(P, rows, prov) + [findings.claim_row(j, P, prov) for j in judged]
report += findings.deep_report_rows(P, deep, dprov)
ex.save_rows("depth", P, report);
