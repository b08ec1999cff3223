"""`reproduce`: execute every chapter with papermill in order, then build the book.

The chapters' source is the jupytext ``py:percent`` text in book/; papermill executes it (the
cell tagged ``parameters`` gets the profile) into book/<chapter>.ipynb, and Jupyter Book 1.x
renders those executed notebooks (``execute_notebooks: off``).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from paper_repro.book.report import USING, update_readme
from paper_repro.experiments import plan
from paper_repro.experiments.chapters import NOTEBOOKS
from paper_repro.experiments.live import ENV as LIVE_ENV
from paper_repro.experiments.runs import DATA, RUNS, setup
from paper_repro.runs.home import home
from paper_repro.runs.progress import relay
from paper_repro.runs.provenance import ROOT
from paper_repro.runs.sweep import import_ray

HOME = home()  # the project folder: its book/ is executed and built into its _build/
BOOK = HOME / "book"


class NotebookFailed(RuntimeError):
    pass


def chapter_sources() -> list[Path]:
    return [BOOK / f"{c}.py" for c in NOTEBOOKS if (BOOK / f"{c}.py").exists()]


def _parameters_source(nb) -> str:
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            return cell.source
    return ""


def execute(source: Path, profile: str, extra: dict | None = None) -> Path:
    """Execute one chapter with papermill; raise NotebookFailed naming the notebook and cell."""
    import jupytext  # noqa: PLC0415 - optional: the [notebooks] extra
    import papermill  # noqa: PLC0415 - optional: the [notebooks] extra
    from papermill.exceptions import PapermillExecutionError  # noqa: PLC0415 - optional: the [notebooks] extra

    nb = jupytext.read(source)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    # The executed copy is not paired with its source (see jupytext.toml): without jupytext metadata
    # JupyterLab opens it as the plain notebook it is, whatever its age.
    nb.metadata.pop("jupytext", None)
    declared = _parameters_source(nb)
    params = {"profile": profile}
    params.update({k: v for k, v in (extra or {}).items() if v and f"{k} =" in declared})
    out = source.with_suffix(".ipynb")
    # the kernel imports this very package (not whichever copy is installed): same code, same ROOT
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(ROOT)]
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), *paths])
    try:
        with _progress_relay(), _env(LIVE_ENV, "0"):  # a batch run: no live displays in the saved notebook
            papermill.execute_notebook(
                nb,
                str(out),
                parameters=params,
                kernel_name="python3",
                progress_bar=False,
                cwd=str(source.parent),
                log_output=False,
                kernel_manager_class=_ipc_kernel_manager(),
            )
        hide_injected_parameters(out)
    except PapermillExecutionError as e:
        first = (e.source or "").strip().splitlines()
        name = source.relative_to(ROOT) if source.is_relative_to(ROOT) else source
        raise NotebookFailed(
            f"{name} failed in cell {e.cell_index} (`{first[0] if first else ''}` ...): {e.ename}: {e.evalue}"
        ) from None
    return out


def _ipc_kernel_manager():
    """A kernel manager that talks to the kernel over local IPC sockets (files in Jupyter's runtime
    folder) instead of TCP ports: nothing listens on the network, and the kernel has no reason to
    print its "running over TCP without encryption" warning into every build's output."""
    from jupyter_client.manager import KernelManager  # noqa: PLC0415 - optional: the [notebooks] extra

    class IPCKernelManager(KernelManager):
        def __init__(self, **kw):
            super().__init__(**{"transport": "ipc", **kw})

    return IPCKernelManager


@contextlib.contextmanager
def _env(name: str, value: str):
    """``os.environ[name] = value`` inside the block (the kernels papermill starts inherit it)."""
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def _progress_relay():
    """On a terminal, the kernel's progress bars are relayed here (see paper_repro.runs.progress)."""

    if not sys.stderr.isatty():
        return contextlib.nullcontext()
    return relay(str(Path(tempfile.gettempdir()) / f"paper_repro-progress-{os.getpid()}.txt"))


def hide_injected_parameters(path: Path) -> None:
    """Tag papermill's injected "# Parameters" cell ``hide-cell``: the values this build ran with stay one
    click away on the page, and the chapter's own defaults cell is removed (``remove-cell``)."""
    import nbformat  # noqa: PLC0415 - optional: the [notebooks] extra

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags and "hide-cell" not in tags:
            tags.append("hide-cell")
    nbformat.write(nb, path)


def build() -> Path:
    """`jupyter-book build book/` with warnings as errors; return the path of index.html."""
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe), "build", str(BOOK), "--warningiserror", "--keep-going", "--quiet"]
    r = subprocess.run(cmd, cwd=HOME, capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stdout[-6000:] + r.stderr[-6000:])
        raise NotebookFailed("jupyter-book build book/ failed (warnings count as errors); see above")
    return HOME / "_build" / "html" / "index.html"


FOLDER_FLAGS = {
    "imagenet": "--imagenet",
    "voc_root": "--voc",
    "coco_root": "--coco",
    "pretrained_dir": "--pretrained-dir",
}


def reproduce(
    profile: str = "cpu", only=None, build_book: bool = True, folders: dict | None = None, sweep: bool = False
) -> int:
    """Execute every chapter (or ``only`` those) in order, then build the book.

    ``folders`` (parameter name -> path; missing or empty means "not given") are forwarded to the
    chapters that declare them as parameters: ``imagenet`` to the degradation chapter (Table 2),
    ``voc_root``/``coco_root``/``pretrained_dir`` to the detection chapter (Tables 7 and 8). With
    ``sweep``, every run of the profile's plan is first trained as Ray tasks on this machine
    (``paper_repro.runs.sweep``): the chapters then read them back instead of training them one
    after another.
    """

    if not (BOOK / "_toc.yml").is_file():
        print(
            f"reproduce: error: {HOME} holds no book/ (the chapters); run it in a checkout of the project, or set "
            f"PAPER_REPRO_HOME to one",
            file=sys.stderr,
        )
        return 2
    if sweep:
        try:
            import_ray()
        except ValueError as e:
            print(f"reproduce: error: --sweep: {e}", file=sys.stderr)
            return 2

    folders = {name: (folders or {}).get(name, "") for name in FOLDER_FLAGS}
    for name, path in folders.items():
        flag = FOLDER_FLAGS[name]
        if path and not Path(path).is_dir():
            print(
                f"reproduce: error: {flag} {path}: no such folder; give an existing folder or leave it out",
                file=sys.stderr,
            )
            return 2
    setup(profile)  # data present, profile valid: fail before executing anything
    sources = chapter_sources()
    if only:
        unknown = sorted(set(only) - {s.stem for s in sources})
        if unknown:
            print(
                f"reproduce: error: unknown chapter(s) {', '.join(unknown)}; allowed: "
                f"{', '.join(s.stem for s in sources)}",
                file=sys.stderr,
            )
            return 2
        sources = [s for s in sources if s.stem in only]
    if sweep:
        failed = [o for o in plan.sweep_profile(profile, RUNS, DATA) if o.status == "failed"]
        if failed:
            print(
                f"reproduce [{profile}]: {len(failed)} run(s) failed in the sweep; the chapters try them again",
                flush=True,
            )
    t_all = time.perf_counter()
    for src in sources:
        t = time.perf_counter()
        print(f"reproduce [{profile}]: executing {src.relative_to(HOME)} ...", flush=True)
        try:
            execute(src, profile, folders)
        except NotebookFailed as e:
            print(f"reproduce: {e}", file=sys.stderr)
            return 1
        print(f"reproduce [{profile}]: {src.stem} done in {time.perf_counter() - t:.0f} s", flush=True)
    print(f"reproduce [{profile}]: all notebooks executed in {time.perf_counter() - t_all:.0f} s", flush=True)
    if build_book:
        t = time.perf_counter()
        try:
            if (HOME / USING).is_file():  # the appendix's generated blocks, from the files just written
                update_readme(HOME / USING, profile)
            index = build()
        except (NotebookFailed, ValueError) as e:
            print(f"reproduce: {e}", file=sys.stderr)
            return 1
        print(f"reproduce [{profile}]: book built in {time.perf_counter() - t:.0f} s: {index}")
    return 0
