"""Sequence classification: pair encoding, metrics, and real training runs of the CLI on the tiny model."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest

from sft_studio.classify import ClassificationEncoder, accuracy_and_f1
from sft_studio.readers import Row

from .conftest import DATA, REPO, read_events, write_config

EVENTS_SCHEMA = json.loads((REPO / "schema" / "events.schema.json").read_text())


def test_pair_is_joined_by_a_newline_and_ends_with_eos(tokenizer):
    encoder = ClassificationEncoder(tokenizer, 128, 2)
    example = encoder.encode_row(Row("x:1", {"a": "Zoe is 9.", "b": "Zoe turned 9.", "label": 1}, {"text": "a", "text_pair": "b"}))
    assert tokenizer.decode(example.input_ids) == "Zoe is 9.\nZoe turned 9." + tokenizer.eos_token
    assert example.label == 1 and example.trained_tokens == 1
    single = encoder.encode("abc", None, 0)
    assert tokenizer.decode(single.input_ids) == "abc" + tokenizer.eos_token
    short = ClassificationEncoder(tokenizer, 8, 2).encode("abcdefghij", None, 1)
    assert len(short.input_ids) == 8 and short.truncated


def test_accuracy_and_f1_by_hand():
    predictions = [1, 1, 0, 0, 1, 0]
    labels = [1, 0, 0, 1, 1, 0]
    # Class 1: tp 2, fp 1, fn 1 -> F1 4/6.
    assert accuracy_and_f1(predictions, labels, 2) == {"accuracy": 4 / 6, "f1": pytest.approx(4 / 6)}
    # Three classes: F1 per class (1, 0.5, 0) averaged.
    got = accuracy_and_f1([0, 1, 1, 2], [0, 1, 2, 1], 3)
    assert got["accuracy"] == 0.5 and got["f1"] == pytest.approx((1 + 0.5 + 0) / 3)


def skill(instruction: str) -> int:
    text = instruction.lower()
    if "capital" in text:
        return 3
    if "revers" in text or "backwards" in text:
        return 0
    if "caps" in text or "upper" in text:
        return 1
    return 2


def train(config, run_dir):
    done = subprocess.run([sys.executable, "-m", "sft_studio", "train", str(config), "--output-dir", str(run_dir)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    events = read_events(run_dir)
    for event in events:
        jsonschema.validate(event, EVENTS_SCHEMA)
    return events


def test_single_text_classification_reaches_high_accuracy(tmp_path):
    """Which skill does an instruction ask for (4 classes)? Trained on 480 rows, measured on 200 unseen ones."""
    for name, source, limit in (("train.csv", "instruct_train.jsonl", 480), ("val.csv", "instruct_val.jsonl", 200)):
        rows = [json.loads(line) for line in (DATA / source).read_text().splitlines()[:limit]]
        lines = ["instruction,skill"] + [json.dumps(r["instruction"]) + f",{skill(r['instruction'])}" for r in rows]
        (tmp_path / name).write_text("\n".join(lines) + "\n")
    config = write_config(tmp_path, task="sequence_classification", num_labels=4, train_file=str(tmp_path / "train.csv"),
                          validation_file=str(tmp_path / "val.csv"), column_mapping={"text": "instruction", "label": "skill"},
                          max_length=64, learning_rate=1e-3, warmup_ratio=0.1, max_steps=30,
                          per_device_train_batch_size=16, per_device_eval_batch_size=100, eval_strategy="steps", eval_steps=30)
    events = train(config, tmp_path / "run")
    evals = [e for e in events if e["type"] == "eval"]
    assert [e["step"] for e in evals] == [0, 30]
    assert evals[0]["accuracy"] < 0.6
    assert evals[-1]["accuracy"] >= 0.95 and evals[-1]["f1"] >= 0.95
    assert events[0]["train_examples"] == 480 and events[0]["trained_tokens"] == 480


def test_text_pair_training_fits_its_examples(tmp_path):
    """The pair path end to end (encoding, fresh head, loss, accuracy/F1 in the eval event): 48 pairs are
    learned to 100% when evaluated on themselves."""
    rows = (DATA / "pairs_train.jsonl").read_text().splitlines()[:48]
    (tmp_path / "pairs.jsonl").write_text("\n".join(rows) + "\n")
    config = write_config(tmp_path, task="sequence_classification", train_file=str(tmp_path / "pairs.jsonl"),
                          validation_file=str(tmp_path / "pairs.jsonl"), column_mapping={"text": "text_a", "text_pair": "text_b"},
                          max_length=128, learning_rate=1e-3, max_steps=24, per_device_train_batch_size=16,
                          per_device_eval_batch_size=48, eval_strategy="steps", eval_steps=24)
    events = train(config, tmp_path / "run")
    last = [e for e in events if e["type"] == "eval"][-1]
    assert last["accuracy"] == 1.0 and last["f1"] == 1.0 and last["loss"] < 0.1
