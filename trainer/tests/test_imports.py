"""The package's rooms: every module imports on its own, and no two modules import each other, directly or around a
circle (lazy imports inside functions count; imports only for type checkers do not). Shared error classes live in
errors.py, which imports nothing of the package, so raising an error never needs the module that catches it."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sft_studio"
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imported(node: ast.AST, modules: set[str]) -> set[str]:
    """Modules of the package that `node` imports, anywhere in it except under `if TYPE_CHECKING:`."""
    found: set[str] = set()
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                found |= _imported(other, modules)
            continue
        if isinstance(child, ast.ImportFrom):
            if child.level == 1 and child.module:
                found.add(child.module.split(".")[0])
            elif child.level == 1:
                found.update(alias.name for alias in child.names)
            elif child.level == 0 and child.module and child.module.split(".")[0] == "sft_studio":
                parts = child.module.split(".")
                found.update([parts[1]] if len(parts) > 1 else [alias.name for alias in child.names])
        elif isinstance(child, ast.Import):
            found.update(alias.name.split(".")[1] for alias in child.names
                         if alias.name.startswith("sft_studio."))
        found |= _imported(child, modules)
    return found & modules


def import_graph() -> dict[str, set[str]]:
    modules = set(MODULES) | {"__init__"}
    return {name: _imported(ast.parse((PACKAGE / f"{name}.py").read_text(encoding="utf-8")), modules) - {name}
            for name in MODULES}


def find_circle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of imports as [a, b, ..., a], or None when the graph is acyclic."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for dep in sorted(graph.get(name, ())):
            if state.get(dep) == 1:
                return path[path.index(dep):] + [dep]
            if dep not in state and (circle := visit(dep)):
                return circle
        path.pop()
        state[name] = 2
        return None

    for name in sorted(graph):
        if name not in state and (circle := visit(name)):
            return circle
    return None


def test_no_module_of_the_package_imports_itself_around_a_circle():
    circle = find_circle(import_graph())
    assert circle is None, "import circle: " + " -> ".join(circle or [])


def test_the_circle_finder_finds_circles():
    assert find_circle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_circle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_errors_imports_nothing_of_the_package():
    assert import_graph()["errors"] == set()


@pytest.mark.parametrize("name", [m for m in MODULES if m != "__main__"])
def test_every_module_imports(name):
    importlib.import_module(f"sft_studio.{name}")


def test_the_package_never_imports_the_bench_tools():
    """bench/sft_bench (the benchmark, the estimator check, memtrack) imports the trainer, never the reverse."""
    offenders = []
    for name in MODULES:
        for node in ast.walk(ast.parse((PACKAGE / f"{name}.py").read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else \
                [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            offenders += [f"{name}: {n}" for n in names if n.split(".")[0] == "sft_bench"]
    assert offenders == []


@pytest.mark.parametrize("name", ["runner", "estimate_check", "memtrack"])
def test_every_bench_tool_imports(name):
    importlib.import_module(f"sft_bench.{name}")
