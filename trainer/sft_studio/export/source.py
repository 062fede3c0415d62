"""What an export reads from a checkpoint folder, without loading any weights.

A checkpoint holds a LoRA adapter (adapter_config.json: the base is the model it names) or a whole model
(config.json). When it still sits in its run (RUN_DIR/checkpoints/step-N), the run's config.resolved.json
says how it was trained (chat template kwargs, the Hub id of the base, data files, hyperparameters) and
events.jsonl holds its evaluations; a checkpoint copied elsewhere exports too, with less to say in its card.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ExportError
from ..model import hub

ADAPTER_CONFIG = "adapter_config.json"
RESOLVED_CONFIG = "config.resolved.json"
# A Hub snapshot in the Hugging Face cache: .../models--ORG--NAME/snapshots/<commit>
_CACHED_SNAPSHOT = re.compile(r"models--([\w.-]+?)--([\w.-]+)[/\\]snapshots[/\\]([0-9a-f]{40})")


@dataclass
class ExportSource:
    checkpoint: Path
    adapter: bool
    base: str | None
    """For an adapter: its base as adapter_config.json names it (a folder or a Hub id)."""
    run_dir: Path | None = None
    config: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def task(self) -> str:
        return self.config.get("task") or "causal_lm"

    @property
    def template_kwargs(self) -> dict[str, Any]:
        return self.config.get("chat_template_kwargs") or {}

    @property
    def step(self) -> int | None:
        name = self.checkpoint.name
        return int(name[5:]) if name.startswith("step-") and name[5:].isdigit() else None

    @property
    def trust_remote_code(self) -> bool:
        return bool(self.config.get("trust_remote_code"))

    def base_hub_id(self) -> tuple[str | None, str | None]:
        """(Hub id, commit) of the model the run started from, when it came from the Hub: the run config's
        `model_name_or_path`, else a cached snapshot path the adapter names. (None, None) for a local model."""
        named = self.config.get("model_name_or_path")
        if isinstance(named, str) and hub.is_hub_id(named):
            return named, self.config.get("model_commit")
        for candidate in (self.base, named):
            match = _CACHED_SNAPSHOT.search(candidate or "")
            if match:
                return f"{match.group(1)}/{match.group(2)}", match.group(3)
        return None, None


def read_source(checkpoint: str | Path) -> ExportSource:
    folder = Path(checkpoint).resolve()
    if not folder.is_dir():
        raise ExportError(f"{folder} is not a folder",
                          "Pass a checkpoint folder such as RUN_DIR/checkpoints/step-600.")
    adapter = (folder / ADAPTER_CONFIG).is_file()
    if not adapter and not (folder / "config.json").is_file():
        raise ExportError(f"{folder} is not a checkpoint (no config.json or {ADAPTER_CONFIG})",
                          "Pass a checkpoint folder such as RUN_DIR/checkpoints/step-600.")
    base = _read_json(folder / ADAPTER_CONFIG).get("base_model_name_or_path") if adapter else None
    if adapter and not base:
        raise ExportError(f"{folder / ADAPTER_CONFIG} names no base_model_name_or_path",
                          "Export a checkpoint written by SFT Studio (or add the base model's folder or Hub id).")
    source = ExportSource(folder, adapter, base)
    run_dir = folder.parent.parent
    if folder.parent.name == "checkpoints" and (run_dir / RESOLVED_CONFIG).is_file():
        source.run_dir = run_dir
        source.config = _read_json(run_dir / RESOLVED_CONFIG)
        source.events = _read_events(run_dir / "events.jsonl")
    return source


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _read_events(path: Path) -> list[dict[str, Any]]:
    """The run's events; a line cut short by a crash is skipped, as the extension's reader does."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    events = []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events
