"""Data file readers: a .json list is read in chunks, element by element, with the rows and messages of
reading the whole text with json; CSV errors name the line."""

from __future__ import annotations

import json

import pytest

from sft_studio.data import readers
from sft_studio.data.readers import DataError, read_rows

ELEMENTS = ['{"a": 1}', '{"b": "x\\ny, [z]"}', '{"c": [1, {"d": "]"}]}', '{"q": "\\"}"}', '{"e": "é😀"}', "{}"]


def whole_text(path: str) -> list[tuple[str, dict]] | str:
    """What json.loads of the whole file gives, located the way the reader locates rows."""
    try:
        return readers._json_records_whole(path)
    except DataError as exc:
        return str(exc)


def streamed(path: str) -> list[tuple[str, dict]] | str:
    try:
        return readers._json_records(path)
    except DataError as exc:
        return str(exc)


@pytest.mark.parametrize("chunk", [1, 3, 7, 1 << 20])
@pytest.mark.parametrize("text", [
    "[]",
    " \n[\n" + ",\n".join(ELEMENTS) + "\n]\n",
    "[" + ", ".join(ELEMENTS * 3) + "]",
    "[\r\n  " + ",\r\n\r\n  ".join(ELEMENTS) + "\r\n]",
    '[{"a": 12345}, 67890]',  # a number element cut by a chunk boundary is read whole
    '[{"a": 1}, 5, {"a": oops}]',  # a syntax error after a non-object: json's message wins
    '[{"a": 1}, 5, [2]]',
    '[{"a": 1},]',
    '[{"a": 1}] extra',
    '\ufeff[{"a": 1}]',
    '{"a": 1}',
    "",
    '[{"a": "unclosed',
])
def test_streamed_json_list_reads_what_the_whole_text_gives(tmp_path, monkeypatch, text, chunk):
    path = tmp_path / "d.json"
    path.write_text(text, encoding="utf-8", newline="")
    monkeypatch.setattr(readers, "_CHUNK_CHARS", chunk)
    assert streamed(str(path)) == whole_text(str(path))


def test_a_large_json_list_is_located_row_by_row(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "_CHUNK_CHARS", 4096)
    rows = [{"instruction": f"q {i}", "input": "", "output": "word " * (i % 13)} for i in range(5000)]
    (tmp_path / "d.json").write_text(json.dumps(rows, indent=4))
    read = read_rows(str(tmp_path / "d.json"))
    # json.dumps(indent=4) writes 5 lines per row after the opening bracket.
    assert [r.where.rsplit(":", 1)[1] for r in read[:2]] + [read[-1].where.rsplit(":", 1)[1]] == ["2", "7", str(2 + 5 * 4999)]
    assert [r.data for r in read] == rows


def test_rows_share_one_column_mapping(tmp_path):
    (tmp_path / "d.jsonl").write_text('{"q": "a", "a": "b"}\n{"q": "c", "a": "d"}\n')
    first, second = read_rows(str(tmp_path / "d.jsonl"), {"instruction": "q"})
    assert first.mapping == {"instruction": "q"} and first.mapping is second.mapping


def test_a_csv_field_past_the_limit_names_its_line(tmp_path):
    (tmp_path / "d.csv").write_text('instruction,output\na,b\nc,"' + "x" * 131_073 + '"\n')
    with pytest.raises(DataError) as exc:
        read_rows(str(tmp_path / "d.csv"))
    assert str(exc.value) == f"{tmp_path}/d.csv:3: not valid CSV (field larger than field limit (131072))"
    assert "quote" in exc.value.hint
