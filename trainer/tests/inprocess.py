"""Train inside the pytest process: no interpreter start-up or imports per run, which keeps the suite short."""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

from sft_studio.config import config_from_resolved, load_config
from sft_studio.train.recipe import run_training

from .conftest import DATA, write_config


def small_config(folder: Path, **fields) -> Path:
    """A few-step run on short examples, validated on 16 held-out rows."""
    val = folder / "val16.jsonl"
    val.write_text("".join((DATA / "instruct_val.jsonl").read_text().splitlines(keepends=True)[:16]))
    base = {"validation_file": str(val), "max_length": 64, "per_device_train_batch_size": 4,
            "learning_rate": 1e-3, "max_steps": 4, "eval_strategy": "no"}
    return write_config(folder, **{**base, **fields})


def train_here(config: Path | None, run_dir: Path, *overrides: str, resume: bool = False) -> int:
    """`train CONFIG --output-dir RUN_DIR --set ...` (or `train --resume RUN_DIR`) in this process."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        if resume:
            cfg = config_from_resolved(json.loads((run_dir / "config.resolved.json").read_text()))
            return run_training(cfg, run_dir / "config.resolved.json", run_dir, resume=True)
        cfg, config_path = load_config(config, list(overrides))
        return run_training(cfg, config_path, run_dir)
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def copy_as_of(run_dir: Path, step: int, copy: Path) -> int:
    """A copy of a run as it was right after its checkpoint at `step`: later checkpoints and events never
    happened. Returns how many events the copy keeps."""
    shutil.copytree(run_dir, copy)
    for path in (copy / "checkpoints").iterdir():
        if int(path.name.split("-")[1]) > step:
            shutil.rmtree(path)
    lines = (copy / "events.jsonl").read_text().splitlines(keepends=True)
    cut = next(i for i, line in enumerate(lines) if json.loads(line)["type"] == "checkpoint"
               and json.loads(line)["step"] == step) + 1
    (copy / "events.jsonl").write_text("".join(lines[:cut]))
    return cut
