"""A chapter's parameters: an unknown name or a bad value stops it with one line, before any training,
whether it runs under reproduce or a direct papermill call."""

import pytest

from paper_repro.experiments.parameters import check, injected_names

NOTEBOOK = (
    '# %% tags=["parameters"]\nprofile = "cpu"\nimagenet = ""\n\n'
    "# %%\nfrom paper_repro.experiments import runs as ex\nP = ex.setup(profile, imagenet=imagenet)\n"
    'print("setup passed")\n'
)


def _papermill(tmp_path, **params):
    import jupytext  # noqa: PLC0415 - optional: the [test] extra, needed by this test only
    import papermill  # noqa: PLC0415 - optional: the [test] extra, needed by this test only
    from papermill.exceptions import PapermillExecutionError  # noqa: PLC0415 - optional: the [test] extra, needed by this test only

    src = tmp_path / "chapter.py"
    src.write_text(NOTEBOOK)
    nb = jupytext.read(src)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    try:
        papermill.execute_notebook(
            nb,
            str(tmp_path / "out.ipynb"),
            parameters=params,
            kernel_name="python3",
            progress_bar=False,
            cwd=str(tmp_path),
        )
    except PapermillExecutionError as e:
        return str(e)
    return None


@pytest.mark.slow
def test_a_misspelt_parameter_ends_papermill_with_one_line_naming_the_allowed_ones(tmp_path):
    err = _papermill(tmp_path, prfile="smoke")
    assert err is not None, "an unknown parameter must stop the chapter"
    last = err.strip().splitlines()[-1]
    assert last == "ParameterError: unknown parameter 'prfile'; this chapter takes: profile, imagenet"
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 4


@pytest.mark.slow
def test_a_bad_value_ends_with_one_line_and_good_values_pass(tmp_path):
    err = _papermill(tmp_path, profile="fast")
    assert err.strip().splitlines()[-1] == "ParameterError: profile must be one of smoke, cpu, full, got 'fast'"
    err = _papermill(tmp_path, profile="smoke", imagenet=str(tmp_path / "nowhere"))
    assert err.strip().splitlines()[-1].endswith("nowhere': no such folder; give an existing folder or leave it empty")
    assert _papermill(tmp_path, profile="smoke") is None


def test_outside_papermill_nothing_counts_as_injected():

    assert injected_names() == []
    check({"profile": "cpu"}, {"profile": ("smoke", "cpu", "full")})
