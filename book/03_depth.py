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
# > "We explore an aggressively deep model of over 1000 layers. We set n = 200 that leads to a
# > 1202-layer network, which is trained as described above. Our method shows no optimization
# > difficulty, and this 10³-layer network is able to achieve training error <0.1% (Fig. 6, right).
# > Its test error is still fairly good (7.93%, Table 6)." (§4.2)
#
# On CIFAR-10 the ResNets' test error falls with depth (Table 6): 8.75% (20 layers), 7.51% (32),
# 7.17% (44), 6.97% (56), 6.43% (110; 6.61 ± 0.16 over 5 runs). ResNet-1202 (19.4M parameters)
# still trains to below 0.1% training error, but tests at 7.93%, worse than ResNet-110: the paper
# attributes this to overfitting.
#
# **Your experiment.** Left at `None`, the parameters mean the profile's plan; set them to train
# exactly the nets, length and seeds you want.

# %% tags=["parameters", "hide-cell"]
profile = "cpu"  # smoke: seconds; cpu: this machine; full: the paper's scale, a GPU
nets = None  # e.g. ["resnet20", "resnet32", "resnet44"]; None: the profile's plan
iterations = None  # e.g. 2000; None: the profile's length (the paper's: 64000)
seeds = None  # e.g. [0, 1, 2]; None: the profile's seeds

# %% tags=["hide-cell"]
from paper_repro.book import chapter
from paper_repro.book.source import show_source
from paper_repro.classification.train import WarmupRule, learning_rate
from paper_repro.experiments import runs as ex
from paper_repro.runs.records import read as read_records

P = ex.setup(profile, nets=nets, iterations=iterations, seeds=seeds)

# %% [markdown]
# ## The schedule, and the warm-up of ResNet-110
#
# > "We start with a learning rate of 0.1, divide it by 10 at 32k and 48k iterations, and terminate
# > training at 64k iterations [...] We further explore n = 18 that leads to a 110-layer ResNet. In
# > this case, we find that the initial learning rate of 0.1 is slightly too large to start
# > converging. So we use 0.01 to warm up the training until the training error is below 80% (about
# > 400 iterations), and then go back to 0.1 and continue training." (§4.2)
#
# The learning rate of every run, and the rule that ends the warm-up, as the package implements them:

# %%
show_source(learning_rate, WarmupRule)

# %% [markdown]
# ## Train

# %%
runs = ex.train_nets(P, "03_depth", nets, iterations, seeds)
by_model = runs.seeds(nets=nets or [f"resnet{d}" for d in P.cifar_depths])  # every seed of each net

# %% [markdown]
# ## Table 6, beside the published reproductions and this build
#
# The paper's column (CIFAR-10, Table 6), the published reproductions on CIFAR-10 (each with its
# source and how many runs stand behind its number; akamaster's README numbers are single best runs
# chosen on the test set, with ImageNet normalisation and 200 epochs), and this build's column.

# %%
rows = chapter.table6(by_model, P, planned=runs.planned)

# %% [markdown]
# ## Depth on Fashion-MNIST: the published table and this project's longest runs
#
# This project's long runs are on Fashion-MNIST, not CIFAR-10. A published depth table on
# Fashion-MNIST with a long schedule says what this data can show: there, ResNets deeper than 20
# layers do not test better. Beside it, this project's longest committed Fashion-MNIST runs (the
# scale map, 3 seeds per net; the ResNets, measured further than the plain nets, also at their own
# longest) and its runs at the paper's full length (64,000 iterations, §4.2).

# %%
records = read_records()  # every committed scale-map run
chapter.fashion_depth(records)

# %% [markdown]
# ## When does ResNet-56 start to train better than ResNet-20?
#
# In Fig. 6 (middle) the deeper ResNet's training curve lies below the shallower one's: deeper is
# better. The verdicts compare final errors only; the curves also say when, during training, the
# deeper net first gets ahead. At every committed schedule where both nets have curves of the same
# seeds: ResNet-56's training error minus ResNet-20's, averaged over those seeds and over windows
# of 1/160 of the schedule (400 iterations at the paper's 64,000); the figure draws that difference
# against the fraction of training done, one line per schedule. Then the same for the runs this
# chapter trained above, where they include both nets: set `nets = ["resnet20", "resnet56"]` and a
# longer `iterations` to ask it of your own runs.

# %%
overtake = chapter.depth_overtake(records, by_model, P)

# %% [markdown]
# ## The verdicts

# %%
judged = chapter.verdicts(["deeper_resnet_56", "deeper_resnet_110"], records, by_model, P)

# %% [markdown]
# ## When the warm-up ended

# %%
chapter.warmup(by_model.get("resnet110", []))

# %% [markdown]
# ## Fig. 6 right: ResNet-110 against ResNet-1202

# %%
deep = runs.first(P.deep_iterations, [f"resnet{d}" for d in P.deep_depths]) if runs.planned else {}
deep_rows = chapter.fig6_right(P, deep)

# %% tags=["remove-cell"]
if runs.planned:  # the report page collects the profile's plan, not a reader's own experiment
    chapter.save_rows("depth", P, chapter.depth_report(P, rows, judged, by_model) + deep_rows)
