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
# > "With the network depth increasing, accuracy gets saturated (which might be unsurprising) and
# > then degrades rapidly. Unexpectedly, such degradation is *not caused by overfitting*, and adding
# > more layers to a suitably deep model leads to *higher training error*." (§1, Fig. 1)
#
# On CIFAR-10 (Fig. 6) plain-56 has higher training and test error than plain-20, while ResNet-56
# is better than ResNet-20: with shortcuts, depth helps. This chapter trains the plain nets and
# ResNets with the recipe of §4.2 and draws Fig. 6 as the paper draws it: training error dashed,
# test error bold, per iteration.
#
# **Your experiment.** The cell below holds the chapter's parameters. Left at `None`, they mean the
# profile's plan. Set them to train exactly what you want, for example plain-32 and ResNet-32 for
# 2,000 iterations on seeds 0 to 2; runs that finished before are read back from the run store.

# %% tags=["parameters", "hide-cell"]
profile = "cpu"  # smoke: seconds; cpu: this machine, about 10 minutes; full: the paper's scale, a GPU
nets = None  # e.g. ["plain32", "resnet32"]; None: the profile's plan
iterations = None  # e.g. 2000; None: the profile's length (the paper's: 64000)
seeds = None  # e.g. [0, 1, 2]; None: the profile's seeds
imagenet = ""  # an ImageNet-style folder (train/ and val/) to run Table 2 and Fig. 4

# %% tags=["hide-cell"]
from paper_repro.book import chapter
from paper_repro.book.source import show_source
from paper_repro.classification.train import _train as training_loop
from paper_repro.experiments import runs as ex
from paper_repro.models.cifar import cifar_plain, cifar_resnet
from paper_repro.runs.records import read as read_records

P = ex.setup(profile, nets=nets, iterations=iterations, seeds=seeds, imagenet=imagenet)

# %% [markdown]
# ## Plain nets and ResNets differ by the shortcuts only
#
# > "The plain/residual architectures follow the form in Fig. 3 (middle/right). [...] When shortcut
# > connections are used, they are connected to the pairs of 3×3 layers (totally 3n shortcuts). On
# > this dataset we use identity shortcuts in all cases (i.e., option A), so our residual models have
# > exactly the same depth, width, and number of parameters as the plain counterparts." (§4.2)
#
# The package builds both from one class: the plain net is the ResNet with `shortcut=None`.

# %%
show_source(cifar_plain, cifar_resnet)

# %% [markdown]
# ## The recipe
#
# > "We use a weight decay of 0.0001 and momentum of 0.9, and adopt the weight initialization in
# > [13] and BN [16] but with no dropout. These models are trained with a mini-batch size of 128 [...]
# > We start with a learning rate of 0.1, divide it by 10 at 32k and 48k iterations, and terminate
# > training at 64k iterations" (§4.2)
#
# This project trains on Fashion-MNIST (padded to 32×32, one channel) where CIFAR-10 cannot be
# downloaded; the nets and the recipe are the paper's.
#
# One run's full configuration under this profile (the profiles shorten the schedule and scale the
# milestones with it), and the loop that trains it, one iteration at a time:

# %%
P.run_config("plain56", "cifar", iterations=iterations)

# %% tags=["hide-output"]
show_source(training_loop)

# %% [markdown]
# ## Train
#
# Every net of the experiment, each seed: trained through the run store, or read back when it
# finished before (a killed run resumes from its last checkpoint).

# %%
runs = ex.train_nets(P, "02_degradation", nets, iterations, seeds)

# %% [markdown]
# ## Fig. 6: training on CIFAR-style nets, plain (left) and residual (right)
#
# The strongest evidence first: the committed scale map (`figures/scale-map/records.jsonl`) keeps
# every run's curves, and the figure is drawn at its longest schedule where plain-20/56 and
# ResNet-20/56 each have 3 seeds (bold and dashed: the mean of the seeds; shaded: their min to max).
# The runs just trained are drawn on it, thin and with dots; the menu's last entry zooms on them.
# The menu picks any other schedule length the records hold; a click on a net in the legend hides it
# or shows a seed's own curves;
# hovering reads the mean, min and max. As in the paper's Fig. 6, the error axis stops short of the
# first iterations so that the end of training, where the nets separate, can be read.

# %%
records = read_records()  # every committed scale-map run
chapter.fig6(records, runs, P);

# %% [markdown]
# ## The verdicts
#
# Each claim compares the final errors of two nets over their seeds: at the longest committed
# schedule, and in the runs just trained. The rule is the package's `claims.judge`.

# %%
claims = ["degradation", "resnet_fixes_train", "resnet_fixes_test", "deeper_resnet_train"]
judged = chapter.verdicts(claims, records, runs.seeds(), P)

# %%
chapter.final_errors(runs.seeds())

# %% [markdown]
# ## ImageNet: Table 2 and Fig. 4
#
# > "The results in Table 2 show that the deeper 34-layer plain net has higher validation error than
# > the shallower 18-layer plain net. [...] the situation is reversed with residual learning – the
# > 34-layer ResNet is better than the 18-layer ResNet (by 2.8%)." (§4.1)
#
# Running it needs the ImageNet training and validation images in torchvision's `ImageFolder`
# layout (`PATH/train/<class>/*.JPEG`, `PATH/val/<class>/*.JPEG`) and, at the paper's scale, a GPU
# box: set the `imagenet` parameter, or run `python -m paper_repro reproduce --profile full
# --imagenet PATH`.

# %%
inet = ex.train_imagenet(P, ["plain18", "plain34", "resnet18", "resnet34"], imagenet) if imagenet else None
table2 = chapter.table2(P, inet)

# %% tags=["remove-cell"]
if runs.planned:  # the report page collects the profile's plan, not a reader's own experiment
    chapter.save_rows("degradation", P, chapter.claim_rows(judged, P, runs.seeds()) + table2)
