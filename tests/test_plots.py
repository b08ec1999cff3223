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
