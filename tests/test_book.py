"""book.py (reproduce): the failing notebook and cell are named; a chapter gets only the parameters
it declares."""

import re

import pytest
import yaml

from paper_repro.experiments.chapters import APPENDIX, IDS, NOTEBOOKS
from paper_repro.reproduce import NotebookFailed, execute
from paper_repro.runs.provenance import ROOT


def test_reproduce_names_the_failing_notebook_and_cell(tmp_path):

    nb = tmp_path / "broken.py"
    nb.write_text(
        '# %% tags=["parameters"]\nprofile = "cpu"\n\n# %%\nx = 1\n\n# %%\nraise ValueError("boom " + profile)\n'
    )
    with pytest.raises(NotebookFailed) as e:
        execute(nb, "smoke")
    msg = str(e.value)
    assert "broken.py failed in cell" in msg and "ValueError: boom smoke" in msg


def test_execute_forwards_only_the_parameters_a_chapter_declares(tmp_path):

    nb = tmp_path / "det.py"
    nb.write_text(
        '# %% tags=["parameters"]\nprofile = "cpu"\nvoc_root = ""\n\n'
        "# %%\nprint(f\"{profile}|{voc_root}|{globals().get('imagenet', 'unset')}\")\n"
    )
    out = execute(nb, "smoke", {"voc_root": "/data/voc", "imagenet": "/data/in", "coco_root": ""})
    import nbformat  # noqa: PLC0415 - optional: the [test] extra, needed by this test only

    text = "".join(o.get("text", "") for c in nbformat.read(out, 4).cells for o in c.get("outputs", []))
    assert "smoke|/data/voc|unset" in text


def test_the_table_of_contents_lists_the_chapters_in_the_order_reproduce_executes_them_then_the_appendix():
    toc = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text())
    assert toc["root"] == "intro" and [c["file"] for c in toc["chapters"]] == [*IDS, *APPENDIX]
    assert sorted(p.stem for p in (ROOT / "book").glob("*.py")) == sorted(NOTEBOOKS)
    assert sorted(p.stem for p in (ROOT / "book").glob("*.md")) == sorted(APPENDIX)


def test_reproduce_regenerates_the_appendix_blocks_before_it_builds_the_book(tmp_path, monkeypatch, capsys):
    """The appendix (book/08_using.md) is rendered as it stands, so its generated blocks are rewritten
    from the committed files just before Jupyter Book reads it; a page without its blocks stops the
    build with one line."""
    from paper_repro import reproduce as b  # noqa: PLC0415 - the module under test, patched below
    from paper_repro.book.findings import profiles_markdown  # noqa: PLC0415 - needed by this test only

    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "_toc.yml").write_text("root: intro\n")
    page = tmp_path / "book" / "08_using.md"
    page.write_text("# A\n\n<!-- report-profiles-start -->\nSTALE\n<!-- report-profiles-end -->\n")
    seen = []
    monkeypatch.setattr(b, "HOME", tmp_path)
    monkeypatch.setattr(b, "BOOK", tmp_path / "book")
    monkeypatch.setattr(b, "setup", lambda profile: None)
    monkeypatch.setattr(b, "chapter_sources", lambda: [])
    monkeypatch.setattr(b, "build", lambda: seen.append(page.read_text()) or tmp_path / "index.html")
    assert b.reproduce("cpu") == 0
    assert seen == [f"# A\n\n<!-- report-profiles-start -->\n{profiles_markdown()}\n<!-- report-profiles-end -->\n"]
    page.write_text("# A\n\nno blocks\n")
    assert b.reproduce("cpu") == 1 and len(seen) == 1
    assert "no generated block to update" in capsys.readouterr().err


def test_every_section_the_stylesheet_names_is_a_heading_of_a_chapter():
    # paper_repro.css styles chapter 7's wide tables by their sections' ids, which Sphinx makes from
    # the headings: a renamed heading silently dropped the style once (the 9600 column then overflowed)
    css = (ROOT / "book" / "_static" / "paper_repro.css").read_text()
    named = set(re.findall(r"#([a-z0-9-]+)", css))
    headings = {
        re.sub(r"[^a-z0-9]+", "-", line.lstrip("# ").lower()).strip("-")
        for chapter in (ROOT / "book").glob("*.py")
        for line in chapter.read_text().splitlines()
        if re.match(r"# #{1,4} ", line)
    }
    assert named and named <= headings, sorted(named - headings)
