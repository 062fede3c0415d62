"""The package's rooms: every module imports on its own, no two modules import each other, directly or around a
circle (lazy imports inside functions count; imports only for type checkers do not), and the rooms stand on each
other one way (ROOMS below). Shared error classes live in errors.py, which imports nothing of the package, so
raising an error never needs the module that catches it."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sft_studio"


def _dotted(path: Path) -> str:
    """`data/readers.py` -> `data.readers`; a room's `data/__init__.py` -> `data`; the package's own -> `__init__`."""
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


FILES = {_dotted(p): p for p in sorted(PACKAGE.rglob("*.py")) if "__pycache__" not in p.parts}
MODULES = sorted(name for name in FILES if name != "__init__")

# Each room and the rooms it may import. Any room may import errors.py and source_map.py (which import nothing of
# the package beyond each other); every room but data/ and run/ may import config.py. No room imports cli.py,
# inference.py or __main__.py, the commands on top.
ROOMS: dict[str, set[str]] = {
    "run": set(),
    "data": set(),
    "model": {"data"},
    "train": {"data", "model", "run"},
    "estimate": {"data", "model", "train"},
    "export": {"data", "model"},
    "launch": {"run", "train"},
}
FLOOR = {"errors", "source_map"}
TOP_LEVEL = {"__main__", "cli", "config", "errors", "source_map", "inference"}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _resolve(base: list[str], names: list[str], modules: set[str]) -> set[str]:
    """The modules `from <base> import <names>` loads: a name that is a module of `base`, else `base` itself."""
    found = set()
    for name in names:
        candidate = ".".join(base + [name])
        found.add(candidate if candidate in modules else ".".join(base) or "__init__")
    return found


def _imported(node: ast.AST, here: list[str], modules: set[str]) -> set[str]:
    """Modules of the package that `node` imports, anywhere in it except under `if TYPE_CHECKING:`; `here` is the
    package the importing module is in (its dotted parts below sft_studio)."""
    found: set[str] = set()
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                found |= _imported(other, here, modules)
            continue
        if isinstance(child, ast.ImportFrom):
            if child.level:
                base = here[:len(here) - (child.level - 1)] + (child.module.split(".") if child.module else [])
                found |= _resolve(base, [alias.name for alias in child.names], modules)
            elif child.module and child.module.split(".")[0] == "sft_studio":
                found |= _resolve(child.module.split(".")[1:], [alias.name for alias in child.names], modules)
        elif isinstance(child, ast.Import):
            found.update(alias.name.split(".", 1)[1] for alias in child.names if alias.name.startswith("sft_studio."))
        found |= _imported(child, here, modules)
    return found & modules


def import_graph() -> dict[str, set[str]]:
    modules = set(FILES)
    graph = {}
    for name in MODULES:
        path = FILES[name]
        here = list(path.relative_to(PACKAGE).parent.parts)
        graph[name] = _imported(ast.parse(path.read_text(encoding="utf-8")), here, modules) - {name}
    return graph


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


def room_of(name: str) -> str | None:
    first = name.split(".")[0]
    return first if first in ROOMS else None


def test_no_module_of_the_package_imports_itself_around_a_circle():
    circle = find_circle(import_graph())
    assert circle is None, "import circle: " + " -> ".join(circle or [])


def test_the_circle_finder_finds_circles():
    assert find_circle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_circle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_import_graph_sees_relative_imports_at_every_depth():
    graph = import_graph()
    assert "data.readers" in graph["data.dataset"] and "errors" in graph["data.readers"]
    assert "model.lora" in graph["model.load"] and "run.faults" in graph["train.checkpoint"]
    assert {"cli", "train.recipe", "export.command"} <= set(graph) and "cli" in graph["__main__"]


def test_errors_imports_nothing_of_the_package():
    assert import_graph()["errors"] == set()


def test_the_top_level_holds_only_the_commands_and_the_floor():
    """Everything else lives in a room: a new module goes into the room whose job it shares."""
    top = {name for name in MODULES if "." not in name and name not in ROOMS}
    assert top == TOP_LEVEL
    assert set(ROOMS) == {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}


def test_the_rooms_stand_on_each_other_one_way():
    assert find_circle(ROOMS) is None
    offenders = []
    for name, deps in import_graph().items():
        room = room_of(name)
        if room is None:
            continue
        for dep in deps:
            other = room_of(dep)
            if other == room:
                continue
            allowed = other in ROOMS[room] if other else dep in FLOOR or (dep == "config" and room not in ("data", "run"))
            if not allowed:
                offenders.append(f"{name} -> {dep}")
    assert offenders == [], "imports against the rooms' order (ROOMS): " + ", ".join(sorted(offenders))


def test_the_floor_imports_only_the_floor():
    graph = import_graph()
    assert {dep for name in FLOOR for dep in graph[name]} <= FLOOR


def test_config_reads_only_leaf_modules_of_the_rooms():
    """config.py validates against names a few rooms own (the bundled templates, the data suffixes, the metrics,
    the sweep block's rules): each such module imports nothing of the package but the floor and each other, so
    the config never pulls in a room's machinery (or, through it, itself)."""
    graph = import_graph()
    direct = graph["config"]
    reached, todo = set(), list(direct)
    while todo:
        name = todo.pop()
        if name not in reached:
            reached.add(name)
            todo += graph[name]
    assert reached <= direct | FLOOR, f"config reaches {sorted(reached - direct - FLOOR)} through its leaf modules"


def test_nothing_imports_the_commands_on_top():
    graph = import_graph()
    offenders = [f"{name} -> {dep}" for name, deps in graph.items() for dep in deps
                 if dep in {"cli", "__main__"} and name != "__main__" or dep == "inference" and name != "cli"]
    assert offenders == []


@pytest.mark.parametrize("name", [m for m in MODULES if m != "__main__"])
def test_every_module_imports(name):
    importlib.import_module(f"sft_studio.{name}")


def test_the_package_never_imports_the_bench_tools():
    """bench/sft_bench (the benchmark, the estimator check, memtrack) imports the trainer, never the reverse."""
    offenders = []
    for name in MODULES:
        for node in ast.walk(ast.parse(FILES[name].read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else \
                [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            offenders += [f"{name}: {n}" for n in names if n.split(".")[0] == "sft_bench"]
    assert offenders == []


@pytest.mark.parametrize("name", ["runner", "estimate_check", "memtrack"])
def test_every_bench_tool_imports(name):
    importlib.import_module(f"sft_bench.{name}")
