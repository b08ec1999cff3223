# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The degradation problem (Fig. 1, Fig. 6 left and middle, Table 2, Fig. 4)
#
# **The claim.** "With the network depth increasing, accuracy gets saturated and then degrades
# rapidly. Unexpectedly, such degradation is not caused by overfitting, and adding more layers to
# a suitably deep model leads to higher *training* error" (§1, Fig. 1). On CIFAR-10 (Fig. 6),
# plain-56 has higher training and test error than plain-20, while ResNet-56 is better than
# ResNet-20: with shortcuts, depth helps.
#
# Here we train the plain nets and ResNets of the profile's depths (the `full` profile: 20, 32, 44
# and 56 layers, and ResNet-110; the small profiles fewer, with more seeds where a claim compares
# them) with the recipe of §4.2, through the run store, and draw Fig. 6 as the paper draws it:
# training error dashed, test error bold, per iteration.

# %% tags=["parameters", "remove-cell"]
profile = "cpu"
imagenet = ""  # an ImageNet-style folder (train/ and val/) to run Table 2 / Fig. 4

# %% tags=["hide-cell"]
from IPython.display import Markdown, display

from paper_repro.book import evidence as ev
from paper_repro.book import findings, plots, tables
from paper_repro.book.figures import show_figure
from paper_repro.book.tables import markdown_table
from paper_repro.experiments import runs as ex
from paper_repro.paper import classification as paper
from paper_repro.runs.records import read as read_records

P = ex.setup(profile, imagenet=imagenet)
plain_depths = [d for d in P.cifar_depths if d <= 56]  # plain-110 is not in Fig. 6 (>60% error)
planned = ex.chapter_runs(P, "02_degradation")  # the plan's runs for this chapter, trained or read back
runs = planned.first(P.iterations)  # one run per net: the curves
seeds = planned.seeds(P.iterations, ["plain20", "plain56", "resnet20", "resnet56"])  # every seed: the verdicts
prov = findings.provenance_of(P, runs)
curves = {k: findings.curve(r) for k, r in runs.items()}  # every curve of this build, built once
print(findings.provenance_label(prov))

# %% [markdown]
# ## Fig. 6 at the longest committed schedule
#
# The strongest evidence first: the committed scale map (`figures/scale-map/records.jsonl`) keeps
# every run's curves. Below, Fig. 6 is drawn at the longest schedule where plain-20/56 and
# ResNet-20/56 each have 3 seeds with curves: plain nets left, ResNets right, the mean of the 3
# seeds with their spread shaded (min to max over the seeds), training error dashed and test error
# bold, as in the paper. The test error is on the curves' test images (the final errors of the
# records are on all 10,000). As in the paper's Fig. 6, which stops at 20%, the error axis stops
# short of the first iterations (at two and a half times the highest final test error) so that the
# end of training, where the nets separate, can be read.

# %% tags=["remove-input"]
records = read_records()
longest6 = ev.longest(records, ev.FIG6_NETS, ("curves",))
if longest6 is None:
    display(Markdown(ev.missing(records, ev.FIG6_NETS, ("curves",)) + " Until then, this chapter shows this "
                     "build's own runs only (below)."))
else:
    fig6, long_curves = ev.fig6_figure(longest6)
    show_figure(fig6, "fig6_longest", "scale-map", long_curves, longest6.provenance())
    judged_long = [ev.judge_longest(k, records) for k in ("degradation", "resnet_fixes_train", "resnet_fixes_test",
                                                           "deeper_resnet_train")]
    display(Markdown("\n\n".join(
        findings.claim_sentence(j).rstrip(".") + f" (at {j['schedule'].iterations} iterations)."
        for j in judged_long if j is not None)))

# %% [markdown]
# ## This build: Fig. 1, plain-20 against plain-56

# %% tags=["remove-input"]
fig1_nets = (f"plain{plain_depths[0]}", f"plain{plain_depths[-1]}")
fig1_title = f"plain-{plain_depths[0]} and plain-{plain_depths[-1]}"
show_figure(plots.training_curves([(fig1_title, {k: curves[k] for k in fig1_nets})], findings.provenance_label(prov)),
            "fig1_plain20_vs_plain56", P.name, {k: v for k, v in curves.items() if k.startswith("plain")}, prov);

# %% [markdown]
# ## This build: Fig. 6, left and middle, plain nets against ResNets

# %% tags=["remove-input"]
plain_curves = {k: v for k, v in curves.items() if k.startswith("plain")}
resnet_curves = {k: v for k, v in curves.items() if k.startswith("resnet")}
show_figure(plots.training_curves([("plain-" + "/".join(map(str, plain_depths)), plain_curves),
                                   ("ResNet-" + "/".join(map(str, P.cifar_depths)), resnet_curves)],
                                  findings.provenance_label(prov)),
            "fig6_plain_vs_resnet", P.name, curves, prov);

# %% [markdown]
# ## The findings, in this build's numbers
#
# Each claim compares the final errors of two nets over every seed the profile runs; the verdict
# follows the book's one rule (see the introduction): **holds** only when the 95% Welch interval
# of the difference lies on the paper's side of zero.

# %% tags=["remove-input"]
judged = [findings.judge_runs(k, seeds)
          for k in ("degradation", "resnet_fixes_train", "resnet_fixes_test", "deeper_resnet_train")]
display(Markdown("\n\n".join(findings.claim_sentence(j) for j in judged)))
pairs = findings.plain_vs_resnet_rows(runs, plain_depths)
display(Markdown(markdown_table(pairs, findings.PLAIN_VS_RESNET_COLUMNS)))
display(Markdown(findings.gap_sentence(pairs, P, prov)))

# %% tags=["remove-cell"]
sprov = findings.provenance_of(P, [r for rs in seeds.values() for r in rs])
rows = [findings.claim_row(j, P, sprov) for j in judged]

# %% [markdown]
# ## ImageNet: Table 2 and Fig. 4
#
# The paper's ImageNet comparison (top-1 error, 10-crop, ImageNet validation): plain-34 is worse
# than plain-18, ResNet-34 better than ResNet-18. Running it needs the ImageNet training and
# validation images in torchvision's `ImageFolder` layout (`PATH/train/<class>/*.JPEG`,
# `PATH/val/<class>/*.JPEG`) and, at the paper's scale, a GPU box:
# `python -m paper_repro reproduce --profile full --imagenet PATH` (or the `imagenet` parameter
# of this notebook).

# %% tags=["remove-input"]
table2 = [{"model": k, "net": findings.net_name(k), "paper": v} for k, v in paper.TABLE2_TOP1.items()]
if imagenet:
    inet = ex.train_imagenet(P, ["plain18", "plain34", "resnet18", "resnet34"], imagenet)
    iprov = findings.provenance_of(P, inet)
    rows += findings.table2_rows(table2, inet, P, iprov)
    icurves = {k: findings.curve(v) for k, v in inet.items()}
    show_figure(plots.training_curves([("plain-18/34", {k: icurves[k] for k in ("plain18", "plain34")}),
                                       ("ResNet-18/34", {k: icurves[k] for k in ("resnet18", "resnet34")})],
                                      findings.provenance_label(iprov)),
                "fig4_imagenet", P.name, icurves, iprov)
else:
    display(Markdown("No ImageNet folder was given to this build: Table 2 below shows the paper's numbers only."))
display(Markdown(markdown_table(table2, [("net", "net"), ("paper", "top-1 error (%), Table 2"),
                                         ("ours", "this run (%)")])))
tables.save_rows("degradation", P, rows);
