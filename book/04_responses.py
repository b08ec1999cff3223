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
# `paper_repro.analysis.layer_responses` measures exactly that with forward hooks on the BN
# that follows each 3×3 convolution, accumulating the std over all test images, positions and
# channels.

# %% tags=["parameters", "remove-cell"]
profile = "cpu"

# %% tags=["hide-cell"]
from IPython.display import Image, Markdown, display

from paper_repro import experiments as ex
from paper_repro import plots
from paper_repro.figures import save_figure

P = ex.setup(profile)
names = ["plain20", "plain56", "resnet20", "resnet56"] + (["resnet110"] if 110 in P.cifar_depths else [])
runs = ex.train(P, names, "cifar")  # the nets of the degradation chapter: read back from the run store
prov = ex.provenance_of(P, runs)
resp = ex.responses(runs, P.response_images)
prov["response_images"] = min(P.response_images, prov["eval_images"])
print(ex.label(prov), f"· responses on {prov['response_images']} test images")

# %% tags=["remove-input"]
fig = plots.layer_responses(resp, ex.label(prov) + f" · responses on {prov['response_images']} test images")
png = save_figure(fig, "fig7_layer_responses", P.name, resp, prov)
Image(filename=png)

# %% [markdown]
# ## Both findings, checked in numbers
#
# Per net and seed, the mean over its 3×3 layers of each layer's response std; the verdicts compare
# those means over every seed the profile runs (the book's rule: see the introduction).

# %% tags=["remove-input"]
seeds = ex.seed_runs(P, ["plain20", "plain56", "resnet20", "resnet56"], verbose=False)
sprov = ex.provenance_of(P, [r for rs in seeds.values() for r in rs])
means, gammas = ex.response_means(seeds, P.response_images)
judged = ex.judge_all(("responses_plain20", "responses_plain56", "responses_depth"), seeds, means)
display(Markdown(ex.markdown_table(ex.response_rows(means, gammas), ex.RESPONSE_COLUMNS)))
display(Markdown("\n\n".join(ex.claim_sentence(j, unit="", scale=1.0) for j in judged)))

# %% [markdown]
# ## What the responses measure at this scale
#
# The paper's definition (after BN, before the ReLU or the addition) makes every response pass
# through BN's affine step, whose scale γ starts at 1 (§3.4: BN after every convolution; He
# initialisation). Beside each net's responses, the mean |γ| of the same BN layers:

# %% tags=["remove-input"]
display(Markdown(ex.gamma_sentence(means, gammas)))

# %% tags=["remove-cell"]
ex.save_rows("responses", P, [ex.claim_row(j, P, sprov, unit="std", scale=1.0) for j in judged]);
