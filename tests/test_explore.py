"""explore.py: the explorable figures offer every schedule length the records hold, and their hover
reads the mean over the seeds with the seeds' min and max; nothing loads from the network."""

import re

import pytest
from fake_records import NEW, OLD

from paper_repro.book import explore, offline_plotly
from paper_repro.book import scale_map as sm
from paper_repro.runs import records

RECORDS = OLD + NEW


def shown(ex, view: int):
    """The traces the dropdown's entry ``view`` shows (True) or lists in the legend ("legendonly")."""
    visible = ex.figure.layout.updatemenus[0].buttons[view].args[0]["visible"]
    return [(t, v) for t, v in zip(ex.figure.data, visible) if v is not False]


def mean_trace(ex, view: int, name: str, dash: str = "solid"):
    (t,) = [t for t, v in shown(ex, view) if v is True and t.name == name and t.line.dash == dash and t.customdata]
    return t


# --------------------------------------------------------------------------- Fig. 6
def test_fig6_offers_every_length_with_curves_and_opens_at_the_longest_with_every_seed():
    ex = explore.fig6(RECORDS)
    assert [int(v.split()[0]) for v in ex.views] == [1200, 2400]  # 600 has no curves
    assert ex.views[1] == "2400 iterations (4 nets, 1 seed each)"
    menu = ex.figure.layout.updatemenus[0]
    assert menu.active == 0  # 1200: the longest length with 3 seeds of each net, as the static figure
    assert [t.visible for t in ex.figure.data] == menu.buttons[0].args[0]["visible"]
    assert "1200 iterations" in ex.figure.layout.title.text


def test_fig6_draws_this_builds_runs_on_every_length():
    mine = {"resnet20": {"iteration": [5, 10], "train_error": [0.5, 0.4], "eval_error": [0.55, 0.45]}}
    ex = explore.fig6(RECORDS, added=mine, added_label="this build, 10 it.")
    for view in range(len(ex.views) - 1):
        (t,) = [t for t, v in shown(ex, view) if t.legendgroup == "added-resnet20" and t.line.dash == "solid"]
        assert list(t.y) == pytest.approx([55.0, 45.0]) and list(t.x) == [5, 10]
    zoom = ex.figure.layout.updatemenus[0].buttons[-1]  # the last entry: the default length, zoomed on them
    assert ex.views[-1] == zoom.label == "1200 iterations, zoomed on this build, 10 it."
    assert zoom.args[1]["xaxis.range"] == [0, 10] and zoom.args[1]["yaxis.range"] == [0, 55.0]
    assert zoom.args[0] == ex.figure.layout.updatemenus[0].buttons[0].args[0]  # the same traces as 1200's
    footer = " ".join(a.text for a in ex.figure.layout.annotations).replace("<br>", " ")
    assert "thin with dots: this build, 10 it." in footer


def test_fig6_hover_reads_the_mean_and_the_seeds_min_and_max_in_percent():
    ex = explore.fig6(RECORDS)
    test = mean_trace(ex, 0, "plain-56")  # bold: test error
    # eval_error per seed at (10, 20): (0.25, 0.15), (0.25, 0.16), (0.25, 0.17)
    assert list(test.x) == [10, 20]
    assert list(test.y) == pytest.approx([25.0, 16.0])
    assert [tuple(c) for c in test.customdata] == [pytest.approx((25.0, 25.0)), pytest.approx((15.0, 17.0))]
    assert "mean %{y:.2f}%" in test.hovertemplate and "3 seeds" in test.hovertemplate
    assert "min %{customdata[0]:.2f}%, max %{customdata[1]:.2f}%" in test.hovertemplate
    train = mean_trace(ex, 0, "plain-56", "dash")  # dashed: training error
    assert list(train.y) == pytest.approx([100 * (0.301 + 0.1 + 0.01), 30.1])
    assert test.line.width > train.line.width  # the paper's Fig. 6: test bold


def test_fig6_each_seed_is_a_legend_entry_shown_on_a_click():
    ex = explore.fig6(RECORDS)
    seeds = [(t, v) for t, v in shown(ex, 0) if "seed" in (t.name or "")]
    assert {t.name for t, _ in seeds} == {
        f"{n} seed {s}" for n in ("plain-20", "plain-56", "ResNet-20", "ResNet-56") for s in range(3)
    }
    assert {v for _, v in seeds} == {"legendonly"}
    # one legend entry per seed toggles its training and test curves together
    assert sum(t.showlegend is not False for t, _ in seeds) == 12 and len(seeds) == 24
    assert len({t.legendgroup for t, _ in seeds}) == 12
    assert {t.xaxis for t, _ in shown(ex, 0) if t.name and t.name.startswith("plain")} == {"x"}  # plain nets left


def test_fig6_is_labelled_with_its_provenance_at_each_length():
    ex = explore.fig6(RECORDS)
    for button, n in zip(ex.figure.layout.updatemenus[0].buttons, (1200, 2400)):
        footer = button.args[1]["annotations"][-1]["text"].replace("<br>", " ")
        assert f"{n} iterations" in footer and "commit abc1234" in footer and "test cpu" in footer


# --------------------------------------------------------------------------- Fig. 7
def test_fig7_offers_every_length_with_its_statistics_and_hover_reads_mean_min_max():
    ex = explore.fig7(RECORDS)
    assert [int(v.split()[0]) for v in ex.views] == [1200, 2400]
    layer_order = [t for t, v in shown(ex, 0) if v is True and t.name == "plain-20" and t.yaxis == "y"]
    (t,) = [t for t in layer_order if t.customdata]
    # response_std per seed: [1.0, 1.0 + 0.1 * seed]
    assert list(t.y) == pytest.approx([1.0, 1.1])
    assert [tuple(c[:2]) for c in t.customdata] == [pytest.approx((1.0, 1.0)), pytest.approx((1.0, 1.2))]
    assert [c[2] for c in t.customdata] == ["a", "b"]
    (ranked,) = [t for t, v in shown(ex, 0) if v is True and t.name == "plain-20" and t.yaxis == "y2" and t.customdata]
    assert list(ranked.y) == pytest.approx([1.1, 1.0]) and [c[3] for c in ranked.customdata] == [2, 1]
    assert ex.figure.layout.yaxis.type == "log"


# --------------------------------------------------------------------------- the scale map
def test_scale_map_net_points_are_the_mean_min_and_max_over_the_seeds():
    pts = explore.net_points(RECORDS, "final_train_error")
    assert list(pts) == ["plain20", "plain56", "resnet20", "resnet56"]
    p600, p1200, p2400 = pts["plain56"]
    assert (p600["iterations"], p600["n"]) == (600, 3)
    assert (p600["mean"], p600["min"], p600["max"]) == pytest.approx((30.1, 30.0, 30.2))
    assert p2400["n"] == 1 and p2400["min"] == p2400["max"] == pytest.approx(1.0)
    assert [p["iterations"] for p in explore.net_points(RECORDS, "response")["plain20"]] == [1200, 2400]


def test_scale_map_has_a_view_per_quantity_and_per_measured_claim():
    ex = explore.scale_map(RECORDS)
    points = sm.claim_points(RECORDS, sm.MAP_CLAIMS + sm.RESPONSE_CLAIMS)
    assert len(ex.views) == 3 + sum(bool(p) for p in points.values())
    test = mean_trace(ex, 0, "plain-56", "dash")
    assert list(test.x) == [600, 1200, 2400]
    assert [tuple(c) for c in test.customdata][0] == pytest.approx((20.0, 20.0, 3))
    assert list(ex.figure.layout.xaxis.tickvals) == [600, 1200, 2400]
    claim = next(i for i, v in enumerate(ex.views) if v.startswith("claim: Deeper plain nets train worse"))
    ((t, _),) = shown(ex, claim)
    assert list(t.x) == [600, 1200, 2400] and "holds" in t.text[0]
    assert "no verdict" in t.text[2] and t.marker.symbol[2] == "circle-open"  # 2400: one seed, no interval


def test_empty_records_say_what_is_missing():
    assert "No committed schedule" in explore.fig6([]).summary
    assert "No scale-map points" in explore.scale_map([]).summary


# --------------------------------------------------------------------------- the committed records
def test_the_committed_records_offer_every_length_they_hold():
    committed = records.read()
    if not committed:
        pytest.skip("no committed scale map")
    latest = records.latest(committed)
    for figure, need in ((explore.fig6, "curves"), (explore.fig7, "fig7")):
        offered = [int(v.split()[0]) for v in figure(committed).views]
        assert offered == sorted({r["iterations"] for r in latest if need in r})


# --------------------------------------------------------------------------- offline
def test_the_output_loads_no_script_from_the_network_and_jupyterlab_gets_plotlys_mime_type():
    bundle = explore.fig6(RECORDS)._repr_mimebundle_()
    html = bundle["text/html"]
    assert f'class="{explore.DIV_CLASS}"' in html and "Plotly.newPlot" in html
    assert not re.search(r"<script[^>]*\bsrc=", html), "plotly.js must come from the book's _static, not the page"
    assert not re.search(r"https?://(?!www\.w3\.org)", html.replace("https://plot.ly", "")), "a URL in the figure"
    assert bundle["application/vnd.plotly.v1+json"]["data"]
    assert explore.DIV_CLASS == offline_plotly.MARK  # the pages that load plotly.min.js are found by it
    assert offline_plotly.plotly_source().stat().st_size > 1_000_000  # plotly.js from its package
