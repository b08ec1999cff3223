"""evidence.py: each claim and figure at the longest committed schedule, from synthetic records."""

import inspect
import json

import pytest
from fake_records import NETS, NEW, OLD, rec
from matplotlib.backends.backend_agg import FigureCanvasAgg

from paper_repro.book import chapter, figures, plots, report, tables
from paper_repro.book import evidence as ev
from paper_repro.book import scale_map as sm
from paper_repro.book.source import source_markdown
from paper_repro.classification.config import PROFILES, RunConfig
from paper_repro.classification.train import WarmupRule, learning_rate
from paper_repro.paper import claims, published
from paper_repro.runs.run import Result


def test_the_longest_schedule_needs_three_seeds_of_every_net_and_what_the_figure_needs():
    assert ev.longest(OLD, NETS).iterations == 600
    assert ev.longest(OLD, NETS, ("curves",)) is None
    assert ev.longest(OLD + NEW, NETS).iterations == 1200  # 2400 has one seed
    assert ev.longest(OLD + NEW, NETS, ("curves",)).iterations == 1200
    assert ev.longest(OLD + NEW, ("plain20",), min_seeds=1).iterations == 2400
    # a seed measured again counts once: the latest record is used
    again = OLD + [rec("plain20", 0, 600, 0.5, 0.5, commit="new")]
    s = ev.longest(again, NETS)
    assert len(s.by_net["plain20"]) == 3 and s.by_net["plain20"][0]["commit"] == "new"


def test_missing_says_what_the_longest_records_hold():
    text = ev.missing(OLD + NEW[-4:], NETS, ("curves",))
    assert "with curves" in text and "at 2400 iterations (plain20: 1 seed" in text and "scale-map" in text


def test_a_claim_is_judged_at_its_longest_schedule_with_the_one_rule():
    j = ev.judge_longest("degradation", OLD + NEW)
    assert j["schedule"].iterations == 1200 and j["label"] == claims.HOLDS
    assert j["diff"] == pytest.approx(0.20)
    assert "**holds** at 1200 iterations: +20.00 pt [" in ev.longest_cell(j)
    # the response claims need fig7: only the 1200 records carry it
    r = ev.judge_longest("responses_plain20", OLD + NEW)
    assert r["schedule"].iterations == 1200 and r["diff"] == pytest.approx(-0.5)
    assert ev.judge_longest("responses_plain20", OLD) is None
    assert ev.longest_cell(ev.judge_longest("overfit_1202", OLD + NEW)) == "not in the scale map"


def test_fig6_is_the_mean_of_the_seeds_with_their_min_and_max():
    s = ev.longest(OLD + NEW, NETS, ("curves",))
    c = ev.fig6_curves(s)["plain20"]
    assert c["iteration"] == [10, 20] and c["seeds"] == [0, 1, 2]
    assert c["train_error"][0] == pytest.approx(0.10 + 0.001 + 0.1 + 0.01)  # mean over seeds
    assert (c["train_lo"][0], c["train_hi"][0]) == pytest.approx((0.20, 0.222))
    panels = ev.fig6_panels(ev.fig6_curves(s))
    assert [t for t, _ in panels] == ["plain-20/56", "ResNet-20/56"]
    fig = plots.training_curves(panels, s.label(), spread=ev.SPREAD)
    assert len(fig.axes) == 2 and any("commit abc1234" in t.get_text() for t in fig.texts)
    assert all(len(ax.collections) == 4 for ax in fig.axes)  # a shaded band per net and curve


def test_fig6s_error_axis_stops_where_the_end_of_training_stays_readable():
    def curve(final):
        return {"eval_error": [0.9, final]}

    assert ev.fig6_top({"plain20": curve(0.08), "plain56": curve(0.132)}) == 35.0  # 2.5 x 13.2% = 33 -> 35
    assert ev.fig6_top({"resnet20": curve(0.40)}) == 100.0  # never past 100%
    s = ev.longest(OLD + NEW, NETS, ("curves",))
    fig, _ = ev.fig6_figure(s)
    assert {ax.get_ylim() for ax in fig.axes} == {(0.0, ev.fig6_top(ev.fig6_curves(s)))}


def test_fig7_per_layer_mean_and_the_per_seed_means_and_gammas():
    d = ev.fig7_data(ev.longest(OLD + NEW, NETS, ("fig7",)))
    assert d["responses"]["plain20"] == pytest.approx([1.0, 1.1])
    assert d["bands"]["plain20"]["hi"] == pytest.approx([1.0, 1.2])
    assert d["means"]["resnet20"] == pytest.approx([0.5, 0.55, 0.6]) and d["gammas"]["resnet20"] == [0.5] * 3
    assert d["images"] == [1000]


def test_published_numbers_are_cited_with_their_runs():
    assert published.cell("resnet56") == (
        "7.40 ± 0.27 (nabla0001/resnet (README), 5 runs); 6.61 "
        "(akamaster/pytorch_resnet_cifar10 (README), single best run); 7.56 ± 0.54 "
        "(akamaster/pytorch_resnet_cifar10 (issue #18), 6 runs); 6.88 ± 0.20 "
        "(tensorflow/models (PR #5243), 5 runs)"
    )
    assert published.cell("resnet32") == "7.37 (akamaster/pytorch_resnet_cifar10 (README), single best run)"
    assert published.cell("plain44") == "–"
    assert published.RANDOM_ERASING_RERUN.get("resnet20").text() == "4.82 ± 0.04"


def test_table6_puts_paper_published_and_this_build_side_by_side():
    rows = ev.table6_rows([{"depth": 20, "measured": "9.00 ± 1.00", "runs": 3}])
    r20 = next(r for r in rows if r["net"] == "ResNet-20")
    assert r20["paper"] == 8.75 and "8.51 ± 0.22 (nabla0001/resnet (README), 5 runs)" in r20["published"]
    assert r20["measured"] == "9.00 ± 1.00 (n=3)"
    assert next(r for r in rows if r["net"] == "ResNet-1202")["measured"] == "not run"
    assert "12.95 ± 0.22" in next(r for r in rows if r["net"] == "plain-56")["published"]


def test_fashion_table_beside_the_longest_runs():
    rows, columns, note = ev.fashion_table(OLD + NEW)
    r20 = next(r for r in rows if r["net"] == "ResNet-20")
    assert r20["random_erasing"] == "4.39" and r20["random_erasing_issue10"] == "4.82 ± 0.04"
    assert r20["ours"] == "15.00 ± 0.00 (n=3)"
    assert next(r for r in rows if r["net"] == "ResNet-110")["ours"] == "–"
    assert columns[-1] == ("ours", "this project, 1200 iterations") and "1200 iterations · seeds 0, 1, 2" in note
    assert not any("full" in r for r in rows) and "64000" not in note  # no full-length run: no column for it
    assert "No committed schedule" in ev.fashion_table([])[2]
    assert "final test error on all test images, mean ± std over the seeds (n)" in note  # what "15.00 ± 0.00" is
    assert "the ResNets" not in note and "resnets" not in dict(columns)  # they have 3 seeds nowhere longer


def test_fashion_table_gives_the_resnets_their_own_longer_column_where_they_alone_have_3_seeds():
    # seed 0 at 2400 tests at 10%: ResNet-56 has 10, 7 and 8%
    more = [rec(n, s, 2400, 0.01, 0.06 + 0.01 * s) for n in ("resnet20", "resnet56") for s in (1, 2)]
    rows, columns, note = ev.fashion_table(OLD + NEW + more)
    by_net = {r["net"]: r for r in rows}
    assert [k for k, _ in columns][-2:] == ["ours", "resnets"]
    assert dict(columns)["resnets"] == "this project, 2400 iterations (the ResNets)"
    assert by_net["ResNet-20"]["ours"] == "15.00 ± 0.00 (n=3)"  # the 4-net column stays at 1200
    assert by_net["ResNet-56"]["resnets"] == "8.33 ± 1.53 (n=3)" and by_net["plain-20"]["resnets"] == "–"
    assert "The ResNets at 2400 iterations, where they have 3 seeds: scale map · Fashion-MNIST · 2400" in note
    # at the paper's length the full-length column says it: no second column for the same schedule
    at_64k = [rec(n, s, 64000, 0.01, 0.05) for n in ("resnet20", "resnet56") for s in range(3)]
    _, columns, _ = ev.fashion_table(OLD + NEW + at_64k)
    assert [k for k, _ in columns][-2:] == ["ours", "full"]


def test_fashion_table_shows_the_first_full_length_run_with_its_one_seed():
    full = [rec("resnet20", 0, 64000, 0.02, 0.0612, commit="f00d123"), rec("resnet110", 0, 64000, 0.01, 0.05)]
    rows, columns, note = ev.fashion_table(OLD + NEW + full)
    by_net = {r["net"]: r for r in rows}
    assert columns[-1] == ("full", "this project, the paper's 64000 iterations")
    assert by_net["ResNet-20"]["full"] == "6.12 (n=1)" and by_net["ResNet-20"]["ours"] == "15.00 ± 0.00 (n=3)"
    assert by_net["ResNet-110"]["full"] == "5.00 (n=1)" and by_net["plain-56"]["full"] == "not run yet"
    assert "64000 iterations · seeds 0 · 2 runs" in note and "f00d123" in note
    text = ev.full_length_comparison(OLD + NEW + full)
    assert text.startswith(
        "No verdict at this length until each net has 3 seeds; so far, seed by seed:\n- *Deeper ResNets test better "
        "(110 vs 20)* (test error): ResNet-110 5.00% against ResNet-20's 6.12%, a difference of -1.12 points (seed 0)."
        "\n\nTest error beside the published Fashion-MNIST runs:\n- ResNet-20 tests at 6.12% (1 seed): "
        "1.73 points above "
    )
    assert "1.30 points above zhunzhong07/Random-Erasing (issue #10)'s 4.82" in text
    assert "\n- ResNet-110 tests at 5.00% (1 seed): 0.60 points above" in text
    assert "64000 iterations of batch 128 are 137 epochs of the 60000 training images" in text
    assert "against their 300 epochs" in text and ev.full_length_comparison(OLD + NEW) == ""
    second = rec("resnet20", 1, 64000, 0.02, 0.0652)  # two seeds: their mean, and what the ± is
    assert "\n- ResNet-20 tests at 6.32 ± 0.28% (mean ± std of 2 seeds): " in ev.full_length_comparison(
        OLD + NEW + full + [second]
    )
    assert "zhunzhong07/Random-Erasing (README) reports the best test accuracy over epochs" in text
    assert "64000 iterations · seeds 0 · 2 runs" in text  # the provenance of the full-length runs
    # each published number with its runs; the differences of the schedules and the provenance said once
    assert "zhunzhong07/Random-Erasing (README)'s 4.39% (runs not stated)" in text
    assert text.count("The published runs are longer") == 1 and text.count("64000 iterations · seeds 0") == 1
    assert f"**At the paper's full length** (64000 iterations; chapter 3). {text}" in ev.readme_markdown(
        OLD + NEW + full
    )
    assert "At the paper's full length" not in ev.readme_markdown(OLD + NEW)
    assert ev.full_length_comparison(OLD + NEW + full, label=False).endswith("this project the final test error.")
    # three seeds of every net at 64k: the longest schedule is the paper's, one column says it
    at_64k = [rec(n, s, 64000, 0.01, 0.05) for n in NETS for s in range(3)]
    rows, columns, _ = ev.fashion_table(OLD + at_64k)
    assert columns[-1] == ("ours", "this project, 64000 iterations") and not any("full" in r for r in rows)


def test_the_claims_whose_nets_reached_the_paper_length_are_given_seed_by_seed_until_they_can_be_judged():
    full = [
        rec("resnet20", 0, 64000, 0.0084, 0.0540, fig7=0.5),
        rec("resnet56", 0, 64000, 0.0061, 0.0571, fig7=0.4),
        rec("resnet56", 1, 64000, 0.0051, 0.0560),  # ResNet-20 has no seed 1 yet: not compared, given alone
    ]
    text = ev.paper_length_claims(OLD + NEW + full)
    assert text.startswith("No verdict at this length until each net has 3 seeds; so far, seed by seed:\n- ")
    assert (
        "*Deeper ResNets train better* (training error): ResNet-56 0.61% against ResNet-20's 0.84%, "
        "a difference of -0.23 points (seed 0); ResNet-56's seed 1 alone (no ResNet-20 yet): 0.51%.\n" in text
    )
    # the unmatched seed carries no Fig. 7 statistics: nothing alone for the response claim
    assert "0.400 against ResNet-20's 0.500, a difference of -0.100 (seed 0).\n" in text + "\n"
    assert "*Deeper ResNets test better (56 vs 20)* (test error): ResNet-56 5.71% against ResNet-20's 5.40%, " in text
    assert "*Deeper ResNets respond less* (mean layer response std): ResNet-56 0.400 against ResNet-20's 0.500" in text
    assert "plain" not in text  # no plain net at 64k: its claims are not named
    # it leads the full-length paragraph of the README and chapter 3
    assert ev.full_length_comparison(OLD + NEW + full).startswith(text + "\n\nTest error beside the published")
    # two matched seeds: the mean of each net and every seed's difference
    both = full + [rec("resnet20", 1, 64000, 0.0070, 0.0550)]
    assert "ResNet-56 mean 0.56% against ResNet-20's 0.77%, a difference of -0.23, -0.19 points (seeds 0, 1)" in (
        ev.paper_length_claims(OLD + NEW + both)
    )
    # three seeds of both: the claims are judged at 64000 (the table), not repeated seed by seed
    three = [rec(n, s, 64000, 0.01, 0.05) for n in ("resnet20", "resnet56") for s in range(3)]
    assert ev.judge_longest("deeper_resnet_train", OLD + NEW + three)["schedule"].iterations == 64000
    assert "Deeper ResNets train better" not in ev.paper_length_claims(OLD + NEW + three)
    assert ev.paper_length_claims(OLD + NEW) == ""


def test_chapter_3_draws_the_resnets_at_the_paper_length_with_every_seed_measured_so_far(monkeypatch):
    assert ev.paper_length_resnets(OLD + NEW) is None
    full = [
        rec("resnet56", 0, 64000, 0.01, 0.06, curves=True),
        rec("resnet20", 1, 64000, 0.02, 0.05, curves=True),
        rec("resnet20", 0, 64000, 0.02, 0.05),  # no curves: not drawn
        rec("plain20", 0, 64000, 0.03, 0.07, curves=True),  # a plain net: not in the ResNets' panel
    ]
    s = ev.paper_length_resnets(OLD + NEW + full)
    assert s.iterations == 64000 and {n: [r["seed"] for r in rs] for n, rs in s.by_net.items()} == {
        "resnet20": [1],
        "resnet56": [0],
    }
    shown = []
    monkeypatch.setattr(chapter, "_display", shown.append)
    monkeypatch.setattr(chapter, "_show", lambda fig: shown.append([ax.get_title() for ax in fig.axes]))
    chapter.fashion_depth(OLD + NEW + full)
    assert shown[-2].startswith("**Fig. 6, the ResNets at the paper's length** (64000 iterations)")
    assert shown[-1] == ["ResNet-20/56"]


def test_the_scoreboard_shows_this_build_and_the_longest_schedule(tmp_path, monkeypatch):
    monkeypatch.setattr(tables, "FIGURES", tmp_path)
    rows = {r["key"]: r for r in report.scoreboard_rows("smoke", OLD + NEW)}
    assert rows["degradation"]["build"] == "not run in this build"
    assert rows["degradation"]["longest"].startswith("**holds** at 1200 iterations")
    assert "a − b = -1.78 pt (Table 6)" in rows["deeper_resnet_56"]["paper"]
    md = report.scoreboard_markdown("smoke", OLD + NEW)
    assert "longest committed schedule" in md and "1200 iterations (plain20, plain56, resnet20, resnet56)" in md
    assert "commit abc1234" in md and "test cpu" in md
    assert "No claim has 3 seeds" in report.scoreboard_markdown("smoke", [])
    assert "paper's full length" not in md  # no run at 64000 yet
    # a run of each ResNet at the paper's length: its seed-by-seed differences under the table, labelled
    full = [rec("resnet20", 0, 64000, 0.0084, 0.0540), rec("resnet56", 0, 64000, 0.0061, 0.0571)]
    md = report.scoreboard_markdown("smoke", OLD + NEW + full)
    assert "\n\n**At the paper's full length** (64000 iterations, {doc}`chapter 3 <03_depth>`). No verdict" in md
    assert "a difference of -0.23 points (seed 0)" in md
    assert md.endswith("Measured with " + ev.at_paper_schedule(OLD + NEW + full).label() + ".")


def test_the_readme_block_and_the_sentences_from_the_records():
    text = ev.readme_markdown(OLD + NEW)
    assert "| Deeper plain nets train worse |" in text and "| 1200 | 0, 1, 2 |" in text
    assert "-1.78 pt (Table 6)" in text and "commit abc1234" in text
    assert ev.readme_markdown([]).startswith("No committed schedule has 3 seeds")
    points = sm.claim_points(OLD + NEW, sm.MAP_CLAIMS + sm.RESPONSE_CLAIMS)
    sentences = {s.split("**")[1]: s for s in sm.summary_sentences(points)}
    deg = sentences["Deeper plain nets train worse"]
    assert (
        "holds from 600 iterations on; at 1200:" in deg
        and "Still being measured: 2400 iterations (1 of 3 seeds; the difference on it: " in deg
    )
    depth = sentences["Deeper ResNets test better (56 vs 20)"]  # a tie at 0.15 vs 0.15
    assert "has not appeared by 1200 iterations" in depth and "zhunzhong07/Random-Erasing (README)" in depth
    assert "ResNet-20 4.39%, ResNet-56 4.39%" in depth and "4.82 ± 0.04%" in depth
    assert "Random-Erasing" not in deg
    assert "(measured at 1200 iterations)" in sentences["ResNets respond less than plain nets (20)"]
    only_one = sm.summary_sentences(sm.claim_points(NEW[-4:], ("degradation",)))
    assert only_one == [
        "**Deeper plain nets train worse**: not yet measured with 3 seeds per net (so far: 2400 iterations, n = 1)."
    ]


def test_paper_differences_come_from_the_papers_tables():
    assert claims.paper_difference("deeper_resnet_56") == (-1.78, "Table 6")
    assert claims.paper_difference("imagenet_plain") == (0.6, "Table 2")
    assert claims.paper_difference("detection") == (3.2, "Table 7, VOC 2007")
    assert claims.paper_difference("degradation") is None


def test_chapters_show_the_packages_source_not_a_copy():

    md = source_markdown(learning_rate, WarmupRule)
    assert (
        "`paper_repro.classification.train.learning_rate`" in md
        and "`paper_repro.classification.train.WarmupRule`" in md
    )
    assert inspect.getsource(learning_rate).strip() in md and md.count("```python") == 2


def test_show_figure_saves_the_png_and_its_provenance_and_displays_it(tmp_path, monkeypatch, capsys):

    monkeypatch.setattr(figures, "FIGURES", tmp_path)
    s = ev.longest(OLD + NEW, NETS, ("curves",))
    fig = plots.training_curves(ev.fig6_panels(ev.fig6_curves(s)), s.label(), spread=ev.SPREAD)
    png = figures.show_figure(fig, "fig6_longest", "scale-map", ev.fig6_curves(s), s.provenance())
    assert png == tmp_path / "scale-map" / "fig6_longest.png" and png.stat().st_size > 1000
    saved = json.loads(png.with_suffix(".json").read_text())
    assert saved["provenance"]["iterations"] == [1200] and saved["provenance"]["seeds"] == [0, 1, 2]
    assert "Image" in capsys.readouterr().out  # displayed (outside a notebook: its repr)


def test_the_readme_block_shows_the_longest_figures_and_the_report_draws_them_from_the_records(tmp_path, monkeypatch):
    monkeypatch.setattr(figures, "FIGURES", tmp_path)
    saved = ev.save_longest_figures(OLD + NEW)
    assert sorted(saved) == ["fig6_longest", "fig7_longest"]
    for name, png in saved.items():
        assert png == tmp_path / "scale-map" / f"{name}.png" and png.stat().st_size > 1000
        assert json.loads(png.with_suffix(".json").read_text())["provenance"]["iterations"] == [1200]
    md = ev.readme_markdown(OLD + NEW)
    assert "(figures/scale-map/fig6_longest.png)" in md and "(figures/scale-map/fig7_longest.png)" in md
    assert "1200 iterations, mean of the seeds" in md
    # records without curves or Fig. 7 statistics: no figure, and no link to one
    assert ev.save_longest_figures(OLD) == {} and ".png" not in ev.readme_markdown(OLD)


def test_the_resnets_alone_are_drawn_at_their_longest_schedule_where_it_is_beyond_the_plain_nets(tmp_path, monkeypatch):
    monkeypatch.setattr(figures, "FIGURES", tmp_path)
    # ResNet-20/56 have 3 seeds at 2400 (seed 0 from NEW), the plain nets only seed 0 there
    longer = [rec(n, s, 2400, 0.01, 0.1, curves=True) for n in ("resnet20", "resnet56") for s in (1, 2)]
    assert [x[0] for x in ev.longest_figures(OLD + NEW)] == ["fig6_longest", "fig7_longest"]
    assert [x[0] for x in ev.longest_figures(OLD + NEW + longer)] == [
        "fig6_longest",
        "fig6_resnets_longest",
        "fig7_longest",
    ]
    saved = ev.save_longest_figures(OLD + NEW + longer)
    data = json.loads(saved["fig6_resnets_longest"].with_suffix(".json").read_text())
    assert data["provenance"]["iterations"] == [2400] and sorted(data["data"]) == ["resnet20", "resnet56"]
    md = ev.readme_markdown(OLD + NEW + longer)
    assert (
        "Fig. 6, the ResNets alone at their longest schedule, training error dashed, test error bold, 2400 iterations"
        in md
    )
    assert "(figures/scale-map/fig6_resnets_longest.png)" in md
    # records that no longer call for it (here: the plain nets catch up): its files go, no stale figure stays
    plain = [rec(n, s, 2400, 0.01, 0.1, curves=True, fig7=0.4) for n in ("plain20", "plain56") for s in (1, 2)]
    again = ev.save_longest_figures(OLD + NEW + longer + plain)
    assert "fig6_resnets_longest" not in again and again["fig6_longest"].exists()
    assert not list((tmp_path / "scale-map").glob("fig6_resnets_longest.*"))
    # the curves' test images are named where they are not the final errors' (1000 against 10000)
    s = ev.longest(OLD + NEW + longer, ("resnet20", "resnet56"), ("curves",))
    fig, _ = ev.fig6_figure(s)
    assert any(t.get_text().endswith("· test curves on 1000 test images") for t in fig.texts)


def test_fig6_adds_this_builds_runs_as_thin_series_on_the_committed_evidence():
    s = ev.longest(OLD + NEW, NETS, ("curves",))
    mine = {"plain20": {"iteration": [5, 10], "train_error": [0.5, 0.4], "eval_error": [0.55, 0.45]}}
    fig, shown = ev.fig6_figure(s, mine, "this build")
    assert set(shown) == {*NETS, "plain20 (this build)"} and shown["plain20 (this build)"]["added"]
    left = fig.axes[0]
    assert "plain-20 (this build)" in [t.get_text() for t in left.get_legend().get_texts()]  # as the paper names it
    assert any("thin dotted: this build" in t.get_text() for t in fig.texts)
    fig, shown = ev.fig6_figure(None, mine, "this build")  # no committed schedule: the build alone, one panel
    assert list(shown) == ["plain20"] and len(fig.axes) == 1


# --------------------------------------------------------------------------- when ResNet-56 overtakes ResNet-20
def curved(net, seed, n, train_errors, interval):
    """A record whose training curve is ``train_errors``, one point per ``interval`` iterations."""
    r = rec(net, seed, n, train_errors[-1], 0.1)
    iters = list(range(interval, interval * len(train_errors) + 1, interval))
    r["curves"] = {"eval_images": 1000, "iteration": iters, "lr": [0.1] * len(iters), "train_error": train_errors}
    r["curves"]["eval_error"] = [0.1] * len(iters)
    return r


def test_curve_windows_average_the_points_of_each_window_and_skip_an_incomplete_one():
    r = curved("resnet20", 0, 80, [0.4, 0.2, 0.3, 0.1, 0.5, 0.3, 0.2, 0.0], 10)
    assert ev.curve_windows(r, 20) == pytest.approx({20: 0.3, 40: 0.2, 60: 0.4, 80: 0.1})
    r["curves"]["iteration"][4] = 55  # the window (40, 60] misses its point at 50
    assert set(ev.curve_windows(r, 20)) == {20, 40, 80}


def _drawn(fig):
    """``fig`` drawn as a file would be (each label where it lands): its renderer."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def test_fig6_draws_a_run_evaluated_more_often_averaged_over_the_coarser_runs_windows():
    # at 64,000 iterations: ResNet-20 evaluated every 100 iterations (e.g. on 1,000 images), ResNet-56
    # every 400 (on 10,000)
    r20 = curved("resnet20", 0, 64000, [0.4, 0.2, 0.3, 0.1] * 160, 100)
    r20["curves"]["eval_error"] = [0.5, 0.1, 0.2, 0.2] * 160
    r56 = curved("resnet56", 0, 64000, [0.3, 0.2, 0.1, 0.0] * 40, 400)
    s = ev.paper_length_resnets([r20, r56])
    assert ev.fig6_step(s) == 400  # 64,000 / 160, a multiple of both intervals
    assert ev.fig6_step(ev.paper_length_resnets([r20])) == 400  # alone too: 640 evaluations blur into a band
    curves = ev.fig6_curves(s)
    assert curves["resnet20"]["iteration"] == curves["resnet56"]["iteration"] == list(range(400, 64001, 400))
    assert curves["resnet20"]["train_error"] == pytest.approx([0.25] * 160)  # the mean of each window's 4 points
    assert curves["resnet20"]["eval_error"] == pytest.approx([0.25] * 160)
    assert curves["resnet56"]["train_error"] == pytest.approx([0.3, 0.2, 0.1, 0.0] * 40)  # as it was measured
    fig, _ = ev.fig6_figure(s)
    assert any("averaged over windows of 400 iterations" in t.get_text() for t in fig.texts)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["ResNet-20", "ResNet-56"]
    r56["curves"]["eval_images"] = 10000  # a test set 10 times larger: the other curve's legend says it is not that
    fig, _ = ev.fig6_figure(ev.paper_length_resnets([r20, r56]))
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["ResNet-20, test curve on 1000 images", "ResNet-56"]
    # each net's final test error on all 10,000 images: a diamond past its curve's end, side by side
    diamonds = [line.get_xydata().tolist() for line in fig.axes[0].lines if line.get_marker() == "D"]
    assert diamonds == [
        [[64000 * 1.03, 100 * r20["final_eval_error"]]],
        [[64000 * 1.06, 100 * r56["final_eval_error"]]],
    ]
    assert any("◆ final test error on 10000 images" in t.get_text() for t in fig.texts)
    # a second ResNet-20 seed on 10,000 images: its mean is of two test sets, and the nets' seeds differ
    r20_1 = {**r20, "seed": 1, "curves": {**r20["curves"], "eval_images": 10000}}
    fig, _ = ev.fig6_figure(ev.paper_length_resnets([r20, r20_1, r56]))
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["ResNet-20, test curve on 1000/10000 images (seeds 0, 1)", "ResNet-56 (seed 0)"]
    # entries this long would cover the curves: the legend stands under the axes, below the x-axis label
    ax, renderer = fig.axes[0], _drawn(fig)
    box = ax.get_legend().get_window_extent(renderer)
    assert box.y1 < ax.xaxis.label.get_window_extent(renderer).y0
    assert box.y0 > max(t.get_window_extent(renderer).y1 for t in fig.texts)  # above the provenance line
    same = ev.paper_length_resnets([r56, {**r56, "net": "resnet20"}])
    short = ev.fig6_figure(same)[0]
    assert not any("averaged" in t.get_text() for t in short.texts)  # one interval: as measured
    assert not any(line.get_marker() == "D" for line in short.axes[0].lines)  # one test set: none
    # short entries: inside the axes, where matplotlib finds room
    short_box = short.axes[0].get_legend().get_window_extent(_drawn(short))
    assert short.axes[0].bbox.y0 < short_box.y0 and short_box.y1 < short.axes[0].bbox.y1


def test_overtake_says_when_the_deeper_net_first_trains_better_and_from_when_it_stays_ahead():
    # 3200 iterations: windows of 3200 // 160 = 20 iterations, a multiple of both intervals (10 and 20)
    r20 = curved("resnet20", 0, 3200, [0.30] * 320, 10)
    r56 = curved("resnet56", 0, 3200, [0.40] * 40 + [0.25] + [0.35] * 60 + [0.20] * 59, 20)  # 160 points
    other = curved("resnet56", 1, 3200, [0.0] * 160, 20)  # ResNet-20 has no seed 1: not compared
    (row,) = ev.overtake_rows([r20, r56, other])
    assert row["seeds"] == [0] and row["window"] == 20 and row["iterations"] == 3200
    assert row["first"] == 820 and row["from"] == 2040  # 41st window below, then from the 102nd on
    assert row["closest"][1] == pytest.approx(-10.0) and row["end"] == pytest.approx(-10.0)
    text = ev.overtake_sentence([row])
    assert text.startswith(
        "ResNet-56's training error first falls below ResNet-20's in the runs of 3200 iterations (seed 0; "
        "Fashion-MNIST; training error averaged over the seeds both nets have, in windows of 20 iterations): "
        "at iteration 820 and stays below from iteration 2040."
    )
    assert "Measured with scale map · Fashion-MNIST · 3200 iterations · seeds 0 · 2 runs" in text
    cells = ev.overtake_table([row])[0]
    assert cells == {
        "iterations": 3200,
        "seeds": "0",
        "window": 20,
        "first": 820,
        "from": 2040,
        "closest": "-10.00 pt (2040)",
        "end": "-10.00 pt",
    }
    # a shorter schedule where it never does is said after it
    short = [curved(n, 0, 1600, [e] * 160, 10) for n, e in (("resnet20", 0.2), ("resnet56", 0.3))]
    text = ev.overtake_sentence(ev.overtake_rows([r20, r56, *short]))
    assert "at iteration 820 and stays below from iteration 2040. In the runs of 1600 iterations it never does." in text
    # ahead once, behind at the end: it does not stay below
    behind = curved("resnet56", 0, 3200, [0.40] * 40 + [0.25] + [0.35] * 119, 20)
    (row,) = ev.overtake_rows([r20, behind])
    assert row["first"] == 820 and row["from"] is None
    assert "at iteration 820, but does not stay below (+5.00 points at the end)" in ev.overtake_sentence([row])


def test_overtake_says_in_numbers_that_the_deeper_net_never_trains_better():
    rows = ev.overtake_rows(
        [curved("resnet20", s, n, [0.2] * 160, n // 160) for s in (0, 1) for n in (1600, 3200)]
        + [curved("resnet56", s, 1600, [0.3] * 159 + [0.25], 10) for s in (0, 1)]
        + [curved("resnet56", s, 3200, [0.22] * 100 + [0.21] + [0.23] * 59, 20) for s in (0, 1)]
    )
    assert [(r["iterations"], r["first"], r["from"]) for r in rows] == [(1600, None, None), (3200, None, None)]
    text = ev.overtake_sentence(rows)
    assert text.startswith(
        "ResNet-56's training error never falls below ResNet-20's at any point of any schedule measured so far "
        "(from 1600 to 3200 iterations; Fashion-MNIST; training error averaged over the seeds both nets have, "
        "in windows of 10 to 20 iterations)"
    )
    assert "the closest it comes is +1.00 points, at iteration 2020 of 3200 (seeds 0, 1)." in text
    assert ev.overtake_table(rows)[0]["first"] == "never" and ev.overtake_table(rows)[1]["end"] == "+3.00 pt"
    assert f"**During training** (chapter 3): {text}" in ev.readme_markdown(
        OLD + rows[0]["records"] + rows[1]["records"]
    )
    assert ev.overtake_rows(OLD) == [] and ev.overtake_sentence([]) == ""


def test_chapter_3_says_when_resnet56_overtakes_resnet20_with_the_table_and_its_provenance(monkeypatch):
    shown = []
    monkeypatch.setattr(chapter, "_display", shown.append)
    monkeypatch.setattr(chapter, "_show", shown.append)
    assert chapter.depth_overtake(OLD) == []
    assert shown == ["No committed schedule has training curves of ResNet-20 and ResNet-56 with a common seed yet."]
    shown.clear()
    rows = chapter.depth_overtake(
        [curved(n, 0, 1600, [e] * 160, 10) for n, e in (("resnet20", 0.2), ("resnet56", 0.3))]
    )
    assert len(rows) == 1 and shown[0].startswith("ResNet-56's training error never falls below")
    assert "Measured with" not in shown[0]  # the provenance follows the table, once
    assert "| schedule (iterations) | seeds | window (iterations) | first below at |" in shown[1]
    assert shown[2].startswith("Differences in points, ResNet-56 minus ResNet-20. Measured with scale map")
    assert len(shown[3].axes[0].lines) == 1 + 1 + 2  # the schedule's line, 0, the two lr drops


def test_the_overtake_figure_draws_each_schedule_against_the_fraction_done_with_0_and_the_lr_drops():
    rows = ev.overtake_rows(
        [curved(n, 0, k, [e] * 160, k // 160) for n, e in (("resnet20", 0.2), ("resnet56", 0.3)) for k in (1600, 3200)]
    )
    ax = ev.overtake_figure(rows).axes[0]
    lines = {line.get_label(): line for line in ax.lines}
    assert list(lines)[:2] == ["1600 iterations (seed 0)", "3200 iterations (seed 0)"]
    xs, ys = lines["3200 iterations (seed 0)"].get_data()
    assert xs[0] == pytest.approx(20 / 3200) and xs[-1] == pytest.approx(1.0)  # windows of 20: fractions done
    assert list(ys) == pytest.approx([10.0] * 160)  # 30% - 20%, in points
    verticals = [line.get_xdata()[0] for line in ax.lines[2:] if line.get_xdata()[0] == line.get_xdata()[1]]
    assert verticals == [0.5, 0.75]  # §4.2: lr ÷10 at 32k and 48k of 64k
    assert (
        ax.get_yscale() == "symlog"
        and "Fashion-MNIST · 1600/3200 iterations" in ev.overtake_figure(rows).texts[0].get_text()
    )


def test_chapter_3_asks_the_same_of_this_builds_runs_where_they_hold_both_nets(monkeypatch):
    summary = {"dataset": "fashion-mnist", "train_images": 60000, "eval_images": 1000, "eval_split": "test"}
    summary |= {"iterations_done": 200, "commit": "beef123", "hardware": "test cpu", "precision": "bf16"}

    def run(net, errors):  # ten evaluations, every 20 iterations
        rows = [{"iteration": 20 * (i + 1), "train_error": e, "eval_error": 0.1} for i, e in enumerate(errors)]
        cfg = RunConfig(model=net, seed=0, iterations=200, dataset="fashion-mnist")
        return Result(None, cfg, {**summary, "seed": 0}, rows)

    by_model = {"resnet20": [run("resnet20", [0.3] * 10)], "resnet56": [run("resnet56", [0.4] * 6 + [0.2] * 4)]}
    shown = []
    monkeypatch.setattr(chapter, "_display", shown.append)
    chapter.depth_overtake(OLD, by_model, PROFILES["cpu"])
    assert shown[-1].startswith(
        "In this build's runs: ResNet-56's training error first falls below ResNet-20's in the runs of 200 "
        "iterations (seed 0; Fashion-MNIST; training error averaged over the seeds both nets have, in windows "
        "of 20 iterations): at iteration 140 and stays below from iteration 140."
    )
    assert shown[-1].endswith(
        "This build: profile cpu · Fashion-MNIST (60000 training, 1000 test images) · "
        "200 iterations · seed 0 · bf16 · commit beef123 · test cpu."
    )
    shown.clear()
    chapter.depth_overtake(OLD, {"resnet20": by_model["resnet20"]}, PROFILES["cpu"])  # one net: nothing to compare
    assert not any(s.startswith("In this build's runs") for s in shown)
