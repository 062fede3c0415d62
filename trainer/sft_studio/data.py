"""Datasets: read rows, render them with the tokenizer's chat template, tokenize, mask the loss.

Each conversation is tokenized piece by piece (prompt chunk, then each assistant answer followed by
EOS) rather than as one string, so the boundary between masked and trained tokens is exact and does
not depend on how the tokenizer would merge characters across it.

Counting rules (the dry run reports them and the editor's own tokenizer must reproduce them):
- the training split is train_file's rows, minus the validation_split_ratio hold-out, then subsampled;
- `tokens` = sum over examples of len(input_ids) after truncation to max_length;
- `truncated_examples` = examples whose full tokenization was longer than max_length;
- `trained_tokens` = sum over examples of labels != -100 (Example.trained_tokens), after truncation.
Rows become token ids as follows (E = EOS id, P(x) = ids of text x without special tokens):
- alpaca: user content = instruction, or instruction + "\\n\\n" + input when input is not blank; then as messages;
- messages: for each assistant turn i, chunk = P(render(messages[:i], generation prompt) minus what was
  rendered before), answer = P(content) + [E]; ids = chunks and answers in order; labels = -100 over chunks
  (all of them trained when completion_only_loss is false) and the ids over answers;
- text: ids = P(text) + [E], every position trained.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable

from .readers import DataError, Row, read_rows

__all__ = ["DataError", "Example", "ConversationTokenizer", "load_examples", "load_prompts", "load_splits"]

IGNORE_INDEX = -100


@dataclass
class Example:
    input_ids: list[int]
    labels: list[int]
    truncated: bool = False
    segments: list[int] = field(default_factory=list)
    """Lengths of the examples packed into this row (empty = one example); each restarts position_ids."""

    @property
    def trained_tokens(self) -> int:
        return sum(1 for label in self.labels if label != IGNORE_INDEX)

    def segment_lengths(self) -> list[int]:
        return self.segments or [len(self.input_ids)]


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

    @classmethod
    def of(cls, examples: list[Any]) -> "DatasetStats":
        lengths = [len(e.input_ids) for e in examples]
        return cls(len(examples), sum(lengths), sum(int(e.truncated) for e in examples),
                   sum(e.trained_tokens for e in examples), lengths)


@dataclass
class Splits:
    train: list[Any]
    validation: list[Any]
    train_stats: DatasetStats


def _as_row(row: Row | dict[str, Any], where: str) -> Row:
    return row if isinstance(row, Row) else Row(where, row)


def _text_field(row: Row, key: str, required: bool = True) -> str:
    value = row.get(key)
    if value is None:
        if required:
            raise row.missing(key)
        return ""
    if not isinstance(value, str):
        raise DataError(f"{row.where}: field `{row.column(key)}` must be a string, got {type(value).__name__}")
    return value


def alpaca_user_content(instruction: str, input_text: str) -> str:
    return instruction if not input_text.strip() else f"{instruction}\n\n{input_text}"


def row_to_messages(row: Row | dict[str, Any], fmt: str, where: str = "") -> list[dict[str, str]]:
    row = _as_row(row, where)
    if fmt == "alpaca":
        instruction = _text_field(row, "instruction")
        input_text = _text_field(row, "input", required=False)
        output = _text_field(row, "output")
        return [{"role": "user", "content": alpaca_user_content(instruction, input_text)},
                {"role": "assistant", "content": output}]
    out = _messages(row)
    if not any(m["role"] == "assistant" for m in out):
        raise DataError(f"{row.where}: the conversation has no assistant message, so nothing would be trained")
    return out


def _messages(row: Row) -> list[dict[str, str]]:
    messages = row.get("messages")
    if not isinstance(messages, list) or not messages:
        raise DataError(f"{row.where}: missing or empty `{row.column('messages')}` list",
                        "Each row needs {\"messages\": [{\"role\": \"user\", \"content\": ...}, {\"role\": \"assistant\", ...}]}.")
    out = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("system", "user", "assistant") \
                or not isinstance(message.get("content"), str):
            raise DataError(f"{row.where}: messages[{i}] must be {{\"role\": system|user|assistant, \"content\": string}}")
        out.append({"role": message["role"], "content": message["content"]})
    return out


class ConversationTokenizer:
    """Turns messages (or plain text) into input_ids and labels with the model's chat template."""

    def __init__(self, tokenizer: Any, max_length: int, completion_only: bool):
        if not getattr(tokenizer, "chat_template", None):
            raise DataError("the tokenizer has no chat_template",
                            "Add a `chat_template` to the model's tokenizer_config.json, or use `dataset_format: text`.")
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
        return self._truncate(ids, labels)

    def encode_plain(self, text: str) -> Example:
        ids = self.encode_text(text) + [self.tok.eos_token_id]
        return self._truncate(ids, list(ids))

    def _truncate(self, ids: list[int], labels: list[int]) -> Example:
        return Example(ids[: self.max_length], labels[: self.max_length], len(ids) > self.max_length)

    def encode_row(self, row: Row, fmt: str) -> Example:
        if fmt == "text":
            example = self.encode_plain(_text_field(row, "text"))
        else:
            example = self.encode(row_to_messages(row, fmt), row.where)
        if example.trained_tokens == 0:
            raise DataError(f"{row.where}: after truncation to max_length={self.max_length} no answer token is left",
                            "Raise `max_length` or shorten the prompt.")
        return example


def encode_rows(rows: list[Row], encode: Callable[[Row], Any]) -> tuple[list[Any], DatasetStats]:
    examples = [encode(row) for row in rows]
    return examples, DatasetStats.of(examples)


def load_examples(path: str, fmt: str, conv: ConversationTokenizer,
                  column_mapping: dict[str, str] | None = None) -> tuple[list[Example], DatasetStats]:
    return encode_rows(read_rows(path, column_mapping), lambda row: conv.encode_row(row, fmt))


def split_rows(rows: list[Row], validation_ratio: float, seed: int) -> tuple[list[Row], list[Row]]:
    """Hold out ceil(ratio * n) rows chosen by `seed`; both parts keep file order."""
    if validation_ratio <= 0:
        return rows, []
    held = -(-len(rows) * validation_ratio // 1)
    chosen = set(random.Random(seed).sample(range(len(rows)), int(held)))
    if len(chosen) == len(rows):
        raise DataError(f"validation_split_ratio={validation_ratio} leaves no training row out of {len(rows)}",
                        "Lower `validation_split_ratio` or add rows.")
    return [r for i, r in enumerate(rows) if i not in chosen], [r for i, r in enumerate(rows) if i in chosen]


def subsample_rows(rows: list[Row], fraction: float, seed: int) -> list[Row]:
    """Keep max(1, round(fraction * n)) rows chosen by `seed`, in file order."""
    if fraction >= 1:
        return rows
    keep = set(random.Random(seed + 1).sample(range(len(rows)), max(1, round(fraction * len(rows)))))
    return [r for i, r in enumerate(rows) if i in keep]


def row_encoder(cfg: Any, tokenizer: Any) -> Callable[[Row], Any]:
    """How the config's task turns a row into an example."""
    if cfg.task == "sequence_classification":
        from .classify import ClassificationEncoder

        return ClassificationEncoder(tokenizer, cfg.max_length, cfg.num_labels).encode_row
    conv = ConversationTokenizer(tokenizer, cfg.max_length, cfg.completion_only_loss)
    return lambda row: conv.encode_row(row, cfg.dataset_format)


def load_splits(cfg: Any, tokenizer: Any) -> Splits:
    """Training and validation examples as the run sees them (see the counting rules above)."""
    encode = row_encoder(cfg, tokenizer)
    train_rows, validation_rows = split_rows(read_rows(cfg.train_file, cfg.column_mapping),
                                             cfg.validation_split_ratio, cfg.seed)
    if cfg.validation_file:
        validation_rows = read_rows(cfg.validation_file, cfg.column_mapping)
    train, stats = encode_rows(subsample_rows(train_rows, cfg.subsample, cfg.seed), encode)
    validation, _ = encode_rows(validation_rows, encode)
    return Splits(train, validation, stats)


def load_prompts(path: str) -> list[Prompt]:
    """Alpaca rows ({id?, instruction, input?, output?}) or chat rows ({id?, messages}); a final assistant
    message or `output` is the reference."""
    prompts = []
    for index, row in enumerate(read_rows(path)):
        reference = row.get("output")
        if row.get("messages") is not None:
            messages = _messages(row)
            if messages[-1]["role"] == "assistant":
                reference, messages = messages[-1]["content"], messages[:-1]
            content = messages[-1]["content"] if messages else ""
        else:
            content = alpaca_user_content(_text_field(row, "instruction"), _text_field(row, "input", required=False))
            messages = [{"role": "user", "content": content}]
        if reference is not None and not isinstance(reference, str):
            raise DataError(f"{row.where}: field `output` must be a string")
        prompts.append(Prompt(str(row.get("id") or f"p{index:04d}"), content, messages, reference))
    ids = [p.id for p in prompts]
    if len(set(ids)) != len(ids):
        raise DataError(f"{path}: prompt ids are not unique", "Give every row a distinct `id`.")
    return prompts
