"""Load a YAML or JSON config while remembering where every key and value sits in the file.

Validation errors must point at `file:line:col`, so we keep the composed YAML node tree (JSON is
a subset of YAML, so one loader serves both) and record 1-based positions per JSON path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml


@dataclass(frozen=True)
class Position:
    line: int
    column: int


@dataclass
class SourceMap:
    """Positions of keys and values, keyed by a tuple path such as ('lora_target_modules', 1)."""

    path: str
    keys: dict[tuple, Position] = field(default_factory=dict)
    values: dict[tuple, Position] = field(default_factory=dict)

    def key(self, path: tuple) -> Position:
        return self.keys.get(path) or self.value(path)

    def value(self, path: tuple) -> Position:
        while path and path not in self.values:
            path = path[:-1]
        return self.values.get(path, Position(1, 1))


class SourceError(ValueError):
    """The file is not parseable YAML/JSON at all."""

    def __init__(self, path: str, position: Position, message: str):
        super().__init__(f"{path}:{position.line}:{position.column}: {message}")
        self.path = path
        self.position = position
        self.message = message


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads `1e-4` as a float (YAML 1.1 wants `1.0e-4`, users write `1e-4`)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def _pos(mark: yaml.Mark) -> Position:
    return Position(mark.line + 1, mark.column + 1)


def _construct(node: yaml.Node, here: tuple, smap: SourceMap) -> Any:
    smap.values[here] = _pos(node.start_mark)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(_scalar(key_node)) if isinstance(key_node, yaml.ScalarNode) else str(key_node.start_mark)
            if key in out:
                raise SourceError(smap.path, _pos(key_node.start_mark), f"duplicate key `{key}`: keep only one of them")
            smap.keys[here + (key,)] = _pos(key_node.start_mark)
            out[key] = _construct(value_node, here + (key,), smap)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, here + (i,), smap) for i, item in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.ScalarNode) -> Any:
    # The composer already resolved the tag (int, float, bool, null, str); construct the Python value for it.
    return _Loader("").construct_object(node)


def load_with_positions(path: str, text: str) -> tuple[Any, SourceMap]:
    """Parse `text` (YAML or JSON) and return the data plus a map of source positions."""
    smap = SourceMap(path)
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        position = _pos(mark) if mark else Position(1, 1)
        problem = exc.problem or str(exc)
        raise SourceError(path, position, f"not valid YAML: {problem}; check indentation, colons and quotes") from None
    if node is None:
        return {}, smap
    return _construct(node, (), smap), smap


def parse_scalar(text: str) -> Any:
    """Parse a `--set` value as a YAML scalar or flow collection (`false`, `1e-4`, `[q_proj, v_proj]`)."""
    try:
        return yaml.load(text, Loader=_Loader) if text.strip() else ""
    except yaml.YAMLError:
        return text
