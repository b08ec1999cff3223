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
from IPython.display import Image, Markdown, display

from paper_repro.book import experiments as ex
from paper_repro.book import findings
from paper_repro.book.report import markdown_table
from paper_repro.book import plots
from paper_repro.book.figures import save_figure

P = ex.setup(profile)
planned = ex.chapter_runs(P, "04_responses")  # the nets of the degradation chapter: read back from the run store
runs = planned.first(P.iterations)
prov = findings.provenance_of(P, runs)
resp = ex.responses(runs, P.response_images)
prov["response_images"] = min(P.response_images, prov["eval_images"])
print(findings.label(prov), f"· responses on {prov['response_images']} test images")

# %% tags=["remove-input"]
fig = plots.layer_responses(resp, findings.label(prov) + f" · responses on {prov['response_images']} test images")
png = save_figure(fig, "fig7_layer_responses", P.name, resp, prov)
Image(filename=png)

# %% [markdown]
# ## Both findings, checked in numbers
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
ex.save_rows("responses", P, [findings.claim_row(j, P, sprov, unit="std", scale=1.0) for j in judged]);
