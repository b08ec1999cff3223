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
# > "Fig. 7 shows the standard deviations (std) of the layer responses. The responses are the
# > outputs of each 3×3 layer, after BN and before other nonlinearity (ReLU/addition). [...] Fig. 7
# > shows that ResNets have generally smaller responses than their plain counterparts. These results
# > support our basic motivation (Sec. 3.1) that the residual functions might be generally closer to
# > zero than the non-residual functions. We also notice that the deeper ResNet has smaller
# > magnitudes of responses [...] When there are more layers, an individual layer of ResNets tends to
# > modify the signal less." (§4.2)
#
# **Your experiment.** Left at `None`, the parameters mean the profile's plan (the nets of the
# degradation chapter, read back from the run store); set them to measure other nets.

# %% tags=["parameters", "hide-cell"]
profile = "cpu"  # smoke: seconds; cpu: this machine; full: the paper's scale, a GPU
nets = None  # e.g. ["plain20", "resnet20", "resnet110"]; None: the profile's plan
iterations = None  # e.g. 2000; None: the profile's length (the paper's: 64000)
seeds = None  # e.g. [0, 1, 2]; None: the profile's seeds

# %% tags=["hide-cell"]
from paper_repro.book import chapter
from paper_repro.book.source import show_source
from paper_repro.experiments import runs as ex
from paper_repro.experiments.shipped import shipped_responses
from paper_repro.models.measure import layer_responses
from paper_repro.runs.records import net_order
from paper_repro.runs.records import read as read_records
from paper_repro.runs.weights import load_trained, shipped, shipped_together

P = ex.setup(profile, nets=nets, iterations=iterations, seeds=seeds)

# %% [markdown]
# ## What is measured
#
# Forward hooks on the BN that follows each 3×3 convolution collect the std of its output over all
# test images, positions and channels, in layer order:

# %%
show_source(layer_responses)

# %% [markdown]
# ## Train, then measure

# %%
runs = ex.train_nets(P, "04_responses", nets, iterations, seeds)
responses = ex.responses(runs.first(), P.response_images)  # per net (first seed): std per 3x3 layer

# %% [markdown]
# ## Fig. 7
#
# The strongest evidence first: every committed scale-map record carries its final net's response
# std per 3×3 layer and the |γ| of the BN each response follows. The figure is drawn at the longest
# schedule where plain-20/56 and ResNet-20/56 each have 3 seeds (the mean of the seeds; shaded: min
# to max), with the nets just measured drawn on it as thin dotted lines; plain nets dashed, ResNets
# solid.

# %%
records = read_records()  # every committed scale-map run
chapter.fig7(records, responses, runs, P, P.response_images)

# %% [markdown]
# ## Fig. 7 from the trained nets that ship with the book
#
# The book ships the final weights of its longest runs that still have checkpoints
# (`figures/scale-map/weights/`, safetensors: weights only, so loading one runs no code). One call
# loads a trained net, with the run it came from:

# %%
model, meta = load_trained("resnet56")
{k: meta[k] for k in ("net", "seed", "iterations", "precision", "final_eval_error", "config_hash", "commit")}

# %% [markdown]
# Fig. 7 measured on the shipped nets, in seconds, with the same hooks: the nets of seed 0 at the one
# schedule most of them ship at, so that no net is set beside one trained far longer:

# %%
metas = shipped_together(shipped())
nets_shipped = sorted({m["net"] for m in metas}, key=net_order)
schedule = {"iterations": metas[0]["iterations"], "precision": metas[0]["precision"]}
chapter.fig7_shipped(shipped_responses(nets_shipped, P.response_images, **schedule), metas, records, P,
                     P.response_images)

# %% [markdown]
# ## The verdicts
#
# Per net and seed, the mean over its 3×3 layers of each layer's response std; the verdicts compare
# those means over the seeds, at the longest committed schedule and in the runs just trained.

# %%
by_model = runs.seeds(nets=nets or ["plain20", "plain56", "resnet20", "resnet56"])
means, gammas = ex.response_means(by_model, P.response_images)
judged = chapter.verdicts(["responses_plain20", "responses_plain56", "responses_depth"], records, by_model, P,
                          values=means, unit="")

# %% [markdown]
# ## What the responses measure at this scale
#
# The paper's definition (after BN, before the ReLU or the addition) makes every response pass
# through BN's affine step, whose scale γ starts at 1 (§3.4: BN after every convolution; He
# initialisation). Beside each net's responses, the mean |γ| of the same BN layers:

# %%
chapter.response_table(means, gammas)

# %% tags=["remove-cell"]
if runs.planned:  # the report page collects the profile's plan, not a reader's own experiment
    chapter.save_rows("responses", P, chapter.claim_rows(judged, P, by_model, unit="std", scale=1.0))
