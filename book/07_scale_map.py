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
# **The question.** The paper trains every CIFAR-10 net for 64,000 iterations. A book that must
# build on two CPU cores in half an hour trains for a few hundred, and deeper nets need longer
# before they overtake shallower ones: a short build can show a claim "not shown", or even
# "reversed", without the paper being wrong. So instead of one verdict at one length, this page
# follows each claim as the schedule grows: the difference between the two nets it compares, over
# three seeds, with its 95% Welch interval, at every schedule length measured so far.
#
# The points come from `figures/scale-map/records.jsonl`, written by
# `python -m paper_repro scale-map --iterations N ...` with the `cpu` profile's recipe (Fashion-MNIST,
# final errors on all 10,000 test images) and only the number of iterations changed; the lr is
# divided by 10 at 50% and 75% of each schedule, as in §4.2. The file is committed and only grows:
# the same command on faster hardware (a GPU) adds longer schedules, and every point records the
# commit and hardware that measured it.

# %% tags=["parameters", "remove-cell"]
profile = "cpu"

# %% tags=["hide-cell"]
from IPython.display import Markdown, display

from paper_repro.book import explore, plots, tables
from paper_repro.book import scale_map as sm
from paper_repro.book.figures import show_figure
from paper_repro.experiments import runs as ex
from paper_repro.paper import claims
from paper_repro.runs import records as rec

P = ex.setup(profile)
records = rec.read()
points = sm.claim_points(records, sm.MAP_CLAIMS + sm.RESPONSE_CLAIMS)
prov = rec.provenance(rec.latest(records))
print(f"{len(records)} points")

# %% [markdown]
# Each panel is one claim: the difference between the two nets it compares (mean over the seeds)
# with its 95% Welch interval, against the schedule length on a log scale. The green band is the
# paper's side of zero. Error claims are in percentage points; the last three panels are Fig. 7's
# layer responses (the mean over the 3×3 layers of each layer's response std), measured from the
# records that carry them (records written before the Fig. 7 statistics were kept have none).

# %% tags=["remove-input"]
if records:
    show_figure(plots.scale_map(points, rec.label(prov)), "scale_map", P.name, points, prov)
else:
    display(Markdown("No scale-map points are committed yet: `python -m paper_repro scale-map` measures them."))

# %% [markdown]
# ## Explore the map
#
# The same records, one view at a time: the menu above the plot chooses each net's final test
# error, its final training error or its mean layer response against the schedule length, or one
# claim's difference with its 95% interval. Hovering over a point reads its mean over the seeds and
# their min and max (the bars); a click on a legend entry hides or shows a net, or one seed's own
# points.

# %% tags=["remove-input"]
if records:
    display(explore.scale_map(records))

# %% [markdown]
# ## Fig. 7 at every length measured
#
# Fig. 7 (chapter 4) from the records that carry its statistics, at each schedule length they hold:
# the menu chooses the length, hovering reads each layer's mean response std and the seeds' min and
# max, and a click on a legend entry hides or shows a net or one seed.

# %% tags=["remove-input"]
if records:
    display(explore.fig7(records))

# %% [markdown]
# ## Each claim's verdict at each length

# %% tags=["remove-input"]
if records:
    rows, columns = sm.verdict_rows(points)
    display(Markdown(tables.markdown_table(rows, columns)))
    display(Markdown(
        "Each cell: the verdict, the difference of the means (a − b) and its 95% Welch interval; errors in "
        "percentage points, responses in std units. The rule: " + claims.RULE + "."
    ))

# %% [markdown]
# ## Each net's final errors at each length
#
# The absolute numbers behind the differences above: each net's final test error and final
# training error (%) at every schedule length in the records, the mean ± std over its seeds and
# their number. Lengths where only some nets were measured (the first full-length runs, at the
# paper's 64,000 iterations) show here before any claim can be judged there.

# %% tags=["remove-input"]
if records:
    for quantity, what in (("final_eval_error", "Final test error (%)"),
                           ("final_train_error", "Final training error (%)")):
        rows, columns = sm.net_rows(records, quantity)
        display(Markdown(f"**{what}**\n\n" + tables.markdown_table(rows, columns)))

# %% [markdown]
# ## Does the arithmetic's precision change the depth verdict?
#
# Every long record trains under bf16 autocast (weights and SGD stay fp32). If bf16 were what kept
# ResNet-56 behind ResNet-20 at these lengths, the depth verdicts would be the precision's, not the
# schedule's. The control trains ResNet-20 and ResNet-56 with the same recipe in fp32, at 2,400
# iterations with seeds 0 to 2 (`scale-map --precision fp32`); its records carry `precision: fp32`
# and their own config hash, and never join the map's seeds.

# %% tags=["remove-input"]
rows, columns = sm.precision_rows(records)
if rows:
    display(Markdown(tables.markdown_table(rows, columns)))
display(Markdown(sm.precision_sentence(records)))

# %% [markdown]
# ## Where each effect appeared on the hardware measured

# %% tags=["remove-input"]
display(Markdown("\n\n".join(sm.summary_sentences(points)) or "No points yet."))
display(Markdown(f"Measured with {rec.label(prov)}." if records else ""))
