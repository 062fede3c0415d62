"""Row formats (formats.py): every fixture row of test/fixtures/formats/ gives the Conversation written in
expected.json, the same file the TypeScript twin is tested against; bad rows name file:line and the fix;
auto detection; the generation prompt set; the config fields."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sft_studio.config import ConfigError, RunConfig, load_config
from sft_studio.data.dataset import load_prompts
from sft_studio.data.formats import FormatOptions, detect_format, resolve_format, row_conversation
from sft_studio.data.readers import DataError, Row, read_rows

from .conftest import DATA, EXAMPLES, MODEL

FIXTURES = Path(__file__).resolve().parents[2] / "test" / "fixtures" / "formats"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))


def options(config: dict) -> FormatOptions:
    return FormatOptions(config.get("message_field_mapping"), config.get("role_mapping"), config.get("system_prompt"))


@pytest.mark.parametrize("case", EXPECTED["files"], ids=lambda c: f"{c['file']}{'+config' if c['config'] else ''}")
def test_fixture_rows_give_the_expected_conversations(case):
    config = case["config"]
    rows = read_rows(str(FIXTURES / case["file"]), config.get("column_mapping"))
    fmt = resolve_format(config.get("dataset_format", "auto"), rows, options(config))
    assert fmt == case["format"]
    got = [row_conversation(row, fmt, options(config)).to_json() for row in rows]
    assert got == case["conversations"]
    # Per-row detection (row_conversation with auto) agrees with the file-level one.
    assert [row_conversation(row, "auto", options(config)).to_json() for row in rows] == got


def test_the_fixtures_cover_every_format_and_feature():
    files = EXPECTED["files"]
    assert {c["format"] for c in files} == {"alpaca", "messages", "sharegpt", "prompt_completion"}
    messages = [m for c in files for conv in c["conversations"] for m in conv["messages"] or []]
    assert {m["role"] for m in messages} == {"system", "user", "assistant", "tool"}
    assert {"tool_calls", "tool_call_id", "name", "reasoning_content", "train"} <= {k for m in messages for k in m}
    assert any(conv["tools"] for c in files for conv in c["conversations"])
    assert any(conv["prompt"] is not None for c in files for conv in c["conversations"])


@pytest.mark.parametrize("case", EXPECTED["errors"], ids=lambda c: c["name"])
def test_bad_rows_name_the_line_and_the_fix(case):
    config = case["config"]
    row = Row("x.jsonl:1", case["row"], dict(config.get("column_mapping") or {}))
    with pytest.raises(DataError) as err:
        row_conversation(row, case["format"], options(config))
    assert (str(err.value), err.value.hint) == (case["message"], case["hint"])


def rows_of(tmp_path, *records, mapping=None) -> list[Row]:
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return read_rows(str(path), mapping)


@pytest.mark.parametrize("record, mapping, fmt", [
    ({"messages": [{"role": "user", "content": "a"}], "prompt": "a", "completion": "b"}, None, "messages"),
    ({"conversations": [{"from": "human", "value": "a"}], "text": "x"}, None, "sharegpt"),
    ({"prompt": "a", "completion": "b", "instruction": "a", "output": "b"}, None, "prompt_completion"),
    ({"instruction": "a", "output": "b", "text": "x"}, None, "alpaca"),
    ({"text": "plain", "meta": 1}, None, "text"),
    ({"question": "a", "answer": "b"}, {"instruction": "question", "output": "answer"}, "alpaca"),
    ({"dialog": [{"from": "human", "value": "a"}]}, {"conversations": "dialog"}, "sharegpt"),
    # A `messages` list whose turns are not role/content is not taken for OpenAI messages.
    ({"messages": [{"from": "human", "value": "a"}], "text": "x"}, None, "text"),
])
def test_auto_detection_follows_the_documented_order(tmp_path, record, mapping, fmt):
    assert detect_format(rows_of(tmp_path, record, mapping=mapping)) == fmt


@pytest.mark.parametrize("record, mapping, fmt, error", [
    ({"messages": [{"from": "human", "value": "a"}, {"from": "gpt", "value": "b"}]}, None, "messages",
     "d.jsonl:1: messages[0] has no `role` key (it has: from, value)"),
    ({"instruction": "a"}, None, "alpaca", "d.jsonl:1: missing field `output`"),
    ({"question": "a", "output": "b"}, {"instruction": "prompt"}, "alpaca",
     "d.jsonl:1: missing field `prompt` (column_mapping reads `instruction` from it)"),
    ({"prompt": "a", "chosen": "b"}, None, "prompt_completion", "d.jsonl:1: missing field `completion`"),
])
def test_a_partly_matching_row_takes_that_format_so_its_error_names_what_is_missing(tmp_path, record, mapping, fmt, error):
    rows = rows_of(tmp_path, record, mapping=mapping)
    assert detect_format(rows) == fmt
    with pytest.raises(DataError) as err:
        row_conversation(rows[0], fmt)
    assert str(err.value).replace(f"{tmp_path}/", "") == error


def test_detection_reads_turns_through_message_field_mapping(tmp_path):
    rows = rows_of(tmp_path, {"messages": [{"speaker": "user", "text": "a"}, {"speaker": "assistant", "text": "b"}]})
    opts = FormatOptions(message_field_mapping={"role": "speaker", "content": "text"})
    assert detect_format(rows, opts) == "messages"
    assert row_conversation(rows[0], "auto", opts).messages == [{"role": "user", "content": "a"},
                                                                 {"role": "assistant", "content": "b"}]


def test_an_undetectable_file_names_its_first_row_and_every_format(tmp_path):
    rows = rows_of(tmp_path, {"question": "a", "answer": "b"}, {"instruction": "a", "output": "b"})
    with pytest.raises(DataError) as err:
        resolve_format("auto", rows)
    assert str(err.value) == f"{tmp_path}/d.jsonl:1: cannot tell the dataset format from the row's keys (question, answer)"
    for name in ("messages", "sharegpt", "prompt_completion", "alpaca", "text"):
        assert f"{name} = {{" in err.value.hint
    assert resolve_format("alpaca", rows) == "alpaca"


def test_role_mapping_overrides_a_default_and_adds_names(tmp_path):
    row = rows_of(tmp_path, {"conversations": [{"from": "human", "value": "q"}, {"from": "bot", "value": "a"},
                                               {"from": "gpt", "value": "note"}]})[0]
    opts = FormatOptions(role_mapping={"bot": "assistant", "gpt": "user"})
    assert [m["role"] for m in row_conversation(row, "sharegpt", opts).messages] == ["user", "assistant", "user"]


def test_system_prompt_is_added_only_where_there_is_no_system_message(tmp_path):
    rows = rows_of(tmp_path,
                   {"instruction": "a", "output": "b"},
                   {"instruction": "a", "output": "b", "system": "own"},
                   {"messages": [{"role": "user", "content": "a"}, {"role": "system", "content": "late"},
                                 {"role": "assistant", "content": "b"}]})
    opts = FormatOptions(system_prompt="default")
    assert row_conversation(rows[0], "alpaca", opts).messages[0] == {"role": "system", "content": "default"}
    assert row_conversation(rows[1], "alpaca", opts).messages[0] == {"role": "system", "content": "own"}
    assert [m["content"] for m in row_conversation(rows[2], "messages", opts).messages] == ["a", "late", "b"]


def test_text_rows_are_not_conversations(tmp_path):
    with pytest.raises(DataError, match="d.jsonl:1: a text row is not a conversation"):
        row_conversation(rows_of(tmp_path, {"text": "x"})[0], "auto")


# ---------------------------------------------------------------------------------------------- prompts
def test_generation_prompts_from_sharegpt_and_messages_rows(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [
        {"id": "s1", "conversations": [{"from": "system", "value": "Be brief."}, {"from": "human", "value": "Reverse cat"},
                                       {"from": "gpt", "value": "tac"}]},
        {"conversations": [{"from": "human", "value": "Hi"}]},
        {"messages": [{"role": "user", "content": [{"type": "text", "text": "Upper "}, {"type": "text", "text": "dog"}]},
                      {"role": "assistant", "content": "DOG"}]},
    ]) + "\n")
    prompts = load_prompts(str(path))
    assert [(p.id, p.prompt, p.reference) for p in prompts] == [("s1", "Reverse cat", "tac"), ("p0001", "Hi", None),
                                                                ("p0002", "Upper dog", "DOG")]
    assert prompts[0].messages == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Reverse cat"}]
    with_system = load_prompts(str(path), FormatOptions(system_prompt="Answer briefly."))
    assert [p.messages[0] for p in with_system][1:] == [{"role": "system", "content": "Answer briefly."}] * 2


def test_generation_prompts_from_alpaca_rows_are_unchanged():
    prompts = load_prompts(str(DATA / "instruct_eval.jsonl"))
    rows = [json.loads(line) for line in (DATA / "instruct_eval.jsonl").read_text().splitlines()]
    assert len(prompts) == len(rows)
    for prompt, row in zip(prompts, rows):
        content = row["instruction"] if not row["input"].strip() else f"{row['instruction']}\n\n{row['input']}"
        assert (prompt.id, prompt.prompt, prompt.reference) == (row["id"], content, row["output"])
        assert prompt.messages == [{"role": "user", "content": content}]


# ---------------------------------------------------------------------------------------------- config
GOOD = f"""model_name_or_path: {MODEL}
train_file: {DATA / 'instruct_train.jsonl'}
"""


def issues_of(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "c.sft.yaml"
    path.write_text(GOOD + text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    return [str(i).replace(str(path), "c.sft.yaml") for i in err.value.issues]


def test_dataset_format_defaults_to_auto_and_new_fields_load(tmp_path):
    assert RunConfig.__dataclass_fields__["dataset_format"].default == "auto"
    path = tmp_path / "c.sft.yaml"
    path.write_text(GOOD + "dataset_format: sharegpt\nmessage_field_mapping: {role: speaker}\n"
                           "role_mapping: {customer: user, agent: assistant}\nsystem_prompt: Be kind.\n"
                           "column_mapping: {conversations: dialog, system: persona, tools: functions}\n")
    cfg, _ = load_config(path)
    assert (cfg.dataset_format, cfg.message_field_mapping, cfg.role_mapping, cfg.system_prompt) == (
        "sharegpt", {"role": "speaker"}, {"customer": "user", "agent": "assistant"}, "Be kind.")
    opts = FormatOptions.from_config(cfg)
    assert opts.fields("sharegpt") == {"role": "speaker", "content": "value"}
    assert opts.roles()["customer"] == "user" and opts.roles()["human"] == "user"


@pytest.mark.parametrize("extra, expected", [
    ("role_mapping:\n  bot: asistant\n",
     "c.sft.yaml:4:3: `role_mapping` must be one of system, user, assistant, tool, got 'asistant'; did you mean `assistant`?"),
    ("message_field_mapping: {speaker: from}\n",
     "c.sft.yaml:3:24: `message_field_mapping` has unknown key `speaker`; it takes role, content"),
    ("message_field_mapping: {role: text, content: text}\n",
     "c.sft.yaml:3:24: `message_field_mapping` reads role and content from the same key `text`; name the key "
     "holding the speaker and the one holding the text"),
    ("dataset_format: alpaca\nrole_mapping: {bot: assistant}\n",
     "c.sft.yaml:4:15: `role_mapping` does not apply to `dataset_format: alpaca`; remove it, or use a conversational "
     "format (messages, sharegpt, prompt_completion, or auto)"),
    ("dataset_format: text\nsystem_prompt: Hi\n",
     "c.sft.yaml:4:16: `system_prompt` does not apply to `dataset_format: text`; remove it, or use a conversational "
     "format (messages, sharegpt, prompt_completion, or auto)"),
    ("task: sequence_classification\nsystem_prompt: Hi\n",
     "c.sft.yaml:4:16: `system_prompt` applies to task causal_lm only; remove it for `task: sequence_classification`"),
    ("system_prompt: ''\n", "c.sft.yaml:3:16: `system_prompt` must not be empty"),
    ("column_mapping: {conversation: dialog}\n",
     "c.sft.yaml:3:18: `column_mapping` has unknown column `conversation`: did you mean `conversations`?"),
])
def test_bad_format_fields_point_at_the_value(tmp_path, extra, expected):
    assert issues_of(tmp_path, extra) == [expected]


def test_auto_is_resolved_once_per_file_so_text_files_train_as_text(tmp_path, tokenizer):
    from sft_studio.data.dataset import conversation_tokenizer, load_examples, load_splits

    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "The capital of Norvia is Quelt."}\n{"text": "Zebra."}\n')
    cfg = RunConfig(model_name_or_path=str(MODEL), train_file=str(path))
    assert cfg.dataset_format == "auto"
    examples = load_splits(cfg, tokenizer).train
    assert tokenizer.decode(examples[0].input_ids) == "The capital of Norvia is Quelt." + tokenizer.eos_token
    assert all(e.labels == e.input_ids for e in examples)
    same, _ = load_examples(str(path), "auto", conversation_tokenizer(cfg, tokenizer))
    assert same == examples


# ---------------------------------------------------------------------------------------------- example
def test_sharegpt_example_is_detected_and_trains_every_assistant_turn(tokenizer):
    from sft_studio.data.dataset import load_splits

    cfg, _ = load_config(EXAMPLES / "sharegpt.sft.yaml")
    assert cfg.dataset_format == "auto"
    rows = read_rows(cfg.train_file, cfg.column_mapping)
    assert len(rows) == 40 and detect_format(rows) == "sharegpt"
    conversations = [row_conversation(row, "auto") for row in rows]
    assert any(c.messages[0]["role"] == "system" for c in conversations)
    assert any(row.get("system") for row in rows) and any(row.get("conversations")[0]["from"] == "system" for row in rows)
    splits = load_splits(cfg, tokenizer)
    assert splits.train_stats.examples + len(splits.validation) == 40
    assert splits.train_stats.trained_tokens > 0
