"""Shared fixtures: the embedded tiny model and bundled data under examples/, and small run configs."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
MODEL = EXAMPLES / "tiny-llama"
DATA = EXAMPLES / "data"
# The benchmark and check tools (bench/sft_bench) import the trainer; some tests use them.
sys.path.insert(0, str(REPO / "bench"))

torch.set_num_threads(min(2, os.cpu_count() or 1))


def write_config(folder: Path, name: str = "t.sft.yaml", **fields) -> Path:
    base = {
        "model_name_or_path": str(MODEL),
        "train_file": str(DATA / "instruct_train.jsonl"),
        "output_dir": str(folder / "runs"),
    }
    base.update(fields)
    path = folder / name
    path.write_text("\n".join(f"{k}: {json.dumps(v)}" for k, v in base.items()) + "\n")
    return path


def read_events(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines() if line.strip()]


@pytest.fixture(scope="session")
def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(MODEL, local_files_only=True)
