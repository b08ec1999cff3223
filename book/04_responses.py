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

# %% tags=["parameters"]
profile = "cpu"

# %%
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

# %%
fig = plots.layer_responses(resp, ex.label(prov))
png = save_figure(fig, "fig7_layer_responses", P.name, resp, prov)
Image(filename=png)

# %% [markdown]
# ## Both findings, checked in numbers (mean std over the layers)

# %%
checks = ex.response_findings(resp)
display(Markdown(ex.markdown_table(checks, ex.RESPONSE_COLUMNS)))
display(Markdown(ex.response_sentence(checks, P, prov)))
rows = ex.response_report_rows(checks, P, prov)
ex.save_rows("responses", P, rows);
