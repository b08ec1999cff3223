"""plots.py: one function per figure kind."""

from paper_repro.book import findings, plots
from paper_repro.classification.config import RunConfig
from paper_repro.runs.run import Result


def fake(model, train, test, seed=0):
    s = {"final_train_error": train, "final_eval_error": test, "seed": seed}
    return Result(run_dir=None, config=RunConfig(model=model, seed=seed), summary=s)


def test_table6_plot_labels_exactly_the_depths():

    rows = findings.depth_rows(
        {20: [fake("resnet20", 0.1, 0.09)], 32: [fake("resnet32", 0.1, 0.08)], 110: [fake("resnet110", 0.1, 0.07)]}
    )
    ax = plots.error_by_depth(rows, "label").axes[0]
    ax.figure.canvas.draw()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["20", "32", "110"]
    assert [t.get_text() for t in ax.get_xticklabels(minor=True) if t.get_text()] == []


def _shown(ax):
    lo, hi = ax.get_ylim()
    ticks = ax.get_yticklabels() + ax.get_yticklabels(minor=True)
    return [t.get_text() for t in ticks if t.get_text() and lo <= t.get_position()[1] <= hi]


def test_fig7_log_axis_reads_as_plain_numbers():
    # Responses within one decade (the long schedule) and over several (a diverging plain net).
    fig = plots.layer_responses({"plain20": [0.7, 0.9, 6.0], "resnet20": [0.8, 0.9, 1.1]}, "label")
    fig.canvas.draw()
    top = fig.axes[0]
    assert _shown(top) == ["1", "2", "3", "4", "6"]  # matplotlib's default reads "10^0", "2x10^0", ...
    fig = plots.layer_responses({"plain56": [0.01, 3.0, 2.0e5]}, "label")
    fig.canvas.draw()
    assert _shown(fig.axes[0]) == ["0.01", "0.1", "1", "10", "100", "1000", "10000", "100000"]
