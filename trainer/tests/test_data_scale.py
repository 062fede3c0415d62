"""How an Alpaca-size dataset is loaded (bench/README.md, "Alpaca-size data"), held to what it replaced:

- load_splits reads each file twice and keeps examples compactly (encode_stream.py, example_store.py); its
  examples, counts and the problem it reports equal those of reading every row and encoding the rows one split
  after the other (read_rows, split_rows, weight_rows, subsample_rows, encode_rows);
- a boundary anchored on an added token of the generation prompt (only the text after the anchor is
  tokenized) gives the token layout of tokenizing the whole text before the boundary, on the real tokenizers
  of every chat-template family.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sft_studio.config import load_config
from sft_studio.data.conversation import IGNORE_INDEX, ConversationTokenizer, Encoded
from sft_studio.data.dataset import (
    DataError,
    encode_rows,
    load_splits,
    row_encoder,
    split_rows,
    subsample_rows,
    weight_rows,
)
from sft_studio.data.example_store import ExampleStore
from sft_studio.data.readers import read_rows

from .conftest import MODEL
from .test_chat_families import FAMILIES, TURNS, conversations, load


def _rows(n: int, tag: str, long_every: int = 0) -> list[dict]:
    rows = []
    for i in range(n):
        output = f"{tag} answer {i} " + ("and so on " * 40 if long_every and i % long_every == 0 else "done")
        rows.append({"instruction": f"{tag} question {i}?", "input": f"x{i}" if i % 3 else "", "output": output})
    return rows


def _config(tmp_path: Path, files: dict[str, list[dict]], extra: str) -> object:
    entries = ""
    for name, rows in files.items():
        (tmp_path / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
        entries += f"  - path: {name}\n"
    config = tmp_path / "c.sft.yaml"
    config.write_text(f"model_name_or_path: {MODEL}\ntrain_files:\n{entries}{extra}")
    return load_config(config)[0]


def _reference(cfg, tokenizer):
    """load_splits as it was: every row read, the splits drawn from the rows, each split encoded in turn."""
    per_source = [read_rows(str(Path(cfg.train_files[i]["path"])), None, i) for i in range(len(cfg.train_files))]
    rows = [row for mine in per_source for row in mine]
    train, held = split_rows(rows, cfg.validation_split_ratio, cfg.seed)
    weights = [float(entry.get("weight", 1.0)) for entry in cfg.train_files]
    order = subsample_rows(weight_rows(train, weights, cfg.seed), cfg.subsample, cfg.seed)
    encode = row_encoder(cfg, tokenizer, per_source[0])
    examples, stats = encode_rows(list(order), encode)
    validation = encode_rows(held, encode)[0] if held else []
    return examples, stats, validation


@pytest.mark.parametrize("extra", [
    "",
    "validation_split_ratio: 0.2\nseed: 5\n",
    "max_length: 48\nexcess_length_strategy: drop\nvalidation_split_ratio: 0.1\n",
    "max_length: 40\nsubsample: 0.7\nseed: 2\n",
    "completion_only_loss: false\nmax_length: 40\n",
])
def test_load_splits_equals_reading_every_row_and_encoding_split_by_split(tmp_path, tokenizer, extra):
    cfg = _config(tmp_path, {"a.jsonl": _rows(300, "a", long_every=7)}, extra)
    splits = load_splits(cfg, tokenizer)
    examples, stats, validation = _reference(cfg, tokenizer)
    assert splits.train == examples and list(splits.train) == examples
    assert splits.validation == validation
    assert splits.train_stats == stats


def test_weighted_sources_repeat_examples_in_training_order(tmp_path, tokenizer):
    extra = "validation_split_ratio: 0.25\nseed: 3\nsubsample: 0.9\n"
    cfg = _config(tmp_path, {"a.jsonl": _rows(200, "a"), "b.jsonl": _rows(90, "b", long_every=5)}, extra)
    entries = [dict(entry) for entry in cfg.train_files]
    entries[0]["weight"], entries[1]["weight"] = 2.5, 0.4
    cfg.train_files = entries
    splits = load_splits(cfg, tokenizer)
    examples, stats, validation = _reference(cfg, tokenizer)
    assert list(splits.train) == examples and list(splits.validation) == validation
    assert splits.train_stats == stats and len(examples) > 290 * 0.75


def test_a_training_row_problem_comes_before_an_earlier_held_out_one(tmp_path, tokenizer):
    train, held = split_rows(list(range(40)), 0.2, 1)
    early_held = held[0]
    later_trained = next(i for i in train if i > early_held)
    rows = _rows(40, "a")
    rows[early_held] = {"instruction": "no answer"}
    rows[later_trained] = {"instruction": 5, "output": "x"}
    cfg = _config(tmp_path, {"a.jsonl": rows}, "validation_split_ratio: 0.2\nseed: 1\n")
    with pytest.raises(DataError, match=rf"a.jsonl:{later_trained + 1}: field `instruction` must be a string"):
        load_splits(cfg, tokenizer)


def test_a_held_out_row_problem_is_reported_once_training_rows_are_fine(tmp_path, tokenizer):
    rows = _rows(40, "a")
    held = split_rows(list(range(40)), 0.2, 1)[1]
    rows[held[0]] = {"instruction": "no answer"}
    cfg = _config(tmp_path, {"a.jsonl": rows}, "validation_split_ratio: 0.2\nseed: 1\n")
    with pytest.raises(DataError, match=rf"a.jsonl:{held[0] + 1}: missing field `output`"):
        load_splits(cfg, tokenizer)


def test_store_keeps_ids_past_16_bits_and_counts_overlapping_ranges_once():
    store = ExampleStore()
    first = Encoded([5, 6, 7, 8], [(1, 3)])
    wide = Encoded([70000, 1, 2], [(0, 2), (1, 3)], truncated=True)
    slots = [store.add(first), store.add(wide)]
    assert [store.encoded(s) for s in slots] == [first, wide]
    assert store.view(slots + slots[:1])[2] == first.example()
    assert store.view(slots)[1].labels == [70000, 1, 2] and store.trained(slots[1]) == 3
    assert store.view(slots)[0].labels == [IGNORE_INDEX, 6, 7, IGNORE_INDEX]


# ------------------------------------------------------------------------------------------- anchors
TRICKY = [
    {"role": "user", "content": "Numbers 12345 and  two  spaces \n\n"},
    {"role": "assistant", "content": "  leading spaces, trailing newline\n"},
    {"role": "user", "content": "x"},
    {"role": "assistant", "content": "é😀 ok"},
]


@pytest.mark.parametrize("family", FAMILIES, ids=[f["family"] for f in FAMILIES])
def test_anchored_boundaries_equal_tokenizing_the_whole_prefix(family):
    tok = load(family)
    anchored = ConversationTokenizer(tok, 4096, completion_only=True)
    plain = ConversationTokenizer(tok, 4096, completion_only=True)
    plain._anchors = []
    cases = {**conversations(family), "tricky": TRICKY, "long": TURNS * 3}
    for name, messages in cases.items():
        try:
            expected = plain.encode(messages, name)
        except DataError as problem:  # a template that refuses a case refuses it either way
            with pytest.raises(DataError, match=str(problem)[:40]):
                anchored.encode(messages, name)
            continue
        assert anchored.encode(messages, name) == expected, name
    assert anchored.anchors, "no anchor: the shortcut is never taken"
