"""Checkpoints: written to a temporary folder, then renamed, so a checkpoint folder is always complete."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import torch

from . import lora

CHECKPOINTS = "checkpoints"


def checkpoint_name(step: int) -> str:
    return f"step-{step}"


TRAINER_STATE = "trainer_state.pt"


def save_checkpoint(run_dir: Path, step: int, model: Any, tokenizer: Any, trainer_state: dict[str, Any],
                    merge_lora: bool = False, state_dict: dict[str, torch.Tensor] | None = None) -> Path:
    """Model (or LoRA adapter) + tokenizer in Hugging Face layout, plus what resuming needs (optimizer, scheduler,
    gradient scaler, RNG, position); with `merge_lora` also the adapter merged into a full model in `merged/`.
    `state_dict` replaces the model's own weights (the gathered full weights of a sharded model)."""
    root = run_dir / CHECKPOINTS
    root.mkdir(parents=True, exist_ok=True)
    final = root / checkpoint_name(step)
    tmp = root / f".tmp-{checkpoint_name(step)}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    model.save_pretrained(tmp, safe_serialization=True, **({"state_dict": state_dict} if state_dict is not None else {}))
    tokenizer.save_pretrained(tmp)
    torch.save(trainer_state, tmp / TRAINER_STATE)
    if merge_lora:
        lora.save_merged(model, tokenizer, tmp / lora.MERGED)
    if final.exists():
        # Same step saved twice (e.g. "save now" then the final save): replace it as a whole.
        old = root / f".old-{checkpoint_name(step)}-{os.getpid()}"
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)
    return final


def list_checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    root = run_dir / CHECKPOINTS
    if not root.is_dir():
        return []
    found = []
    for child in root.iterdir():
        if child.is_dir() and child.name.startswith("step-") and child.name[5:].isdigit():
            found.append((int(child.name[5:]), child))
    return sorted(found)


def prune_checkpoints(run_dir: Path, keep: int | None, protect: set[int]) -> None:
    if keep is None:
        return
    removable = [(step, path) for step, path in list_checkpoints(run_dir) if step not in protect]
    for _, path in removable[: max(0, len(removable) - keep)]:
        shutil.rmtree(path, ignore_errors=True)


def latest_resumable(run_dir: Path) -> tuple[int, Path] | None:
    """The newest checkpoint that holds trainer state (temp folders never match `step-N`)."""
    for step, path in reversed(list_checkpoints(run_dir)):
        if (path / TRAINER_STATE).is_file():
            return step, path
    return None


def load_trainer_state(path: Path) -> dict[str, Any]:
    return torch.load(path / TRAINER_STATE, map_location="cpu", weights_only=False)
