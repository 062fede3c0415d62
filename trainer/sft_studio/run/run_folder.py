"""Which files are run configs and how a run's folder is named, read from schema/run-folder-naming.json: the
extension (src/config/configFiles.ts, src/runs/runFolder.ts) reads the same file, and both are tested on the cases
of test/fixtures/run-folder-naming.cases.json."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # config.py imports this module for config_stem
    from ..config import RunConfig

NAMING_PATH = Path(__file__).resolve().parents[3] / "schema" / "run-folder-naming.json"
NAMING: dict[str, Any] = json.loads(NAMING_PATH.read_text(encoding="utf-8"))
CONFIG_SUFFIXES: tuple[str, ...] = tuple(NAMING["config_suffixes"])


def is_run_config(path: str | PurePath) -> bool:
    return PurePath(path).name.lower().endswith(CONFIG_SUFFIXES)


def config_stem(path: str | PurePath) -> str:
    """`demo.sft.yaml` -> `demo`: the run_name a config defaults to."""
    name = PurePath(path).name
    lower = name.lower()
    for suffix in CONFIG_SUFFIXES:
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    dot = name.rfind(".")
    return name[:dot] if 0 < dot < len(name) - 1 else name


def folder_name(name: str, when: datetime) -> str:
    """`<name>-<UTC timestamp>`."""
    stamp = when.astimezone(timezone.utc).strftime(NAMING["timestamp"])
    return NAMING["folder"].format(name=name, timestamp=stamp)


def free_folder(base: Path) -> Path:
    """`base`, or the first of `base-2`, `base-3`, ... that does not exist."""
    candidate, n = base, NAMING["first_n"]
    while candidate.exists():
        candidate, n = base.with_name(NAMING["taken"].format(folder=base.name, n=n)), n + 1
    return candidate


def new_run_dir(cfg: RunConfig) -> Path:
    """<output_dir>/<run_name>-<UTC timestamp>, with a numeric suffix if that folder already exists."""
    return free_folder(Path(cfg.output_dir) / folder_name(cfg.run_name, datetime.now(timezone.utc)))
