"""A chapter's parameters, checked before anything runs.

papermill only warns about a parameter the notebook does not declare (``-p prfile smoke``) and
then runs the defaults; a bad value would surface as a long traceback from deep inside training.
The chapters call :func:`check` first: an unknown name or a bad value stops the notebook with one
line naming what is wrong and what is allowed, and that line is the whole error (IPython shows an
exception's ``_render_traceback_`` instead of its traceback, and papermill ends its error with it).
"""

from __future__ import annotations

import ast


class ParameterError(ValueError):
    """A bad chapter parameter: shown as one line, without a traceback."""

    def _render_traceback_(self):  # IPython's hook: the lines a notebook shows for this error
        return [f"ParameterError: {self}"]


def injected_names() -> list[str]:
    """The names papermill injected into the running kernel (its cell starts with "# Parameters"),
    in order; [] outside IPython or when nothing was injected."""
    try:
        from IPython import get_ipython  # noqa: PLC0415 - optional: only inside a notebook kernel
    except ImportError:
        return []
    ip = get_ipython()
    if ip is None:
        return []
    for source in reversed(ip.user_ns.get("In", [])):
        if source.lstrip().startswith("# Parameters"):
            try:
                tree = ast.parse(source)
            except SyntaxError:
                return []
            return [
                t.id
                for node in tree.body
                if isinstance(node, ast.Assign)
                for t in node.targets
                if isinstance(t, ast.Name)
            ]
    return []


def check(declared: dict, allowed_values: dict | None = None) -> None:
    """Raise ParameterError for an injected name the chapter does not declare, or a value outside
    ``allowed_values[name]`` (a collection of allowed values)."""
    unknown = [n for n in injected_names() if n not in declared]
    if unknown:
        raise ParameterError(
            f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
            f"this chapter takes: {', '.join(declared)}"
        )
    for name, allowed in (allowed_values or {}).items():
        if declared.get(name) not in allowed:
            raise ParameterError(f"{name} must be one of {', '.join(map(str, allowed))}, got {declared.get(name)!r}")
