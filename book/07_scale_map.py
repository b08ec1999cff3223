# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The scale map: where each effect appears
#
# > "We compare n = {3, 5, 7, 9}, leading to 20, 32, 44, and 56-layer networks. Fig. 6 (left) shows
# > the behaviors of the plain nets. The deep plain nets suffer from increased depth, and exhibit
# > higher training error when going deeper. [...] Fig. 6 (middle) shows the behaviors of ResNets.
# > Also similar to the ImageNet cases (Fig. 4, right), our ResNets manage to overcome the
# > optimization difficulty and demonstrate accuracy gains when the depth increases." (§4.2)
#
# The paper trains every CIFAR-10 net for 64,000 iterations. A book that must build on two CPU cores
# in half an hour trains for a few hundred, and deeper nets need longer before they overtake
# shallower ones. A short build can show a claim "not shown", or even "reversed", without the paper
# being wrong. So this page does not give one verdict at one length. It follows each claim as the
# schedule grows: the difference between the two nets it compares, over three seeds, with its 95%
# Welch interval, at every schedule length measured so far.
#
# The points are the committed records, `figures/scale-map/records.jsonl`, one line per net, seed
# and schedule length. `python -m paper_repro scale-map --iterations N ...` wrote them, with the
# `cpu` profile's recipe (Fashion-MNIST, final errors on all 10,000 test images) and only the number
# of iterations changed; the lr is divided by 10 at 50% and 75% of each schedule, as in §4.2. The
# file only grows: the same command on faster hardware adds longer schedules, and every point
# records the commit and hardware that measured it.
#
# **Your experiment.** Set `lengths` (and, if you like, `nets` and `seeds`) to train your own points
# with the profile's recipe. They go to your own records file in the run store, and this page then
# draws your map below the committed one.

# %% tags=["parameters", "hide-cell"]
profile = "cpu"  # smoke: seconds; cpu: this machine; full: the paper's scale, a GPU
lengths = None  # e.g. [150, 300, 600]: schedule lengths (iterations) to train; None: the committed map only
nets = None  # e.g. ["plain20", "resnet20"]; None: plain-20/56 and ResNet-20/56
seeds = None  # e.g. [0, 1]; None: 0, 1, 2

# %% tags=["hide-cell"]
from paper_repro.book import chapter, explore
from paper_repro.experiments import runs as ex
from paper_repro.experiments.scale_map import reader_map
from paper_repro.runs import records as rec

P = ex.setup(profile, nets=nets, seeds=seeds, lengths=lengths)

# %% [markdown]
# ## The answer so far
#
# For each claim: the first length where it holds, and what the longest length with three seeds per
# net says, in numbers. A claim holds only where its interval lies on the paper's side of zero.

# %%
records = rec.read()  # the committed map: figures/scale-map/records.jsonl
points = chapter.map_answer(records)

# %% [markdown]
# ## The map
#
# The menu chooses each net's final test error, its final training error or its mean layer
# response (Fig. 7's statistic: the mean over its 3×3 layers of each layer's response std) against
# the schedule length, or one claim's difference with its 95% interval. Hovering over a point reads
# its mean over the seeds and their min and max (the bars); a click on a legend entry hides or shows
# a net, or one seed's own points.

# %%
chapter.scale_map(records, points, P)

# %% [markdown]
# ## Each claim's verdict, and each net's errors, at each length
#
# The numbers behind the map. Lengths where only some nets were measured, such as the first runs at
# the paper's 64,000 iterations, show in the error tables before any claim can be judged there.

# %%
chapter.map_tables(records, points)

# %% [markdown]
# ## Does the arithmetic's precision change the depth verdict?
#
# Every long record trains under bf16 autocast (weights and SGD stay fp32). If bf16 were what kept
# ResNet-56 behind ResNet-20 at these lengths, the depth verdicts would be the precision's, not the
# schedule's. The control trains ResNet-20 and ResNet-56 with the same recipe in fp32, at 2,400
# iterations with seeds 0 to 2 (`scale-map --precision fp32`), then at 9,600, the longest length
# where the depth claims have 3 seeds in bf16, pair by pair. Its records carry `precision: fp32` and
# their own config hash, and never join the map's seeds. Until a length has 3 seeds of each net in
# fp32 it has no verdict; the table and the sentence then give the differences seed by seed, beside
# the map's on the same seeds.
#
# The question is judged by the rule every claim follows. The precision changes a depth result only
# where the change of its difference, bf16 minus fp32, is beyond seed noise: its 95% interval (Welch's,
# over the four groups of seeds) excludes 0. Two verdict labels can differ while that change is
# within noise, when the two intervals fall on either side of 0; the sentence below names such a case.

# %%
chapter.precision_control(records)

# %% [markdown]
# ## Fig. 7 at every length measured
#
# Fig. 7 (chapter 4) from the records that carry its statistics: the menu chooses the length,
# hovering reads each layer's mean response std and the seeds' min and max.

# %%
explore.fig7(records)

# %% [markdown]
# ## Your map
#
# With `lengths` set, each of your points is trained (or read back from the run store) and appended
# to your own records file, `runs/scale-map/records-<profile>.jsonl`; the committed map is never
# written. The same calls as above then draw and judge your points.

# %%
mine = reader_map(P, nets, lengths, seeds)  # [] unless you set lengths
if mine:
    mine_points = chapter.map_answer(mine)
    chapter.scale_map(mine, mine_points, P, keep=False)
    chapter.map_tables(mine, mine_points)
