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
# **The claim.** On CIFAR-10 the ResNets' test error falls with depth: 8.75% (20 layers), 7.51%
# (32), 7.17% (44), 6.97% (56), 6.43% (110; 6.61 ± 0.16 over 5 runs). ResNet-1202 (19.4M
# parameters) still trains to below 0.1% training error, but tests at 7.93%, worse than
# ResNet-110: the paper attributes this to overfitting (Table 6, Fig. 6 right).
#
# ResNet-110 and ResNet-1202 start with lr 0.01 until the training error is below 80% (about 400
# iterations in the paper), then go back to 0.1 (§4.2). The table reports each depth's final test
# error, mean ± std over the profile's seeds where it repeats a depth.

# %% tags=["parameters", "remove-cell"]
profile = "cpu"

# %% tags=["hide-cell"]
from IPython.display import Markdown, display

from paper_repro.book import evidence as ev
from paper_repro.book import findings, plots, tables
from paper_repro.book.figures import show_figure
from paper_repro.book.source import show_source
from paper_repro.book.tables import markdown_table
from paper_repro.classification.train import WarmupRule, learning_rate
from paper_repro.experiments import runs as ex
from paper_repro.paper import classification as paper
from paper_repro.runs.records import read as read_records

P = ex.setup(profile)
planned = ex.chapter_runs(P, "03_depth")  # the plan's runs for this chapter, trained or read back
by_depth = {d: planned.seeds(P.iterations)[f"resnet{d}"] for d in P.cifar_depths}
all_runs = [r for rs in by_depth.values() for r in rs]
prov = findings.provenance_of(P, all_runs)
print(findings.provenance_label(prov))

# %% [markdown]
# ## Table 6, beside published reproductions and this build
#
# The paper's column (CIFAR-10, Table 6), the published reproductions on CIFAR-10 (each with its
# source and how many runs stand behind its number; akamaster's README numbers are single best
# runs chosen on the test set, with ImageNet normalisation and 200 epochs), and this build's
# column (its profile, data and schedule in the line below the table).

# %% tags=["remove-input"]
rows = findings.depth_rows(by_depth)
display(Markdown(markdown_table(ev.table6_rows(rows), ev.TABLE6_COLUMNS)))
display(Markdown(f"Paper, ResNet-110 over 5 runs: {paper.TABLE6_RESNET110_MEAN_STD[0]} ± "
                 f"{paper.TABLE6_RESNET110_MEAN_STD[1]}%. This build: {findings.provenance_label(prov)}."))
display(Markdown(markdown_table(rows, findings.DEPTH_COLUMNS)))
show_figure(plots.error_by_depth(rows, findings.provenance_label(prov)), "table6_error_by_depth", P.name, rows, prov);

# %% [markdown]
# ## Depth on Fashion-MNIST: the published table and this project's longest runs
#
# This project's long runs are on Fashion-MNIST, not CIFAR-10. A published depth table on
# Fashion-MNIST with a long schedule says what this data can show: there, ResNets deeper than 20
# layers do not test better. Beside it, this project's longest committed Fashion-MNIST runs (the
# scale map, 3 seeds per net) and, where there are any, its runs at the paper's full length
# (64,000 iterations, §4.2), each with its number of seeds.

# %% tags=["remove-input"]
records = read_records()
fashion, fashion_columns, fashion_note = ev.fashion_table(records)
display(Markdown(markdown_table(fashion, fashion_columns)))
display(Markdown(fashion_note))
display(Markdown(ev.full_length_comparison(records, label=False)))

# %% [markdown]
# ## The finding, in this run's numbers

# %% tags=["remove-input"]
by_model = {f"resnet{d}": rs for d, rs in by_depth.items()}
judged = findings.judge_all(("deeper_resnet_56", "deeper_resnet_110"), by_model)
display(Markdown("\n\n".join(findings.claim_sentence(j) for j in judged) + "\n\n" + findings.scale_caveat(P, prov)))
long56 = ev.judge_longest("deeper_resnet_56", records)
display(Markdown(
    f"At the longest committed schedule: {findings.claim_sentence(long56).rstrip('.')} ({long56['schedule'].label()})."
    if long56 else ev.missing(records, ("resnet20", "resnet56"))))

# %% [markdown]
# ## The schedule and the warm-up of ResNet-110 (§4.2)
#
# The learning rate of every run, and the rule that ends the 0.01 warm-up of ResNet-110/1202, as
# the package implements them (the source shown is the code that runs):

# %% tags=["remove-input"]
show_source(learning_rate, WarmupRule)

# %% tags=["remove-input"]
display(Markdown(findings.warmup_sentences(by_depth.get(110, []))))

# %% [markdown]
# ## Fig. 6 right: ResNet-110 against ResNet-1202

# %% tags=["remove-input"]
deep = planned.first(P.deep_iterations, [f"resnet{d}" for d in P.deep_depths])
dprov = findings.provenance_of(P, deep)
deep_curves = {k: findings.curve(v) for k, v in deep.items()}
display(Markdown(findings.deep_sentence(P, deep)))
show_figure(plots.training_curves([("ResNet-" + "/".join(map(str, P.deep_depths)), deep_curves)],
                                  findings.provenance_label(dprov)),
            "fig6_right_deep", P.name, deep_curves, dprov);

# %% tags=["remove-cell"]
report = findings.cifar_report_rows(P, rows, prov) + [findings.claim_row(j, P, prov) for j in judged]
report += findings.deep_report_rows(P, deep, dprov)
tables.save_rows("depth", P, report);
