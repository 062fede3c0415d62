"""Load a YAML or JSON config while remembering where every key and value sits in the file.

Validation errors must point at `file:line:col`, so we keep the composed YAML node tree (JSON is
a subset of YAML, so one loader serves both) and record 1-based positions per JSON path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from .errors import SourceError


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


# A config is a few dozen values; these limits stop a hostile or broken file (a "billion laughs" of nested aliases,
# an alias inside its own anchor, thousands of brackets) long before it can exhaust memory, time or the stack.
# The editor's parser caps aliases the same way (src/config/parseConfig.ts, maxAliasCount 100).
MAX_ALIASES = 100
"""Uses of `*anchor`, counting those inside the values other aliases copy in."""
MAX_ALIASED_VALUES = 10_000
"""Values (scalars and collections) that aliases copy in, all together."""
MAX_DEPTH = 100
"""Collections nested in one another, aliases included."""


class _Alias(yaml.Node):
    """A use of `*anchor`: where it is written, and the node it names (PyYAML's composer returns only the node)."""

    id = "alias"

    def __init__(self, anchor: str, target: yaml.Node, start_mark: yaml.Mark, end_mark: yaml.Mark):
        super().__init__(None, target, start_mark, end_mark)
        self.anchor = anchor


class _TooComplex(yaml.MarkedYAMLError):
    """Past one of the limits above."""


class _Loader(yaml.SafeLoader):
    """SafeLoader that resolves plain scalars by the YAML 1.2 core schema (below), keeps where each alias is used,
    and refuses nesting deeper than MAX_DEPTH before the composer's recursion could overflow."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            return _Alias(event.anchor, super().compose_node(parent, index), event.start_mark, event.end_mark)
        if self._depth >= MAX_DEPTH:
            raise _TooComplex(problem=f"nested more than {MAX_DEPTH} levels deep", problem_mark=event.start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


# The editor reads configs with the YAML 1.2 core schema (src/config/parseConfig.ts), so the trainer does too and
# both agree on every value: only true/false are booleans (`packing: yes` is the string "yes"), `1e-4` is a float,
# `010` is ten, and there are no timestamps (`run_name: 2024-01-01` is a string) or sexagesimal numbers.
_TAG = "tag:yaml.org,2002:"
_CORE = {
    f"{_TAG}null": re.compile(r"^(?:~|null|Null|NULL|)$"),
    f"{_TAG}bool": re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    f"{_TAG}int": re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    f"{_TAG}float": re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
                               r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
}
_Loader.yaml_implicit_resolvers = {}
for _tag, _first in ((f"{_TAG}null", ["~", "n", "N", ""]), (f"{_TAG}bool", list("tTfF")),
                     (f"{_TAG}int", list("-+0123456789")), (f"{_TAG}float", list("-+0123456789."))):
    _Loader.add_implicit_resolver(_tag, _CORE[_tag], _first)
_COLLECTION_TAGS = (f"{_TAG}map", f"{_TAG}seq")


def _pos(mark: yaml.Mark) -> Position:
    return Position(mark.line + 1, mark.column + 1)


@dataclass
class _Expansion:
    """What constructing the tree has used up so far, against the limits above."""

    path: str
    aliases: int = 0
    aliased_values: int = 0
    open: set[int] = field(default_factory=set)  # ids of the collections being constructed (the current branch)


def _construct(node: yaml.Node, here: tuple, smap: SourceMap, used: _Expansion | None = None,
               alias: _Alias | None = None, depth: int = 0) -> Any:
    """The Python value of `node`; `alias` is the outermost alias whose value is being copied in, if any."""
    used = used or _Expansion(smap.path)
    if isinstance(node, _Alias):
        used.aliases += 1
        if id(node.value) in used.open:
            raise SourceError(used.path, _pos(node.start_mark),
                              f"alias `*{node.anchor}` is used inside its own anchor's value, which would make it "
                              "infinite; copy the values it needs instead")
        if used.aliases > MAX_ALIASES:
            # At the alias in the text being read, not one inside the values it copies in.
            raise SourceError(used.path, _pos((alias or node).start_mark),
                              f"more than {MAX_ALIASES} aliases are expanded; write the values out instead of aliasing them")
        return _construct(node.value, here, smap, used, alias or node, depth)
    if alias is not None:
        used.aliased_values += 1
        if used.aliased_values > MAX_ALIASED_VALUES:
            raise SourceError(used.path, _pos(alias.start_mark),
                              f"aliases copy in more than {MAX_ALIASED_VALUES} values; write the values out instead of aliasing them")
    if depth > MAX_DEPTH:
        raise SourceError(used.path, _pos((alias or node).start_mark), f"nested more than {MAX_DEPTH} levels deep")
    smap.values[here] = _pos(node.start_mark)
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
        if node.tag not in _COLLECTION_TAGS:
            raise _unsupported_tag(used.path, node)
        used.open.add(id(node))
        try:
            return _collection(node, here, smap, used, alias, depth + 1)
        finally:
            used.open.discard(id(node))
    return _scalar(node, used.path)


def _collection(node: yaml.CollectionNode, here: tuple, smap: SourceMap, used: _Expansion, alias: _Alias | None,
                depth: int) -> Any:
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            while isinstance(key_node, _Alias):
                used.aliases += 1
                key_node = key_node.value
            if not isinstance(key_node, yaml.ScalarNode):
                raise SourceError(smap.path, _pos(key_node.start_mark),
                                  "a key must be a plain name such as `learning_rate`, not a list or mapping")
            _scalar(key_node, smap.path)  # refuses the tags a value may not have either
            key = key_node.value  # as written: `true:` is the key "true", as the editor reads it
            if key in out:
                raise SourceError(smap.path, _pos(key_node.start_mark), f"duplicate key `{key}`: keep only one of them")
            smap.keys[here + (key,)] = _pos(key_node.start_mark)
            out[key] = _construct(value_node, here + (key,), smap, used, alias, depth)
        return out
    return [_construct(item, here + (i,), smap, used, alias, depth) for i, item in enumerate(node.value)]


def _scalar(node: yaml.ScalarNode, path: str) -> Any:
    """The value of a scalar whose tag the composer resolved (or the file wrote, as in `!!str 12`)."""
    text, tag = node.value, node.tag
    if tag == f"{_TAG}str":
        return text
    pattern = _CORE.get(tag)
    if pattern is None:
        raise _unsupported_tag(path, node)
    if not pattern.match(text):
        raise SourceError(path, _pos(node.start_mark), f"`{text}` is not a valid `!!{tag[len(_TAG):]}` value")
    if tag.endswith("null"):
        return None
    if tag.endswith("bool"):
        return text.lower() == "true"
    if tag.endswith("int"):
        return int(text[2:], 8) if text.startswith("0o") else int(text[2:], 16) if text.startswith("0x") else int(text)
    lower = text.lower()
    return float(lower.replace(".inf", "inf").replace(".nan", "nan"))


def _unsupported_tag(path: str, node: yaml.Node) -> SourceError:
    """A value such as `!!binary ...`, `!!timestamp ...` or `!!python/object ...`: not something a config holds."""
    shown = f"!!{node.tag[len(_TAG):]}" if node.tag.startswith(_TAG) else node.tag
    return SourceError(path, _pos(node.start_mark), f"`{shown}` values are not supported in a run config; write a "
                                                    "plain string, number, true/false, list or mapping")


def decode_utf8(path: str, raw: bytes) -> str:
    """The text of a config file; bytes that are not UTF-8 are a SourceError at their line and column."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        column = len(raw[line_start:exc.start].decode("utf-8")) + 1
        raise SourceError(path, Position(raw.count(b"\n", 0, exc.start) + 1, column),
                          f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8") from None


def load_with_positions(path: str, text: str) -> tuple[Any, SourceMap]:
    """Parse `text` (YAML or JSON) and return the data (None when the text holds no value at all, only comments or
    nothing) plus a map of source positions."""
    smap = SourceMap(path)
    if re.match(r"\ufeff?\s*[\[{]", text):
        # A JSON config indented with tabs: YAML does not allow tabs as indentation, JSON does. One space for each
        # leading tab keeps every line and column (the editor does the same: src/config/parseConfig.ts).
        text = re.sub(r"^\t+", lambda tabs: " " * len(tabs.group()), text, flags=re.MULTILINE)
    try:
        node = yaml.compose(text, Loader=_Loader)
    except _TooComplex as exc:
        raise SourceError(path, _pos(exc.problem_mark), str(exc.problem)) from None
    except yaml.reader.ReaderError as exc:
        # Raised before any parsing, with a character offset instead of a mark.
        line_start = text.rfind("\n", 0, exc.position) + 1
        raise SourceError(path, Position(text.count("\n", 0, exc.position) + 1, exc.position - line_start + 1),
                          f"control character U+{exc.character:04X} is not allowed in YAML; remove it") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        position = _pos(mark) if mark else Position(1, 1)
        if exc.context == "expected a single document in the stream":
            raise SourceError(path, position, "a run config is one YAML document: remove this `---` line and what "
                                              "follows it, or move that part to a config of its own") from None
        problem = exc.problem or str(exc)
        if exc.context in ("while parsing a flow sequence", "while parsing a flow mapping") and exc.context_mark:
            # Reported where the parser gave up, often lines later; the bracket left open is where to look.
            opened = _pos(exc.context_mark)
            problem += f" (inside the `{'[' if 'sequence' in exc.context else '{'}` at {opened.line}:{opened.column})"
        raise SourceError(path, position, f"not valid YAML: {problem}; check indentation, colons and quotes") from None
    if node is None:
        return None, smap
    return _construct(node, (), smap), smap


# On a command line `--set packing=no` reads as a switch, as YAML 1.1 had it; in files only true/false do.
_SWITCH_WORDS = {"yes": True, "on": True, "no": False, "off": False}


def parse_scalar(text: str) -> Any:
    """Parse a `--set` value as a YAML scalar or flow collection (`false`, `1e-4`, `[q_proj, v_proj]`), with the
    same rules and limits as a config file (plus yes/no/on/off as true/false); text that is not YAML stays text."""
    if not text.strip():
        return ""
    if text.strip().lower() in _SWITCH_WORDS:
        return _SWITCH_WORDS[text.strip().lower()]
    try:
        node = yaml.compose(text, Loader=_Loader)
        return None if node is None else _construct(node, (), SourceMap("--set"))
    except (yaml.YAMLError, SourceError):
        return text
