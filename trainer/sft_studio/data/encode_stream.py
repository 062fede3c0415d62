"""Data files encoded without holding their rows: what data.load_splits reads a dataset with.

Each source is read twice. `SourceRows.scan` reads every row once, so that read errors come first, the row count
fixes the seeded hold-out, weights and subsample (dataset.py), and the first row tells `dataset_format: auto`; then
`encode_in_file_order` reads the rows again and encodes those wanted in batches, in file order, keeping nothing of
a row but its result. The rows of an Alpaca-size .json take about 3x the file as Python objects; this way only a
batch of them is alive at a time.

While a batch is tokenized (the Rust tokenizer, which lets go of the GIL, in one helper thread), this thread reads
and lays out the next (rows, formats, chat templates), so the two overlap.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterator, Sequence

from ..errors import DataError
from .readers import Row, stream_rows

# Rows per batch: enough for the tokenizer to spread a batch over the cores, few enough that the tokenizer's
# per-token bookkeeping for two batches in flight stays a small part of the dataset's own size.
BATCH_ROWS = 128


class SourceRows:
    """One data file or Hub dataset, with its place among the run's sources (Row.source)."""

    def __init__(self, path: str, mapping: dict[str, str] | None, source: int, field_name: str,
                 default_split: str = "train"):
        self._args = (path, mapping, source, field_name, default_split)
        self.source = source
        self.count = 0
        self.first: Row | None = None

    def scan(self) -> "SourceRows":
        """Reads every row once (raising read errors as read_rows does), counting them and keeping the first."""
        for row in self.rows():
            self.first = self.first or row
            self.count += 1
        return self

    def rows(self) -> Iterator[Row]:
        return stream_rows(*self._args)


def encode_in_file_order(files: Sequence[SourceRows], wanted: Callable[[int], bool],
                         encoders: Sequence[Callable[[Row], Any]], take: Callable[[int, Any], None]) -> None:
    """take(index, result) for every wanted row, in file order, files after one another; `index` counts the rows
    of all `files` from 0, `encoders[file's source]` encodes (its `start`, else the call); a result is the
    example or the row's DataError. Whatever `take` raises stops the reading."""
    with ThreadPoolExecutor(1, thread_name_prefix="sft-tokenize") as pool:
        pending: tuple[list[int], Callable[[], list[Any]]] | None = None
        for encode, batch in _batches(files, wanted, encoders):
            started = (batch[0], _start(encode, batch[1], pool.submit))
            if pending is not None:
                _deliver(*pending, take)
            pending = started
        if pending is not None:
            _deliver(*pending, take)


def _batches(files: Sequence[SourceRows], wanted: Callable[[int], bool], encoders: Sequence[Callable[[Row], Any]]
             ) -> Iterator[tuple[Callable[[Row], Any], tuple[list[int], list[Row]]]]:
    index = 0
    for file in files:
        indices: list[int] = []
        rows: list[Row] = []
        encode = encoders[file.source]
        for row in file.rows():
            if wanted(index):
                indices.append(index)
                rows.append(row)
                if len(rows) == BATCH_ROWS:
                    yield encode, (indices, rows)
                    indices, rows = [], []
            index += 1
        if rows:
            yield encode, (indices, rows)


def _start(encode: Callable[[Row], Any], rows: list[Row], submit: Any) -> Callable[[], list[Any]]:
    start = getattr(encode, "start", None)
    if start is not None:
        return start(rows, submit)
    done = [_outcome(encode, row) for row in rows]
    return lambda: done


def _deliver(indices: list[int], finish: Callable[[], list[Any]], take: Callable[[int, Any], None]) -> None:
    for index, result in zip(indices, finish()):
        take(index, result)


def _outcome(encode: Callable[[Row], Any], row: Row) -> Any:
    """The example, or the problem as a value (the caller decides which problem is reported first)."""
    try:
        return encode(row)
    except DataError as problem:
        return problem
