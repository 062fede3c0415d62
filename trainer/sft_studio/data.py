"""Datasets: read rows, render them with the tokenizer's chat template, tokenize, mask the loss.

Each conversation is tokenized piece by piece (prompt chunk, then each assistant answer followed by
EOS) rather than as one string, so the boundary between masked and trained tokens is exact and does
not depend on how the tokenizer would merge characters across it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

IGNORE_INDEX = -100


class DataError(Exception):
    """A bad dataset row or file; the message names file:line and the fix."""

    def __init__(self, message: str, hint: str = "Fix the row or remove it from the file."):
        super().__init__(message)
        self.hint = hint


@dataclass
class Example:
    input_ids: list[int]
    labels: list[int]
    truncated: bool = False

    @property
    def trained_tokens(self) -> int:
        return sum(1 for label in self.labels if label != IGNORE_INDEX)


@dataclass
class Prompt:
    """One entry of the fixed generation prompt set."""

    id: str
    prompt: str
    messages: list[dict[str, str]]
    reference: str | None = None


@dataclass
class DatasetStats:
    examples: int = 0
    tokens: int = 0
    truncated_examples: int = 0
    trained_tokens: int = 0
    lengths: list[int] = field(default_factory=list)


def read_jsonl(path: str) -> list[tuple[int, dict[str, Any]]]:
    """Rows with their 1-based line numbers; blank lines are skipped."""
    rows: list[tuple[int, dict[str, Any]]] = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{lineno}: not valid JSON ({exc.msg} at column {exc.colno})",
                                "Each line must be one complete JSON object.") from None
            if not isinstance(row, dict):
                raise DataError(f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}",
                                "Each line must be one JSON object such as {\"instruction\": ..., \"output\": ...}.")
            rows.append((lineno, row))
    if not rows:
        raise DataError(f"{path}: the file has no rows", "Add at least one example, one JSON object per line.")
    return rows


def _text_field(row: dict[str, Any], key: str, where: str, required: bool = True) -> str:
    value = row.get(key)
    if value is None:
        if required:
            raise DataError(f"{where}: missing field `{key}`",
                            f"Add `{key}` to the row, or check `dataset_format` in the config.")
        return ""
    if not isinstance(value, str):
        raise DataError(f"{where}: field `{key}` must be a string, got {type(value).__name__}")
    return value


def alpaca_user_content(instruction: str, input_text: str) -> str:
    return instruction if not input_text.strip() else f"{instruction}\n\n{input_text}"


def row_to_messages(row: dict[str, Any], fmt: str, where: str) -> list[dict[str, str]]:
    if fmt == "alpaca":
        instruction = _text_field(row, "instruction", where)
        input_text = _text_field(row, "input", where, required=False)
        output = _text_field(row, "output", where)
        return [{"role": "user", "content": alpaca_user_content(instruction, input_text)},
                {"role": "assistant", "content": output}]
    messages = row.get("messages")
    if not isinstance(messages, list) or not messages:
        raise DataError(f"{where}: missing or empty `messages` list",
                        "Each row needs {\"messages\": [{\"role\": \"user\", \"content\": ...}, {\"role\": \"assistant\", ...}]}.")
    out = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("system", "user", "assistant") \
                or not isinstance(message.get("content"), str):
            raise DataError(f"{where}: messages[{i}] must be {{\"role\": system|user|assistant, \"content\": string}}")
        out.append({"role": message["role"], "content": message["content"]})
    if not any(m["role"] == "assistant" for m in out):
        raise DataError(f"{where}: the conversation has no assistant message, so nothing would be trained")
    return out


class ConversationTokenizer:
    """Turns messages into input_ids and labels with the model's chat template."""

    def __init__(self, tokenizer: Any, max_length: int, completion_only: bool):
        if not getattr(tokenizer, "chat_template", None):
            raise DataError("the tokenizer has no chat_template",
                            "Add a `chat_template` to the model's tokenizer_config.json.")
        if tokenizer.eos_token_id is None:
            raise DataError("the tokenizer has no eos_token", "Set `eos_token` in the model's tokenizer_config.json.")
        self.tok = tokenizer
        self.max_length = max_length
        self.completion_only = completion_only

    def render(self, messages: list[dict[str, str]], add_generation_prompt: bool) -> str:
        return self.tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)

    def encode_text(self, text: str) -> list[int]:
        return list(self.tok(text, add_special_tokens=False)["input_ids"])

    def prompt_ids(self, messages: list[dict[str, str]]) -> list[int]:
        return self.encode_text(self.render(messages, add_generation_prompt=True))

    def encode(self, messages: list[dict[str, str]], where: str) -> Example:
        ids: list[int] = []
        labels: list[int] = []
        rendered = ""
        eos_text = self.tok.eos_token
        for i, message in enumerate(messages):
            if message["role"] != "assistant":
                continue
            prefix = self.render(messages[:i], add_generation_prompt=True)
            full = self.render(messages[: i + 1], add_generation_prompt=False)
            if not prefix.startswith(rendered) or not full.startswith(prefix + message["content"] + eos_text):
                raise DataError(f"{where}: the chat template does not render turns as prefix + answer + EOS",
                                "Use a chat template whose generation prompt is a prefix of the rendered conversation.")
            chunk = self.encode_text(prefix[len(rendered):])
            answer = self.encode_text(message["content"]) + [self.tok.eos_token_id]
            ids += chunk + answer
            labels += ([IGNORE_INDEX] * len(chunk) if self.completion_only else chunk) + answer
            rendered = prefix + message["content"] + eos_text
        truncated = len(ids) > self.max_length
        return Example(ids[: self.max_length], labels[: self.max_length], truncated)


def load_examples(path: str, fmt: str, conv: ConversationTokenizer) -> tuple[list[Example], DatasetStats]:
    stats = DatasetStats()
    examples = []
    for lineno, row in read_jsonl(path):
        where = f"{path}:{lineno}"
        example = conv.encode(row_to_messages(row, fmt, where), where)
        if example.trained_tokens == 0:
            raise DataError(f"{where}: after truncation to max_length={conv.max_length} no answer token is left",
                            "Raise `max_length` or shorten the prompt.")
        examples.append(example)
        stats.examples += 1
        stats.tokens += len(example.input_ids)
        stats.truncated_examples += int(example.truncated)
        stats.trained_tokens += example.trained_tokens
        stats.lengths.append(len(example.input_ids))
    return examples, stats


def load_prompts(path: str) -> list[Prompt]:
    prompts = []
    for index, (lineno, row) in enumerate(read_jsonl(path)):
        where = f"{path}:{lineno}"
        instruction = _text_field(row, "instruction", where)
        content = alpaca_user_content(instruction, _text_field(row, "input", where, required=False))
        reference = row.get("output")
        if reference is not None and not isinstance(reference, str):
            raise DataError(f"{where}: field `output` must be a string")
        prompt_id = str(row.get("id", f"p{index:04d}"))
        prompts.append(Prompt(prompt_id, content, [{"role": "user", "content": content}], reference))
    ids = [p.id for p in prompts]
    if len(set(ids)) != len(ids):
        raise DataError(f"{path}: prompt ids are not unique", "Give every row a distinct `id`.")
    return prompts
