"""Datasets: read rows, turn them into conversations, tokenize and mask them, count what happened.

How a conversation becomes input_ids and labels (what is trained for each chat-template family, how overlong
rows are handled) is in conversation.py. Counting rules (the dry run reports them and the editor's own
tokenizer must reproduce them):
- the training split, in this order: every source's rows (train_file, or the train_files in their order, each
  file's rows in file order) in one list; minus the validation_split_ratio hold-out drawn from that list
  (seed `seed`; so no row is both trained and held out); then each file's remaining rows taken `weight` times
  (weight_rows: floor(weight) copies of every row, then a seeded round(fraction * n) of them once more, never
  fewer than one row; seed `seed + 2 + file index`), file after file; then subsampled (seed `seed + 1`);
- `examples` = rows kept; `dropped_examples` = rows left out by `excess_length_strategy` (first one named);
- `tokens` = sum over kept examples of len(input_ids) after truncation to max_length;
- `truncated_examples` = kept examples whose full tokenization was longer than max_length;
- `trained_tokens` = sum over kept examples of labels != -100 (Example.trained_tokens), after truncation.
Rows become conversations as formats.py says (alpaca, messages, sharegpt, prompt_completion; `auto` = the
first row of each file decides for that file; validation_file's rows decide for it), except
- text: ids = P(text) + [EOS] (P = ids without special tokens), every position trained.
"""

from __future__ import annotations

import random
from array import array
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any, Callable, Sequence

from ..errors import DataError
from .conversation import IGNORE_INDEX, ConversationTokenizer, Encoded, Example, OverlongRow
from .encode_stream import SourceRows, encode_in_file_order
from .example_store import ExampleStore, ObjectStore
from .formats import FormatOptions, prompt_turns, resolve_format, row_conversation
from .formats import text_field as _text_field
from .readers import Row, read_rows

__all__ = ["DataError", "Example", "ConversationTokenizer", "IGNORE_INDEX", "load_examples", "load_prompts",
           "load_splits", "conversation_tokenizer"]


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
    dropped_examples: int = 0
    """Rows left out by `excess_length_strategy` (no answer token left, or longer than max_length with drop)."""
    first_dropped: str | None = None
    """`path:line` and reason of the first dropped row, for the report."""
    examples_by_source: dict[int, int] = field(default_factory=dict)
    """Kept examples per data source (Row.source: the place in train_files)."""

    @classmethod
    def of(cls, examples: list[Any], dropped: list[OverlongRow] | None = None) -> "DatasetStats":
        lengths = [len(e.input_ids) for e in examples]
        dropped = dropped or []
        return cls(len(examples), sum(lengths), sum(int(e.truncated) for e in examples),
                   sum(e.trained_tokens for e in examples), lengths, len(dropped),
                   str(dropped[0]) if dropped else None)


@dataclass
class Splits:
    train: list[Any]
    validation: list[Any]
    train_stats: DatasetStats
    sources: list["TrainSource"] = field(default_factory=list)
    source_rows: list[int] = field(default_factory=list)
    """Rows read from each source, before the hold-out and the weights."""

    def by_source(self) -> list[dict[str, Any]]:
        """What each training source contributed: rows read, weight, examples trained (after all of the above)."""
        return [{"path": s.path, "weight": s.weight, "rows": n, "examples": self.train_stats.examples_by_source.get(i, 0)}
                for i, (s, n) in enumerate(zip(self.sources, self.source_rows))]


@dataclass(frozen=True)
class TrainSource:
    """One source of training rows: a data file or a Hub dataset, with its row format, columns and weight."""

    path: str
    dataset_format: str
    column_mapping: dict[str, str] | None
    weight: float = 1.0
    config_field: str = "train_file"
    """The config field naming it, for messages."""


def train_sources(cfg: Any) -> list[TrainSource]:
    """train_file, or each train_files entry with the config's dataset_format and column_mapping as defaults."""
    entries = getattr(cfg, "train_files", None)
    if not entries:
        return [TrainSource(cfg.train_file, cfg.dataset_format, cfg.column_mapping)]
    return [TrainSource(e["path"], e.get("dataset_format") or cfg.dataset_format,
                        e["column_mapping"] if e.get("column_mapping") is not None else cfg.column_mapping,
                        float(e.get("weight", 1.0)), f"train_files[{i}].path") for i, e in enumerate(entries)]


def _as_row(row: Row | dict[str, Any], where: str) -> Row:
    return row if isinstance(row, Row) else Row(where, row)


def row_to_messages(row: Row | dict[str, Any], fmt: str, where: str = "",
                    opts: FormatOptions | None = None) -> list[dict[str, Any]]:
    """The chat messages of a row (formats.row_conversation, which also gives its tools)."""
    row = _as_row(row, where)
    conversation = row_conversation(row, fmt, opts)
    if conversation.messages is None:
        raise DataError(f"{row.where}: a plain prompt/completion row has no chat messages",
                        "Encode it as prompt + completion (ConversationTokenizer.encode_prompt_completion).")
    return conversation.messages


class CausalRowEncoder:
    """Rows of a causal-LM dataset as the run trains them, one at a time or many at once (faster)."""

    def __init__(self, conv: ConversationTokenizer, fmt: str, opts: FormatOptions | None = None):
        self.conv = conv
        self.fmt = fmt
        self.opts = opts

    def __call__(self, row: Row) -> Example:
        result = self.many([row])[0]
        if isinstance(result, DataError):
            raise result
        return result

    def many(self, rows: list[Row]) -> list[Example | DataError]:
        return [r.example() if isinstance(r, Encoded) else r for r in self.start(rows)()]

    def start(self, rows: list[Row], submit: Any = None) -> Callable[[], list[Encoded | DataError]]:
        """The rows laid out now and tokenized in `submit`'s thread when given (see ConversationTokenizer.start_batch);
        the returned call gives each row's Encoded example or its problem, in order."""
        if self.fmt == "text":
            done = [self._plain(row) for row in rows]
            return lambda: done
        out: list[Any] = []
        chats: list[tuple[int, tuple[list[dict[str, Any]], str, list[Any] | None]]] = []
        for row in rows:
            try:
                conversation = row_conversation(row, self.fmt, self.opts)
                if conversation.messages is None:
                    out.append(self.conv.lay_out_prompt_completion(conversation.prompt or "",
                                                                   conversation.completion or "", row.where))
                else:
                    chats.append((len(out), (conversation.messages, row.where, conversation.tools)))
                    out.append(None)
            except DataError as problem:
                out.append(problem)
        finish_chats = self.conv.start_batch([chat for _, chat in chats], submit)

        def finish() -> list[Encoded | DataError]:
            for (slot, _), encoded in zip(chats, finish_chats()):
                out[slot] = encoded
            return out

        return finish

    def _plain(self, row: Row) -> Encoded | DataError:
        try:
            return self.conv.lay_out_plain(_text_field(row, "text"), row.where)
        except DataError as problem:
            return problem


def conversation_tokenizer(cfg: Any, tokenizer: Any) -> ConversationTokenizer:
    """The config's view of the tokenizer: length limit, loss mask, template arguments, overlong policy."""
    return ConversationTokenizer(tokenizer, cfg.max_length, cfg.completion_only_loss,
                                 template_kwargs=cfg.chat_template_kwargs,
                                 excess_length=cfg.excess_length_strategy)


_BATCH_ROWS = 2048


def encode_rows(rows: list[Row], encode: Callable[[Row], Any]) -> tuple[list[Any], DatasetStats]:
    """Every row encoded; rows the excess-length strategy leaves out are counted, any other problem stops."""
    many = getattr(encode, "many", None)
    examples, dropped, by_source = [], [], Counter()
    for start in range(0, len(rows), _BATCH_ROWS):
        chunk = rows[start:start + _BATCH_ROWS]
        results = many(chunk) if many else [_attempt(encode, row) for row in chunk]
        for row, result in zip(chunk, results):
            if isinstance(result, OverlongRow):
                dropped.append(result)
            elif isinstance(result, DataError):
                raise result
            else:
                examples.append(result)
                by_source[row.source] += 1
    if rows and not examples:
        raise DataError(f"every row was dropped as overlong (first: {dropped[0]})",
                        "Raise `max_length`, or shorten the prompts.")
    stats = DatasetStats.of(examples, dropped)
    stats.examples_by_source = dict(by_source)
    return examples, stats


def _attempt(encode: Callable[[Row], Any], row: Row) -> Any:
    try:
        return encode(row)
    except OverlongRow as left_out:
        return left_out


def load_examples(path: str, fmt: str, conv: ConversationTokenizer,
                  column_mapping: dict[str, str] | None = None) -> tuple[list[Example], DatasetStats]:
    rows = read_rows(path, column_mapping)
    return encode_rows(rows, CausalRowEncoder(conv, resolve_format(fmt, rows)))


def split_rows(rows: Sequence[Any], validation_ratio: float, seed: int) -> tuple[Sequence[Any], list[Any]]:
    """Hold out ceil(ratio * n) rows chosen by `seed`; both parts keep file order."""
    if validation_ratio <= 0:
        return rows, []
    held = -(-len(rows) * validation_ratio // 1)
    chosen = set(random.Random(seed).sample(range(len(rows)), int(held)))
    if len(chosen) == len(rows):
        raise DataError(f"validation_split_ratio={validation_ratio} leaves no training row out of {len(rows)}",
                        "Lower `validation_split_ratio` or add rows.")
    return [r for i, r in enumerate(rows) if i not in chosen], [r for i, r in enumerate(rows) if i in chosen]


def weight_rows(rows: Sequence[Any], weights: list[float], seed: int,
                source_of: Callable[[Any], int] = lambda row: row.source) -> Sequence[Any]:
    """Source after source (Row.source = index into `weights`; `source_of` for rows given by index), its rows in
    the order given: floor(weight) copies of all of them, then a seeded round(fraction * n) of them (file order)
    once more; a source with rows keeps at least one. All weights 1 give the rows back as they were (they come
    source after source)."""
    if all(w == 1 for w in weights):
        return rows
    out: list[Any] = []
    for index, weight in enumerate(weights):
        mine = [r for r in rows if source_of(r) == index]
        whole = int(weight)
        extra = round((weight - whole) * len(mine))
        if mine and whole == 0 and extra == 0:
            extra = 1
        out.extend(mine * whole)
        if extra:
            keep = set(random.Random(seed + 2 + index).sample(range(len(mine)), extra))
            out.extend(r for i, r in enumerate(mine) if i in keep)
    return out


def subsample_rows(rows: Sequence[Any], fraction: float, seed: int) -> Sequence[Any]:
    """Keep max(1, round(fraction * n)) rows chosen by `seed`, in file order."""
    if fraction >= 1:
        return rows
    keep = set(random.Random(seed + 1).sample(range(len(rows)), max(1, round(fraction * len(rows)))))
    return [r for i, r in enumerate(rows) if i in keep]


def row_encoder(cfg: Any, tokenizer: Any, rows: list[Row] | None = None) -> Callable[[Row], Any]:
    """How the config's task turns a row into an example; `rows` (train_file's) resolve `dataset_format: auto`."""
    if cfg.task == "sequence_classification":
        from .classify import ClassificationEncoder

        return ClassificationEncoder(tokenizer, cfg.max_length, cfg.num_labels).encode_row
    fmt = resolve_format(cfg.dataset_format, rows, FormatOptions.from_config(cfg)) if rows else cfg.dataset_format
    return CausalRowEncoder(conversation_tokenizer(cfg, tokenizer), fmt, FormatOptions.from_config(cfg))


def source_encoders(cfg: Any, tokenizer: Any, formats: list[str], rows: list[list[Row]]) -> list[Callable[[Row], Any]]:
    """One encoder per source, its `dataset_format` (`auto` resolved on that source's own rows)."""
    if cfg.task == "sequence_classification":
        return [row_encoder(cfg, tokenizer)] * len(rows)
    opts = FormatOptions.from_config(cfg)
    conv = conversation_tokenizer(cfg, tokenizer)
    return [CausalRowEncoder(conv, resolve_format(fmt, mine, opts), opts) for fmt, mine in zip(formats, rows)]


def load_splits(cfg: Any, tokenizer: Any) -> Splits:
    """Training and validation examples as the run sees them (see the counting rules above). The rows are read
    twice and never held all at once (encode_stream.py); the examples are kept compactly (example_store.py)."""
    sources = train_sources(cfg)
    files = [SourceRows(s.path, s.column_mapping, i, s.config_field).scan() for i, s in enumerate(sources)]
    # A row is named by its index in all sources' rows together: the hold-out, weights and subsample pick indices.
    starts = list(accumulate((f.count for f in files), initial=0))
    source_of = lambda index: bisect_right(starts, index) - 1  # noqa: E731
    train_rows, held_rows = split_rows(range(starts[-1]), cfg.validation_split_ratio, cfg.seed)
    scanned = list(files)
    if cfg.validation_file:
        scanned.append(SourceRows(cfg.validation_file, cfg.column_mapping, len(sources), "validation_file",
                                  "validation").scan())
    formats = [s.dataset_format for s in sources] + [cfg.dataset_format] * (len(scanned) - len(files))
    encoders = source_encoders(cfg, tokenizer, formats, [[f.first] for f in scanned])
    order = subsample_rows(weight_rows(train_rows, [s.weight for s in sources], cfg.seed, source_of),
                           cfg.subsample, cfg.seed)
    store = ObjectStore() if cfg.task == "sequence_classification" else ExampleStore()
    # One pass encodes the training rows and the rows held out among them. A training row's problem stops it at
    # once: rows first appear in training order in file order, so it is the first problem in training order.
    # A held-out row's problem waits until the training split is counted, as when the splits were encoded in turn.
    train, held = _Results(store, starts[-1], order, True), _Results(store, starts[-1], held_rows, False)
    encode_in_file_order(files, lambda index: train.wants(index) or held.wants(index), encoders,
                         lambda index, result: (train if train.wants(index) else held).take(index, result))
    stats = train.stats(source_of)
    validation = held.examples()
    if cfg.validation_file:
        held = _Results(store, scanned[-1].count, range(scanned[-1].count), True)
        encode_in_file_order(scanned[-1:], held.wants, encoders, held.take)
        validation = held.examples()
    return Splits(train.examples(), validation, stats, sources, [f.count for f in files])


class _Results:
    """What a split's rows (indices in the split's order; weights repeat some) were encoded into, as they come."""

    def __init__(self, store: Any, rows: int, order: Sequence[int], fail_fast: bool):
        self.store = store
        self.order = order
        self.fail_fast = fail_fast
        self._wanted = bytearray(rows)
        for index in order:
            self._wanted[index] = 1
        self._slot = array("i", [-1]) * rows
        self._dropped: dict[int, OverlongRow] = {}
        self._problem: DataError | None = None

    def wants(self, index: int) -> bool:
        return bool(self._wanted[index])

    def take(self, index: int, result: Any) -> None:
        if isinstance(result, OverlongRow):
            self._dropped[index] = result
        elif isinstance(result, DataError):
            if self.fail_fast:
                raise result
            self._problem = self._problem or result
        else:
            self._slot[index] = self.store.add(result)

    def stats(self, source_of: Callable[[int], int]) -> DatasetStats:
        slots = self._slots()
        dropped = [self._dropped[index] for index in self.order if index in self._dropped]
        lengths = [self.store.length(slot) for slot in slots]
        stats = DatasetStats(len(slots), sum(lengths), sum(self.store.truncated(slot) for slot in slots),
                             sum(self.store.trained(slot) for slot in slots), lengths, len(dropped),
                             str(dropped[0]) if dropped else None)
        stats.examples_by_source = dict(Counter(source_of(index) for index in self.order if self._slot[index] >= 0))
        return stats

    def examples(self) -> Any:
        return self.store.view(self._slots())

    def _slots(self) -> list[int]:
        """The kept examples' slots in order; the split's first problem, or that every row was dropped, raises."""
        if self._problem is not None:
            raise self._problem
        slots = [self._slot[index] for index in self.order if self._slot[index] >= 0]
        if self.order and not slots:
            first = next(self._dropped[index] for index in self.order if index in self._dropped)
            raise DataError(f"every row was dropped as overlong (first: {first})",
                            "Raise `max_length`, or shorten the prompts.")
        return slots


def load_prompts(path: str, opts: FormatOptions | None = None) -> list[Prompt]:
    """Alpaca rows ({id?, instruction, input?, output?}) or chat rows ({id?, messages} or ShareGPT's
    {id?, conversations}); a final assistant message or `output` is the reference (formats.prompt_turns)."""
    prompts = []
    for index, row in enumerate(read_rows(path)):
        messages, content, reference = prompt_turns(row, opts)
        prompts.append(Prompt(str(row.get("id") or f"p{index:04d}"), content, messages, reference))
    ids = [p.id for p in prompts]
    if len(set(ids)) != len(ids):
        raise DataError(f"{path}: prompt ids are not unique", "Give every row a distinct `id`.")
    return prompts
