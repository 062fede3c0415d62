"""Chat-template rendering, completion-only masks and bad rows."""

from __future__ import annotations

import pytest

from sft_studio.data.dataset import (
    IGNORE_INDEX,
    ConversationTokenizer,
    DataError,
    load_examples,
    load_prompts,
    row_to_messages,
)


def trained_text(tokenizer, example) -> str:
    return tokenizer.decode([i for i, l in zip(example.input_ids, example.labels) if l != IGNORE_INDEX])


@pytest.mark.parametrize("row, answer", [
    ({"instruction": "Reverse the word.", "input": "lamp", "output": "pmal"}, "pmal"),
    ({"instruction": "Name a colour.", "input": "", "output": "blue"}, "blue"),
])
def test_alpaca_mask_covers_exactly_the_response(tokenizer, row, answer):
    conv = ConversationTokenizer(tokenizer, 512, completion_only=True)
    example = conv.encode(row_to_messages(row, "alpaca", "x:1"), "x:1")
    assert trained_text(tokenizer, example) == answer + tokenizer.eos_token
    prompt = tokenizer.decode([i for i, l in zip(example.input_ids, example.labels) if l == IGNORE_INDEX])
    assert prompt == conv.render(row_to_messages(row, "alpaca", "x:1")[:1], add_generation_prompt=True)
    assert row["instruction"] in prompt and row["input"] in prompt


def test_multi_turn_chat_trains_every_assistant_turn_only(tokenizer):
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Reverse cat"},
                {"role": "assistant", "content": "tac"}, {"role": "user", "content": "And dog?"},
                {"role": "assistant", "content": "god"}]
    conv = ConversationTokenizer(tokenizer, 512, completion_only=True)
    example = conv.encode(messages, "x:1")
    assert trained_text(tokenizer, example) == f"tac{tokenizer.eos_token}god{tokenizer.eos_token}"
    assert tokenizer.decode(example.input_ids) == conv.render(messages, add_generation_prompt=False)


def test_full_loss_trains_everything(tokenizer):
    conv = ConversationTokenizer(tokenizer, 512, completion_only=False)
    example = conv.encode([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}], "x:1")
    assert example.labels == example.input_ids


def test_truncation_is_counted(tmp_path, tokenizer):
    path = tmp_path / "d.jsonl"
    path.write_text('{"instruction": "Say it.", "output": "' + "word " * 40 + '"}\n'
                    '{"instruction": "Hi", "output": "yo"}\n')
    conv = ConversationTokenizer(tokenizer, 40, completion_only=True)
    examples, stats = load_examples(str(path), "alpaca", conv)
    assert [len(e.input_ids) <= 40 for e in examples] == [True, True]
    assert stats.truncated_examples == 1 and stats.examples == 2


@pytest.mark.parametrize("content, fmt, message", [
    ('{"instruction": "a", "output": "b"}\n{"instruction": "a", "output": \n', "alpaca", "d.jsonl:2: not valid JSON"),
    ('{"instruction": "a", "output": "b"}\n\n{"instruction": "a"}\n', "alpaca", "d.jsonl:3: missing field `output`"),
    ('{"instruction": 3, "output": "b"}\n', "alpaca", "d.jsonl:1: field `instruction` must be a string, got int"),
    ('[1, 2]\n', "alpaca", "d.jsonl:1: expected a JSON object, got list"),
    ('{"messages": []}\n', "messages", "d.jsonl:1: missing or empty `messages` list"),
    ('{"messages": [{"role": "user", "content": "x"}]}\n', "messages",
     "d.jsonl:1: the conversation has no assistant message, so nothing would be trained"),
    ('{"messages": [{"role": "bot", "content": "x"}]}\n', "messages",
     'd.jsonl:1: messages[0] has role "bot", which is not one of human, user, gpt, assistant, system, function_call, '
     'observation, tool'),
    ('\n\n', "alpaca", "d.jsonl: the file has no rows"),
])
def test_bad_rows_name_file_and_line(tmp_path, tokenizer, content, fmt, message):
    path = tmp_path / "d.jsonl"
    path.write_text(content)
    conv = ConversationTokenizer(tokenizer, 64, completion_only=True)
    with pytest.raises(DataError) as err:
        load_examples(str(path), fmt, conv)
    assert str(err.value).replace(str(tmp_path) + "/", "").startswith(message)


def test_prompt_ids_must_be_unique(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"id": "a", "instruction": "x"}\n{"id": "a", "instruction": "y"}\n')
    with pytest.raises(DataError, match="prompt ids are not unique"):
        load_prompts(str(path))


def _alpaca_rows(n: int) -> list[dict]:
    import json

    from .conftest import DATA

    return [json.loads(line) for line in (DATA / "instruct_train.jsonl").read_text().splitlines()[:n]]


def test_every_file_type_gives_the_same_examples(tmp_path, tokenizer):
    import csv
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = _alpaca_rows(12)
    rows[3]["output"] = "two\nlines, with a comma"
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "d.json").write_text(json.dumps(rows, indent=2))
    with open(tmp_path / "d.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["instruction", "input", "output"])
        writer.writeheader()
        writer.writerows(rows)
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "d.parquet")
    conv = ConversationTokenizer(tokenizer, 512, completion_only=True)
    loaded = {suffix: load_examples(str(tmp_path / f"d.{suffix}"), "alpaca", conv)[0]
              for suffix in ("jsonl", "json", "csv", "parquet")}
    assert all(examples == loaded["jsonl"] for examples in loaded.values())
    assert len(loaded["jsonl"]) == 12


def test_rows_know_their_lines(tmp_path):
    from sft_studio.data.readers import read_rows

    (tmp_path / "d.json").write_text('[\n  {"a": 1},\n\n  {"a": 2}, {"a": 3}\n]')
    assert [r.where for r in read_rows(str(tmp_path / "d.json"))] == [f"{tmp_path}/d.json:{n}" for n in (2, 4, 4)]
    (tmp_path / "d.csv").write_text('a,b\n1,"x\ny"\n2,z\n')
    assert [r.where for r in read_rows(str(tmp_path / "d.csv"))] == [f"{tmp_path}/d.csv:{n}" for n in (2, 4)]


def test_column_mapping_renames_columns(tmp_path, tokenizer):
    import json

    rows = [{"prompt": r["instruction"], "extra": r["input"], "answer": r["output"]} for r in _alpaca_rows(5)]
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    conv = ConversationTokenizer(tokenizer, 512, completion_only=True)
    mapped, _ = load_examples(str(tmp_path / "d.jsonl"), "alpaca", conv,
                              {"instruction": "prompt", "input": "extra", "output": "answer"})
    (tmp_path / "o.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _alpaca_rows(5)))
    assert mapped == load_examples(str(tmp_path / "o.jsonl"), "alpaca", conv)[0]


def test_plain_text_trains_every_token_and_ends_with_eos(tokenizer):
    conv = ConversationTokenizer(tokenizer, 512, completion_only=True)
    example = conv.encode_plain("The capital of Norvia is Quelt.")
    assert tokenizer.decode(example.input_ids) == "The capital of Norvia is Quelt." + tokenizer.eos_token
    assert example.labels == example.input_ids


def test_split_and_subsample_are_seeded_disjoint_and_keep_file_order():
    from sft_studio.data.dataset import split_rows, subsample_rows
    from sft_studio.data.readers import Row

    rows = [Row(f"f:{i}", {"i": i}) for i in range(101)]
    train, val = split_rows(rows, 0.1, seed=7)
    assert len(val) == 11 and len(train) == 90
    assert sorted(r.data["i"] for r in train + val) == list(range(101))
    assert [r.data["i"] for r in val] == sorted(r.data["i"] for r in val)
    assert split_rows(rows, 0.1, seed=7)[1] == val and split_rows(rows, 0.1, seed=8)[1] != val
    kept = subsample_rows(train, 0.25, seed=7)
    assert len(kept) == round(0.25 * 90) and kept == subsample_rows(train, 0.25, seed=7)
    assert [r.data["i"] for r in kept] == sorted(r.data["i"] for r in kept)
    assert subsample_rows(train, 1.0, seed=7) == train
