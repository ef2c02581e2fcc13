"""The payments package has no import cycle, hidden or not: every import is at module level
and the module graph is acyclic."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import payments

ROOT = Path(payments.__file__).parent


def _modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = ("payments", *path.relative_to(ROOT).with_suffix("").parts)
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = ast.parse(path.read_text(), str(path))
    return found


MODULES = _modules()


def _imported(node: ast.Import | ast.ImportFrom) -> set[str]:
    """The payments modules an import statement loads (a name of a package may be a module)."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in MODULES}
    base = node.module or ""
    out = {f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES}
    if len(out) < len(node.names) and base in MODULES:
        out.add(base)
    return out


def test_no_function_level_imports() -> None:
    """No module of payments imports inside a function (an import there can hide a cycle)."""
    hidden = [
        f"{name}:{inner.lineno}"
        for name, tree in MODULES.items()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for inner in ast.walk(node)
        if isinstance(inner, ast.Import | ast.ImportFrom)
    ]
    assert hidden == []


def test_module_import_graph_is_acyclic() -> None:
    """The graph of module-level imports between payments modules has no cycle."""
    graph = {
        name: set().union(*(_imported(node) for node in tree.body
                            if isinstance(node, ast.Import | ast.ImportFrom))) - {name}
        for name, tree in MODULES.items()
    }  # fmt: skip
    order = list(graphlib.TopologicalSorter(graph).static_order())  # CycleError on a cycle
    assert order.index("payments.context") < order.index("payments.flows.payments")
    assert order.index("payments.flows.payments") < order.index("payments.api")
