"""The package's three layers (README, Layout): each imports only the layers below it, and the two
tasks share the run machinery instead of importing each other."""

import ast
from pathlib import Path

import paper_repro

PACKAGE = Path(paper_repro.__file__).parent
# 0: the paper, 1: its architectures, 2: the run machinery and the records, 3: the two tasks, 4: the
# experiments (what trains or opens a checkpoint for the book, on both tasks), 5: the book (pages
# only), 6: entry points
LAYER = {
    "_version": 0,
    "paper": 0,
    "models": 1,
    "runs": 2,
    "classification": 3,
    "detection": 3,
    "experiments": 4,
    "book": 5,
    "tools": 6,
    "cli": 6,
    "reproduce": 6,
    "__main__": 6,
    "__init__": 6,
}


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, module_level_only: bool = False):
    """Every paper_repro module ``path`` imports, at module level or (unless ``module_level_only``)
    inside a function."""
    tree = ast.parse(path.read_text())
    for node in tree.body if module_level_only else ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("paper_repro"):
            for a in node.names:  # `from paper_repro.runs import store` imports the module runs.store
                sub = f"{node.module}.{a.name}"
                yield sub if sub in MODULES or node.module == "paper_repro" else node.module
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("paper_repro"))


MODULES = {_module(p) for p in PACKAGE.rglob("*.py")}


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_each_layer_imports_only_the_layers_below_it_and_the_tasks_not_each_other():
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        here = _module(path)
        assert _part(here) in LAYER, f"{here}: a module outside the layers of the README's Layout"
        for there in _imports(path):
            a, b = LAYER[_part(here)], LAYER[_part(there)]
            if b > a or (a == b == 3 and _part(here) != _part(there)):
                wrong.append(f"{here} imports {there}")
    assert not wrong, "\n".join(wrong)


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle in ``graph`` (module -> modules it imports), or None."""
    state: dict[str, int] = {}

    def visit(m, path):
        state[m] = 1
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                return path[path.index(t) :] + [t]
            if t not in state and (found := visit(t, path + [t])):
                return found
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m, [m])):
            return found
    return None


def _graph(module_level_only: bool) -> dict[str, set[str]]:
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    assert len(modules) > 30
    return {m: {t for t in _imports(p, module_level_only) if t in modules and t != m} for m, p in modules.items()}


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_between_modules():
    """Neither at import time nor through an import inside a function: a call-time import that
    closes a circle (a config importing the module that trains it, which imports the config) only
    hides it. A package's ``__init__`` importing its own modules (``classification`` imports its
    ``train``, which registers ``fit``) is no circle: Python loads a package before its modules,
    and none of them imports the package back."""
    for module_level_only in (True, False):
        found = _cycle(_graph(module_level_only))
        where = "at import time" if module_level_only else "counting imports inside functions"
        assert found is None, f"import cycle {where}: " + " -> ".join(found)


def test_the_book_holds_pages_only_no_torch_and_no_task_training_or_data_code():
    """paper_repro.book turns records and finished runs into pages: whatever trains or opens a
    checkpoint lives in paper_repro.experiments (or below), never in the book."""
    forbidden = ("torch", "torchvision") + tuple(
        f"paper_repro.{task}.{part}" for task in ("classification", "detection") for part in ("train", "data")
    )
    wrong = []
    for path in sorted((PACKAGE / "book").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            wrong += [f"{path.name} imports {n}" for n in names if n.split(".")[0] in forbidden or n in forbidden]
    assert not wrong, "\n".join(wrong)
