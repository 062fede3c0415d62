"""Sequence classification: pair encoding, metrics, and real training runs of the CLI on the tiny model."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import jsonschema
import pytest

from sft_studio.data.classify import ClassificationEncoder, accuracy_and_f1
from sft_studio.data.readers import Row

from .conftest import DATA, REPO, read_events, write_config

EVENTS_SCHEMA = json.loads((REPO / "schema" / "events.schema.json").read_text())


def test_pair_is_joined_by_a_newline_and_ends_with_eos(tokenizer):
    encoder = ClassificationEncoder(tokenizer, 128, 2)
    example = encoder.encode_row(Row("x:1", {"a": "Zoe is 9.", "b": "Zoe turned 9.", "label": 1}, {"text": "a", "text_pair": "b"}))
    assert tokenizer.decode(example.input_ids) == "Zoe is 9.\nZoe turned 9." + tokenizer.eos_token
    assert example.input_ids == tokenizer("Zoe is 9.\nZoe turned 9.", add_special_tokens=False)["input_ids"] \
        + [tokenizer.eos_token_id]
    assert example.label == 1 and example.trained_tokens == 1 and not example.truncated
    single = encoder.encode("abc", None, 0)
    assert tokenizer.decode(single.input_ids) == "abc" + tokenizer.eos_token


def test_truncation_keeps_the_separator_and_eos_and_cuts_the_longer_text_first(tokenizer):
    """The head reads the last position, so it must stay EOS; a long first text must not push the second out."""
    short = ClassificationEncoder(tokenizer, 8, 2)
    single = short.encode("abcdefghij", None, 1)
    assert tokenizer.decode(single.input_ids) == "abcdefg" + tokenizer.eos_token and single.truncated
    encoder = ClassificationEncoder(tokenizer, 12, 2)

    def decode(a: str, b: str) -> str:
        return tokenizer.decode(encoder.encode(a, b, 0).input_ids)

    assert decode("abcdefghij", "xyz") == "abcdefg\nxyz" + tokenizer.eos_token
    assert decode("abc", "klmnopqrstuvw") == "abc\nklmnopq" + tokenizer.eos_token
    assert decode("abcdefghij", "klmnopqrst") == "abcde\nklmno" + tokenizer.eos_token
    assert encoder.encode("abcdefghij", "klmnopqrst", 0).truncated
    assert not encoder.encode("abcde", "klmno", 0).truncated and len(encoder.encode("abcde", "klmno", 0).input_ids) == 12


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


def pair_kinds(row: dict) -> tuple[str, str]:
    """(what text_a asks, what text_b tells) for a row of the bundled pairs (scripts/make_pairs.py)."""
    asked = {"How old": "age", "What did": "buy", "Where did": "trip", "What is": "job"}[" ".join(row["text_a"].split()[:2])]
    b = row["text_b"]
    told = "age" if "years old" in b or "turned" in b else "buy" if "bought" in b or " got " in b \
        else "trip" if "went to" in b or "travelled" in b else "job" if "works as" in b or " is a " in b else "?"
    return asked, told


def test_bundled_pairs_are_decided_by_the_relation_alone():
    """label 1 exactly when text_b tells what text_a asks; every question kind and every statement kind is
    half positive, so neither text alone predicts the label; validation names never occur in training."""
    splits = {s: [json.loads(line) for line in (DATA / f"pairs_{s}.jsonl").read_text().splitlines()]
              for s in ("train", "val", "test")}
    assert {s: len(rows) for s, rows in splits.items()} == {"train": 2000, "val": 200, "test": 200}
    for rows in splits.values():
        for row in rows:
            asked, told = pair_kinds(row)
            assert row["label"] == int(asked == told), row
        for side in (0, 1):
            for kind in ("age", "buy", "trip", "job"):
                labels = [r["label"] for r in rows if pair_kinds(r)[side] == kind]
                assert 0.3 <= sum(labels) / len(labels) <= 0.7, (side, kind)
    names = {s: {re.search(r"(?:is|did) (\w+)", r["text_a"]).group(1) for r in rows} for s, rows in splits.items()}
    assert not names["train"] & names["val"] and not names["train"] & names["test"]


def test_text_pair_classification_learns_the_relation(tmp_path):
    """Does text_b answer text_a? 40 steps on the 2000 bundled training pairs, measured on the 200 validation
    pairs (people and places not seen in training): from chance to >= 0.9 accuracy and F1."""
    config = write_config(tmp_path, task="sequence_classification", train_file=str(DATA / "pairs_train.jsonl"),
                          validation_file=str(DATA / "pairs_val.jsonl"),
                          column_mapping={"text": "text_a", "text_pair": "text_b"}, max_length=128,
                          learning_rate=1e-3, warmup_ratio=0.1, max_steps=40, per_device_train_batch_size=32,
                          per_device_eval_batch_size=100, eval_strategy="steps", eval_steps=40)
    events = train(config, tmp_path / "run")
    evals = [e for e in events if e["type"] == "eval"]
    assert [e["step"] for e in evals] == [0, 40]
    assert evals[0]["accuracy"] < 0.6
    assert evals[-1]["accuracy"] >= 0.9 and evals[-1]["f1"] >= 0.9, evals[-1]
    assert events[0]["train_examples"] == 2000 and events[0]["truncated_examples"] == 0
