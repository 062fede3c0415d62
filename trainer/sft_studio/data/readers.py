"""Read dataset rows from JSONL, JSON, CSV, Parquet, Arrow or a Hub dataset, each row tagged with where it came from.

Every error a user can fix names the file and the line (row number for Parquet and Arrow, which have no lines,
and for Hub datasets: hub_data.py), so the reader keeps positions itself instead of going through a generic
loader that loses them.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from ..errors import DataError
from . import hub_data

DATA_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet", ".arrow")
# The column names the row formats read; `column_mapping` may point any of them at another column.
MAPPABLE_COLUMNS = ("instruction", "input", "output", "messages", "conversations", "prompt", "completion", "tools",
                    "system", "text", "text_pair", "label")


Record = tuple[str, Any]
"""(where, value) of one element of a data file; the value is a row's dict once the reader has checked it."""


@dataclass
class Row:
    """One record of a data file, read through the config's column mapping."""

    where: str
    """`path:line` (or `path: row N` for Parquet and Arrow, `hf://...[split] row N` for a Hub dataset), the
    prefix of every message about this row."""
    data: dict[str, Any]
    mapping: dict[str, str] = field(default_factory=dict)
    source: int = 0
    """Which of the run's data sources the row came from (its place in `train_files`); its format follows."""

    def column(self, name: str) -> str:
        """The file's column that holds the format's column `name`."""
        return self.mapping.get(name, name)

    def get(self, name: str) -> Any:
        return self.data.get(self.column(name))

    def missing(self, name: str) -> DataError:
        column = self.column(name)
        if column != name:
            return DataError(f"{self.where}: missing field `{column}` (column_mapping reads `{name}` from it)",
                             f"Add `{column}` to the row, or fix `column_mapping` in the config.")
        return DataError(f"{self.where}: missing field `{name}`",
                         f"Add `{name}` to the row, map another column to it with `column_mapping`, "
                         "or check `dataset_format` in the config.")


def read_rows(path: str, mapping: dict[str, str] | None = None, source: int = 0, field_name: str = "train_file",
              default_split: str = "train") -> list[Row]:
    """All rows of a data file, in file order; the format follows the file's suffix. An `hf://datasets/...` path
    is a Hub dataset (hub_data.py; `default_split` when it names none); `field_name` is the config field that
    named it, for its messages."""
    return list(stream_rows(path, mapping, source, field_name, default_split))


def stream_rows(path: str, mapping: dict[str, str] | None = None, source: int = 0, field_name: str = "train_file",
                default_split: str = "train") -> Iterator[Row]:
    """read_rows one row at a time, holding only what the current row needs (data.load_splits reads a training
    file twice this way, to count its rows and then to encode them, instead of keeping every row); the same
    rows, and the same errors, when they are reached."""
    lower = path.lower()
    if hub_data.is_hub_reference(path):
        dataset = hub_data.parse(path, default_split)
        if dataset is None:
            raise DataError(f"{path}: {hub_data.reference_problem(path)}", f"Fix `{field_name}` in the config.")
        records = hub_data.load_records(dataset, field_name)
    elif lower.endswith(".jsonl"):
        records = _decoded(_jsonl_records, path)
    elif lower.endswith(".json"):
        records = _decoded(_json_stream, path)
    elif lower.endswith(".csv"):
        records = _decoded(_csv_records, path)
    elif lower.endswith(".parquet"):
        records = _parquet_records(path)
    elif lower.endswith(".arrow"):
        records = _arrow_records(path)
    else:
        raise DataError(f"{path}: unsupported data file type",
                        f"Use one of {', '.join(DATA_SUFFIXES)} (the suffix decides how the file is read).")
    shared = dict(mapping or {})  # one copy for all rows: 52k rows need not carry 52k dicts
    empty = True
    for where, data in records:
        empty = False
        yield Row(where, data, shared, source)
    if empty:
        raise DataError(f"{path}: the file has no rows", "Add at least one example.")


# Text files are read as UTF-8, with the byte order mark that Notepad and Excel's "CSV UTF-8" put first dropped
# (kept, it would become part of the first JSON value or of the first CSV column's name).
_TEXT_ENCODING = "utf-8-sig"


def _decoded(read: Callable[[str], Iterable[Record]], path: str) -> Iterator[Record]:
    """`read(path)` of a text format, with bytes that are not UTF-8 reported at their line, not as a traceback."""
    try:
        yield from read(path)
    except UnicodeDecodeError:
        raise _not_utf8(path) from None
    except OSError as exc:
        # The config check saw the file; it may have gone or become unreadable since.
        raise DataError(f"{path}: cannot read the file ({exc.strerror})", "Check that the file exists and can be read.") from None


def _json_problem(exc: json.JSONDecodeError, with_column: bool) -> str:
    """json's own words, for a message that gives the line (and the column, or not). Some end in "at" ("Unterminated
    string starting at"), expecting the position next."""
    words = exc.msg.removesuffix(" at")
    if with_column:
        return f"{words} at column {exc.colno}"
    return f"{words} here" if words != exc.msg else words


def _too_deep(where: str) -> DataError:
    """json's decoder recurses once per nested [ or {; a row nested deeper than Python's stack allows is refused."""
    return DataError(f"{where}: nested too deeply to read (hundreds of [ or {{ inside each other)",
                     "A row is an object of strings, numbers and lists of messages; check how the file was written.")


def _not_utf8(path: str) -> DataError:
    """Where the file first stops being UTF-8. Line by line, because a text reader decodes whole chunks and its
    error does not say which line; a newline byte is never part of a multi-byte character, so lines decode alone."""
    hint = ("Save the file as UTF-8 (an editor's \"Save with Encoding\", a spreadsheet's \"CSV UTF-8\"), "
            "or fix the bytes on that line.")
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                column = len(raw[:exc.start].decode("utf-8")) + 1
                return DataError(f"{path}:{lineno}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {column})", hint)
    return DataError(f"{path}: not valid UTF-8", hint)


def _object(where: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(value).__name__}",
                        "Each row must be one JSON object such as {\"instruction\": ..., \"output\": ...}.")
    return value


def _jsonl_records(path: str) -> Iterator[Record]:
    with open(path, encoding=_TEXT_ENCODING) as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                torn = "" if line.endswith("\n") else " The file ends inside this line: was it cut off while being written?"
                raise DataError(f"{where}: not valid JSON ({_json_problem(exc, with_column=True)})",
                                "Each line must be one complete JSON object." + torn) from None
            except RecursionError:
                raise _too_deep(where) from None
            yield where, _object(where, value)


def _json_records(path: str) -> list[Record]:
    """A .json file is one list of objects; each row is located at the line its element starts on.

    Read in chunks and decoded element by element, counting lines as the reader moves on, so the time
    is linear and the whole text is never held. Anything the streamed walk does not expect (a syntax
    error, a file that is not a list) is left to `_json_records_whole`, whose messages are json's own.
    """
    return list(_json_stream(path))


def _json_stream(path: str) -> Iterator[Record]:
    """_json_records one element at a time."""
    done = 0
    try:
        for record in _json_list_streamed(path):
            done += 1
            yield record
    except _LeaveToWholeText:
        yield from _json_records_whole(path)[done:]


class _LeaveToWholeText(Exception):
    """The streamed walk met something that json.loads of the whole text reports best."""


_JSON_WHITESPACE = re.compile(r"[ \t\n\r]*")
# 64k characters: a window of megabytes, replaced chunk after chunk, leaves the C heap tens of megabytes larger
# (freed blocks that size are neither reused nor given back), more than the rows read through it.
_CHUNK_CHARS = 1 << 16


class _TextWindow:
    """A sliding window over a text file: `text[pos:]` is unread; `line` is the line of `pos`."""

    def __init__(self, fh: Any):
        self.fh = fh
        self.text = ""
        self.pos = 0
        self.eof = False
        self._line = 1
        self._counted = 0

    def more(self) -> bool:
        """Append the next chunk, dropping what was read; False at the end of the file."""
        if self.eof:
            return False
        chunk = self.fh.read(_CHUNK_CHARS)
        if not chunk:
            self.eof = True
            return False
        self._line = self.line
        self.text = self.text[self.pos:] + chunk
        self.pos = self._counted = 0
        return True

    @property
    def line(self) -> int:
        self._line += self.text.count("\n", self._counted, self.pos)
        self._counted = self.pos
        return self._line

    def next_char(self) -> str:
        """The next character that is not JSON whitespace ("" at the end of the file), left unread."""
        while True:
            self.pos = _JSON_WHITESPACE.match(self.text, self.pos).end()
            if self.pos < len(self.text) or not self.more():
                return self.text[self.pos:self.pos + 1]


def _json_list_streamed(path: str) -> Iterator[Record]:
    decoder = json.JSONDecoder()
    not_object = None  # the first element that is not an object: reported once the whole list is valid JSON
    with open(path, encoding=_TEXT_ENCODING) as fh:
        window = _TextWindow(fh)
        if window.next_char() != "[":
            raise _LeaveToWholeText
        window.pos += 1
        if window.next_char() == "]":
            window.pos += 1
        else:
            while True:
                if window.next_char() in ("", "]"):
                    raise _LeaveToWholeText
                where = f"{path}:{window.line}"
                while True:
                    try:
                        value, end = decoder.raw_decode(window.text, window.pos)
                    except json.JSONDecodeError:
                        end = None
                    except RecursionError:
                        raise _too_deep(where) from None
                    # An element that reaches the end of the window may go on in the next chunk.
                    if (end is not None and end < len(window.text)) or not window.more():
                        break
                if end is None:
                    raise _LeaveToWholeText
                window.pos = end
                if not isinstance(value, dict) and not_object is None:
                    not_object = (where, value)
                yield where, value
                delimiter = window.next_char()
                window.pos += 1
                if delimiter == "]":
                    break
                if delimiter != ",":
                    raise _LeaveToWholeText
        if window.next_char() != "":
            raise _LeaveToWholeText
    if not_object is not None:
        _object(*not_object)


def _json_records_whole(path: str) -> list[tuple[str, dict[str, Any]]]:
    with open(path, encoding=_TEXT_ENCODING) as fh:
        text = fh.read()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({_json_problem(exc, with_column=False)})",
                        "A .json data file must be one JSON list of objects; use .jsonl for one object per line.") from None
    except RecursionError:
        raise _too_deep(path) from None
    if not isinstance(data, list):
        raise DataError(f"{path}:1: expected a JSON list of objects, got {type(data).__name__}",
                        "Write the rows as [{...}, {...}], or use .jsonl with one object per line.")
    # Walk the list again with raw_decode to learn the line each element starts on.
    decoder = json.JSONDecoder()
    index = text.index("[") + 1
    line, counted = 1, 0
    records = []
    for _ in data:
        while text[index] in " \t\r\n,":
            index += 1
        value, end = decoder.raw_decode(text, index)
        line += text.count("\n", counted, index)
        counted = index
        where = f"{path}:{line}"
        records.append((where, _object(where, value)))
        index = end
    return records


def _csv_records(path: str) -> Iterator[Record]:
    with open(path, encoding=_TEXT_ENCODING, newline="") as fh:
        reader = csv.DictReader(fh)
        start = 2
        try:
            for record in reader:
                where = f"{path}:{start}"
                if None in record:
                    raise DataError(f"{where}: more fields than the header has columns",
                                    "Quote fields that contain commas, or add the missing column names to the header.")
                yield where, {k: v for k, v in record.items() if v is not None}
                start = reader.line_num + 1
        except csv.Error as exc:
            raise DataError(f"{path}:{reader.reader.line_num}: not valid CSV ({exc})",
                            "Check the quotes of this row: a quote that is never closed makes the rest of the file one field.") from None


def _parquet_records(path: str) -> Iterator[Record]:
    import pyarrow
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pyarrow.ArrowInvalid, OSError) as exc:
        raise DataError(f"{path}: not a readable Parquet file ({exc})", "Write the file again with a Parquet writer.") from None
    return _table_records(path, table)


def _arrow_records(path: str) -> Iterator[Record]:
    """An Arrow IPC file, or an Arrow IPC stream as `datasets` writes them (`data-00000-of-00001.arrow`)."""
    import pyarrow
    import pyarrow.ipc as ipc

    try:
        with pyarrow.memory_map(path) as source:
            try:
                table = ipc.open_file(source).read_all()
            except pyarrow.ArrowInvalid:
                source.seek(0)
                table = ipc.open_stream(source).read_all()
    except (pyarrow.ArrowInvalid, OSError) as exc:
        raise DataError(f"{path}: not a readable Arrow file ({exc})",
                        "Write it again with pyarrow (IPC file or stream), or `datasets`' save_to_disk.") from None
    return _table_records(path, table)


def _table_records(path: str, table: Any) -> Iterator[Record]:
    """A pyarrow table's rows as Python dicts, one record batch at a time (never the whole table as objects)."""
    index = 0
    for batch in table.to_batches():
        for record in batch.to_pylist():
            index += 1
            yield f"{path}: row {index}", record
