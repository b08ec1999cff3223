# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Report: every reproduced number beside the paper's
#
# One row per number this project reproduces: the paper's value (with its table or figure), the
# value measured by this build, and, for each claim of §4, the verdict of the book's one rule (see
# the introduction). The rows are written by the chapters from their runs in the run store
# (`figures/<profile>/report-*.json`); nothing here is typed by hand. Where seeds repeat, the
# measured value is the mean ± std over them, with n; for a claim it is the difference of the means
# with its 95% Welch interval in brackets. The profile, data set, iterations, seeds, commit and
# hardware behind every row are in the collapsible table under it.

# %% tags=["parameters", "remove-cell"]
profile = "cpu"

# %% tags=["hide-cell"]
from IPython.display import Markdown, display

from paper_repro.book import findings
from paper_repro.book.report import collect_rows, missing_chapters, report_markdown
from paper_repro.experiments import runs as ex

P = ex.setup(profile)
rows = collect_rows(P.name)

# %% tags=["remove-input"]
display(Markdown(report_markdown(rows)))
missing = missing_chapters(P.name)
display(Markdown(f"{len(rows)} rows from profile `{P.name}`."
                 + (" No rows yet from: " + ", ".join(missing) + " (execute those chapters with this profile first)."
                    if missing else "")))

# %% tags=["remove-input"]
display(Markdown(findings.scale_note(P)))
