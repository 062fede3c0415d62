"""The `sweep:` block of a run config: its checks (with positions) and its parameters in one normal form.

The editor applies the same rules (src/config/sweepProblems.ts). Parameters are written as a list of values,
`{values: [...]}`, or a range `{min, max, log}` (random and bayes only); a range is of integers when both bounds
are whole numbers. Every swept name is a real config field, and every listed value is one that field accepts.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any, Optional

import jsonschema

from ..source_map import SourceMap

METHODS = ("grid", "random", "bayes")
# Fields a sweep sets itself, or that make no sense per trial.
NOT_SWEPT = ("sweep", "sweep_id", "sweep_trial", "output_dir", "run_name", "launcher", "slurm")
VALUES_EXAMPLE = "a list such as [1e-4, 3e-4], {values: [...]}, or (random, bayes) a range {min: 1e-5, max: 1e-3, log: true}"


@dataclass(frozen=True)
class Param:
    """One swept field: either `values` (a categorical choice) or a range [low, high]."""

    name: str
    values: Optional[tuple[Any, ...]] = None
    low: Optional[float] = None
    high: Optional[float] = None
    log: bool = False
    integer: bool = False

    def to_json(self) -> dict[str, Any]:
        if self.values is not None:
            return {"values": list(self.values)}
        return {"min": self.low, "max": self.high, "log": self.log, "integer": self.integer}


def parse_params(parameters: dict[str, Any]) -> list[Param]:
    """The block's parameters (already checked) in the order they are written."""
    out: list[Param] = []
    for name, spec in parameters.items():
        if isinstance(spec, list):
            out.append(Param(name, values=tuple(spec)))
        elif "values" in spec:
            out.append(Param(name, values=tuple(spec["values"])))
        else:
            integer = _whole(spec["min"]) and _whole(spec["max"])
            out.append(Param(name, low=spec["min"], high=spec["max"], log=bool(spec.get("log")), integer=integer))
    return out


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return repr(value) if isinstance(value, str) else json.dumps(value)


def _label(path: tuple) -> str:
    return str(path[0]) + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path[1:])


def _where(smap: SourceMap, overrides: dict[str, str], path: tuple, on_key: bool = False) -> tuple[str, int, int]:
    if path[0] in overrides:
        return f"--set {path[0]}={overrides[path[0]]}", 0, 0
    pos = smap.key(path) if on_key else smap.value(path)
    return smap.path, pos.line, pos.column


def sweep_schema_issue(error: jsonschema.ValidationError, smap: SourceMap, overrides: dict[str, str],
                       spec: dict[str, Any]) -> tuple[str, int, int, str]:
    """A schema error inside `sweep`, named like `sweep.parameters.learning_rate` and placed at that value."""
    path = tuple(error.absolute_path)
    label, got = _label(path), _describe(error.instance)
    props = spec["properties"]
    if len(path) >= 3 and path[1] == "parameters":
        return (*_where(smap, overrides, path[:3]), f"`{_label(path[:3])}` must be {VALUES_EXAMPLE}, "
                                                    f"got {got}")
    if error.validator == "additionalProperties" and len(path) == 1:
        unknown = [k for k in error.instance if k not in props][0]
        close = difflib.get_close_matches(unknown, list(props), n=1)
        fix = f"did you mean `{close[0]}`?" if close else f"it takes {', '.join(props)}"
        return (*_where(smap, overrides, ("sweep", unknown), on_key=True), f"`sweep` has unknown key `{unknown}`: {fix}")
    where = _where(smap, overrides, path)
    if len(path) == 1 and error.validator == "type":
        return (*where, "`sweep` must be a mapping such as {method: grid, parameters: {learning_rate: [1e-4, 3e-4]}}, "
                        f"got {got}")
    if error.validator == "required":
        return (*where, "`sweep` needs `parameters`: the config fields to sweep and their values, e.g. "
                        "`parameters: {learning_rate: [1e-4, 3e-4]}`")
    if path[-1] == "parameters":
        return (*where, f"`sweep.parameters` must name at least one config field and its values, e.g. "
                        f"{{learning_rate: [1e-4, 3e-4]}}, got {got}")
    if error.validator == "enum":
        close = difflib.get_close_matches(str(error.instance), METHODS, n=1)
        return (*where, f"`{label}` must be one of {', '.join(METHODS)}, got {got}"
                        + (f"; did you mean `{close[0]}`?" if close else ""))
    if error.validator in ("minimum", "type"):
        return (*where, f"`{label}` must be a whole number{' of at least 1' if error.validator == 'minimum' or path[-1] != 'seed' else ''}, got {got}")
    return (*where, f"`{label}`: {error.message}")


def sweep_problems(cfg: dict[str, Any], smap: SourceMap, overrides: dict[str, str], schema: dict[str, Any],
                   aliases: dict[str, str] | None = None):
    """What the schema cannot say about a sweep: real fields, values those fields accept, ranges only where they can be
    sampled, a budget for random and bayes, and evaluations to compute the objective from."""
    sweep = cfg.get("sweep")
    if not isinstance(sweep, dict) or not isinstance(sweep.get("parameters"), dict):
        return
    props = schema["properties"]
    method = sweep.get("method", "grid")
    for name, spec in sweep["parameters"].items():
        path = ("sweep", "parameters", name)
        if name not in props or name in NOT_SWEPT:
            candidates = [p for p in props if p not in NOT_SWEPT]
            close = [aliases[name]] if aliases and name in aliases else \
                difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
            fix = f"did you mean `{close[0]}`?" if close else "remove it or check the spelling against the schema"
            why = "is set by the sweep itself" if name in NOT_SWEPT else "is not a config field"
            yield _where(smap, overrides, path, on_key=True), f"`sweep.parameters.{name}` {why}: {fix}"
            continue
        field = props[name]
        if isinstance(spec, list) or (isinstance(spec, dict) and "values" in spec):
            values, at = (spec, path) if isinstance(spec, list) else (spec["values"], path + ("values",))
            for i, value in enumerate(values if isinstance(values, list) else []):
                if not jsonschema.Draft202012Validator(field).is_valid(value):
                    yield (_where(smap, overrides, at + (i,)),
                           f"`{_label(at + (i,))}` is {_describe(value)}, which `{name}` does not accept "
                           f"({_field_kind(field)}); fix the value or remove it")
            if isinstance(values, list) and len({json.dumps(v) for v in values}) < len(values):
                yield _where(smap, overrides, at), f"`{_label(at)}` lists a value twice; remove the repeat"
        elif isinstance(spec, dict):
            yield from _range_problems(name, spec, field, method, smap, overrides, path)
    if method in ("random", "bayes") and sweep.get("max_trials") is None:
        yield (_where(smap, overrides, ("sweep",), on_key=True),
               f"`sweep` with `method: {method}` needs a budget: add `max_trials: N` (how many trials to run)")
    if method == "grid" and sweep.get("max_trials") is not None:
        yield (_where(smap, overrides, ("sweep", "max_trials")),
               "`sweep.max_trials` applies to random and bayes; a grid runs every combination (remove it, or use "
               "`method: random`)")
    yield from _evaluation_problems(cfg, smap, overrides)


def _range_problems(name: str, spec: dict[str, Any], field: dict[str, Any], method: str, smap: SourceMap,
                    overrides: dict[str, str], path: tuple):
    low, high = spec.get("min"), spec.get("max")
    kinds = field.get("type") if isinstance(field.get("type"), list) else [field.get("type")]
    if method == "grid":
        yield (_where(smap, overrides, path),
               f"`sweep.parameters.{name}` is a range, which a grid cannot enumerate: list the values "
               f"(e.g. [{low}, {high}]) or use `method: random` or `method: bayes` with `max_trials`")
    elif not {"number", "integer"} & set(kinds):
        yield (_where(smap, overrides, path),
               f"`sweep.parameters.{name}` is a range, but `{name}` is {_field_kind(field)}: list its values instead")
    if not isinstance(low, (int, float)) or not isinstance(high, (int, float)):
        return
    if low >= high:
        yield (_where(smap, overrides, path + ("min",)),
               f"`sweep.parameters.{name}` needs min < max, got min {low} and max {high}; swap or widen them")
    if spec.get("log") and low <= 0:
        yield (_where(smap, overrides, path + ("min",)),
               f"`sweep.parameters.{name}` is sampled on a log scale, which needs min > 0, got {low}; use a positive "
               "min such as 1e-6, or `log: false`")
    if "integer" in kinds and "number" not in kinds and not (_whole(low) and _whole(high)):
        yield (_where(smap, overrides, path),
               f"`{name}` takes whole numbers: write the range's min and max as whole numbers, got {low} and {high}")
    for bound, value in (("minimum", low), ("maximum", high)):
        limit = field.get(bound)
        if limit is not None and ((bound == "minimum" and value < limit) or (bound == "maximum" and value > limit)):
            yield (_where(smap, overrides, path + ("min" if bound == "minimum" else "max",)),
                   f"`{name}` must be {'at least' if bound == 'minimum' else 'at most'} {limit}; the range reaches {value}")
    for bound, value in (("exclusiveMinimum", low), ("exclusiveMaximum", high)):
        limit = field.get(bound)
        if limit is not None and ((bound == "exclusiveMinimum" and value <= limit) or (bound == "exclusiveMaximum" and value >= limit)):
            yield (_where(smap, overrides, path + ("min" if bound == "exclusiveMinimum" else "max",)),
                   f"`{name}` must be {'greater' if bound == 'exclusiveMinimum' else 'less'} than {limit}; the range reaches {value}")


def _evaluation_problems(cfg: dict[str, Any], smap: SourceMap, overrides: dict[str, str]):
    """Each trial's objective is an evaluation metric, so every trial must evaluate on validation data."""
    where = _where(smap, overrides, ("sweep",), on_key=True)
    if not cfg.get("validation_file") and not cfg.get("validation_split_ratio"):
        yield where, ("a sweep ranks trials by an evaluation metric and this config has no validation data: add "
                      "`validation_file: data/val.jsonl` or `validation_split_ratio: 0.1`")
    if cfg.get("eval_strategy") in (None, "no"):
        yield where, ("a sweep ranks trials by their evaluations: set `eval_strategy: steps` (with `eval_steps: N`) "
                      "or `eval_strategy: epoch`")


def _field_kind(field: dict[str, Any]) -> str:
    if "enum" in field:
        return "one of " + ", ".join(str(v) for v in field["enum"])
    kinds = field.get("type") if isinstance(field.get("type"), list) else [field.get("type")]
    words = {"string": "a string", "number": "a number", "integer": "a whole number", "boolean": "true or false",
             "array": "a list", "object": "a mapping", "null": "null"}
    text = " or ".join(words.get(k, str(k)) for k in kinds)
    bounds = [f"{w} {field[b]}" for b, w in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="),
                                             ("exclusiveMaximum", "<")) if b in field]
    return text + (f" {' and '.join(bounds)}" if bounds else "")
