"""Showing the package's own code on a page: the source as it is, never a copy."""

from __future__ import annotations

import inspect
import textwrap


def source_markdown(*objects) -> str:
    """The source of each function, class or method (``inspect.getsource``), dedented, as one
    Markdown Python code block per object, each headed by where it lives."""
    out = []
    for obj in objects:
        where = f"{inspect.getmodule(obj).__name__}.{obj.__qualname__}"
        out.append(f"`{where}`\n\n```python\n{textwrap.dedent(inspect.getsource(obj)).rstrip()}\n```")
    return "\n\n".join(out)


def show_source(*objects) -> None:
    """Display :func:`source_markdown` in a notebook."""
    from IPython.display import Markdown, display  # noqa: PLC0415 - optional: only inside a notebook kernel

    display(Markdown(source_markdown(*objects)))
