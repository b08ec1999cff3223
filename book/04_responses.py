# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Layer responses (Fig. 7)
#
# **The claim.** If the residual functions are closer to zero than the unreferenced mappings of
# a plain net, their responses should be smaller. Fig. 7 plots the standard deviation of every
# 3×3 layer's output, *after BN and before the ReLU or the addition*, on the test set: ResNets
# respond less than their plain counterparts, and the deeper the ResNet, the smaller its
# responses ("when there are more layers, an individual layer of ResNets tends to modify the
# signal less", §4.2).
#
# `paper_repro.models.measure.layer_responses` measures exactly that with forward hooks on the BN
# that follows each 3×3 convolution, accumulating the std over all test images, positions and
# channels.

# %% tags=["parameters", "remove-cell"]
profile = "cpu"

# %% tags=["hide-cell"]
from IPython.display import Markdown, display

from paper_repro.book import evidence as ev
from paper_repro.book import findings, plots, tables
from paper_repro.book.figures import show_figure
from paper_repro.book.tables import markdown_table
from paper_repro.experiments import runs as ex
from paper_repro.runs.records import read as read_records

P = ex.setup(profile)
planned = ex.chapter_runs(P, "04_responses")  # the nets of the degradation chapter: read back from the run store
runs = planned.first(P.iterations)
resp = ex.responses(runs, P.response_images)
prov = findings.provenance_of(P, runs)
prov = {**prov, "response_images": min(P.response_images, prov["eval_images"])}  # what Fig. 7 measured on
print(findings.provenance_label(prov), f"· responses on {prov['response_images']} test images")

# %% [markdown]
# ## Fig. 7 at the longest committed schedule
#
# The strongest evidence first: every record of the committed scale map written since the
# records carry Fig. 7 statistics holds its final net's response std per 3×3 layer and the |γ| of
# the BN each response follows. Below, at the longest schedule where plain-20/56 and ResNet-20/56
# each have 3 seeds with those statistics: per layer, the mean over the seeds (shaded: min to max
# over the seeds) in layer order, and sorted by magnitude; then the verdicts and the |γ| comparison.

# %% tags=["remove-input"]
records = read_records()
longest7 = ev.longest(records, ev.FIG7_NETS, ("fig7",))
if longest7 is None:
    display(Markdown(ev.missing(records, ev.FIG7_NETS, ("fig7",)) + " Until then, this chapter shows this "
                     "build's own runs only (below)."))
else:
    fig7, f7 = ev.fig7_figure(longest7)
    show_figure(fig7, "fig7_longest", "scale-map", f7, longest7.provenance())
    judged7 = [ev.judge_longest(k, records) for k in ("responses_plain20", "responses_plain56", "responses_depth")]
    display(Markdown(markdown_table(findings.response_rows(f7["means"], f7["gammas"]), findings.RESPONSE_COLUMNS)))
    display(Markdown("\n\n".join(findings.claim_sentence(j, unit="", scale=1.0) for j in judged7 if j is not None)))
    display(Markdown(findings.gamma_sentence(f7["means"], f7["gammas"],
                                             f"the runs of {longest7.iterations} iterations")))

# %% [markdown]
# ## This build's Fig. 7

# %% tags=["remove-input"]
show_figure(plots.layer_responses(resp, findings.provenance_label(prov)
                                  + f" · responses on {prov['response_images']} test images"),
            "fig7_layer_responses", P.name, resp, prov);

# %% [markdown]
# ## Both findings, checked in this build's numbers
#
# Per net and seed, the mean over its 3×3 layers of each layer's response std; the verdicts compare
# those means over every seed the profile runs (the book's rule: see the introduction).

# %% tags=["remove-input"]
seeds = planned.seeds(P.iterations, ["plain20", "plain56", "resnet20", "resnet56"])
sprov = findings.provenance_of(P, [r for rs in seeds.values() for r in rs])
means, gammas = ex.response_means(seeds, P.response_images)
judged = findings.judge_all(("responses_plain20", "responses_plain56", "responses_depth"), seeds, means)
display(Markdown(markdown_table(findings.response_rows(means, gammas), findings.RESPONSE_COLUMNS)))
display(Markdown("\n\n".join(findings.claim_sentence(j, unit="", scale=1.0) for j in judged)))

# %% [markdown]
# ## What the responses measure at this scale
#
# The paper's definition (after BN, before the ReLU or the addition) makes every response pass
# through BN's affine step, whose scale γ starts at 1 (§3.4: BN after every convolution; He
# initialisation). Beside each net's responses, the mean |γ| of the same BN layers:

# %% tags=["remove-input"]
display(Markdown(findings.gamma_sentence(means, gammas)))

# %% tags=["remove-cell"]
tables.save_rows("responses", P, [findings.claim_row(j, P, sprov, unit="std", scale=1.0) for j in judged]);
