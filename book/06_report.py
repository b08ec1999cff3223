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
# # Report: every reproduced number beside the paper's
#
# One row per number this project reproduces: the paper's value (with its table or figure),
# the value measured by this build, their difference, and the profile, data set, iterations,
# seeds, commit and hardware that produced it. The rows are written by the chapters from their
# runs in the run store (`figures/<profile>/report-*.json`); nothing here is typed by hand.

# %% tags=["parameters"]
profile = "cpu"

# %%
from IPython.display import Markdown, display

from paper_repro import experiments as ex
from paper_repro.report import collect_rows, missing_chapters

P = ex.setup(profile)
rows = collect_rows(P.name)
display(Markdown(ex.markdown_table(rows, [
    ("quantity", "quantity"), ("source", "paper source"), ("paper", "paper"), ("measured", "measured"),
    ("difference", "difference"), ("unit", "unit"), ("profile", "profile"), ("dataset", "data"),
    ("iterations", "iterations"), ("seeds", "seeds"), ("commit", "commit"), ("hardware", "hardware"), ("note", "note")])))
print(f"{len(rows)} rows from profile {P.name}.")
missing = missing_chapters(P.name)
if missing:
    print("No rows yet from: " + ", ".join(missing) + " (execute those chapters with this profile first).")

# %% [markdown]
# Where the paper gives a statement rather than a number (Fig. 6, Fig. 7), the row compares the
# sign the paper shows with the measured difference or ratio. On the `cpu` profile the data set is
# Fashion-MNIST and the schedules are short: differences from the paper's CIFAR-10 error values are
# expected, and only the direction of each effect is comparable. The `full` profile trains on
# CIFAR-10 with the paper's exact schedule.
