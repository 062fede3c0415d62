"""Input that used to end in a traceback: data files that are not UTF-8, and config files with alias bombs, aliases
inside their own anchor, runaway nesting or bytes that are not UTF-8. Each is one message at `path:line[:col]`."""

from __future__ import annotations

import pytest

from sft_studio.config import ConfigError, load_config
from sft_studio.data.readers import DataError, read_rows
from sft_studio.source_map import MAX_ALIASES, load_with_positions, parse_scalar

from .conftest import DATA, MODEL, read_events
from .inprocess import small_config, train_here

GOOD = f"model_name_or_path: {MODEL}\ntrain_file: {DATA / 'instruct_train.jsonl'}\n"


# ------------------------------------------------------------------ data rows
@pytest.mark.parametrize("suffix, rows", [
    (".jsonl", [b'{"instruction": "a", "output": "b"}', b'{"instruction": "caf\xc3\xa9", "output": "b"}',
                b'{"instruction": "caf\xe9", "output": "b"}']),
    (".json", [b'[{"instruction": "a", "output": "b"},', b' {"instruction": "caf\xc3\xa9", "output": "b"},',
               b' {"instruction": "caf\xe9", "output": "b"}]']),
    (".csv", [b"instruction,output", b"caf\xc3\xa9,b", b"caf\xe9,b"]),
])
def test_a_row_that_is_not_utf8_is_named_by_line(tmp_path, suffix, rows):
    path = tmp_path / f"latin1{suffix}"
    path.write_bytes(b"\n".join(rows) + b"\n")
    with pytest.raises(DataError) as err:
        read_rows(str(path))
    column = rows[2].index(b"\xe9") + 1  # the third row is ASCII up to the bad byte
    assert str(err.value) == f"{path}:3: not valid UTF-8 (byte 0xe9 at column {column})"
    assert "Save the file as UTF-8" in err.value.hint


def test_a_utf16_file_is_reported_at_its_first_byte(tmp_path):
    path = tmp_path / "notepad.jsonl"
    path.write_bytes('{"instruction": "a", "output": "b"}\n'.encode("utf-16"))
    with pytest.raises(DataError, match=r"notepad.jsonl:1: not valid UTF-8 \(byte 0xff at column 1\)$"):
        read_rows(str(path))


def test_training_on_a_file_that_is_not_utf8_ends_with_a_data_error(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_bytes(b'{"instruction": "a", "output": "b"}\n{"instruction": "\xff", "output": "b"}\n')
    run_dir = tmp_path / "run"
    assert train_here(small_config(tmp_path, train_file=str(path)), run_dir) == 2
    error = next(e for e in read_events(run_dir) if e["type"] == "error")
    assert error["kind"] == "data" and error["message"] == f"{path}:2: not valid UTF-8 (byte 0xff at column 18)"


# ------------------------------------------------------------------ config files
def laughs(levels: int) -> str:
    """A "billion laughs": each level a list of nine aliases of the level before, 9**levels values in all."""
    text = 'l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    for level in range(1, levels + 1):
        text += f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 9)}]\n"
    return text


@pytest.mark.parametrize("body, expected", [
    # 9**5 values: small enough that a loader without limits finishes (and so fails this test) instead of hanging.
    (laughs(5), f":6:10: more than {MAX_ALIASES} aliases are expanded; write the values out instead of aliasing them"),
    ("lora_target_modules: &m [q_proj, *m]\n",
     ":3:34: alias `*m` is used inside its own anchor's value, which would make it infinite; copy the values it needs instead"),
    ("column_mapping: &c {text: *c}\n",
     ":3:27: alias `*c` is used inside its own anchor's value, which would make it infinite; copy the values it needs instead"),
    ("wide: &w [" + ", ".join(["1"] * 2000) + "]\nmany: [" + ", ".join(["*w"] * 6) + "]\n",
     ":4:24: aliases copy in more than 10000 values; write the values out instead of aliasing them"),
    ("deep: " + "[" * 500 + "]" * 500 + "\n", ":3:106: nested more than 100 levels deep"),
])
def test_config_alias_bombs_and_runaway_nesting_are_errors_at_their_position(tmp_path, body, expected):
    path = tmp_path / "c.sft.yaml"
    path.write_text(GOOD + body)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert [str(i) for i in err.value.issues] == [str(path) + expected]


def test_config_aliases_within_the_limits_still_work():
    data, smap = load_with_positions("c.yaml", "base: &b [q_proj, v_proj]\nlora_target_modules: *b\n&k key : *b\nalso: *k\n")
    assert data == {"base": ["q_proj", "v_proj"], "lora_target_modules": ["q_proj", "v_proj"],
                    "key": ["q_proj", "v_proj"], "also": "key"}
    assert parse_scalar("[&a q_proj, *a]") == ["q_proj", "q_proj"]
    assert parse_scalar("&a [*a]") == "&a [*a]"  # not a value: `--set` keeps the text as a string


def test_a_config_that_is_not_utf8_is_an_error_at_its_position(tmp_path):
    path = tmp_path / "c.sft.yaml"
    path.write_bytes(GOOD.encode() + b"run_name: caf\xc3\xa9-\xe9t\xe9\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert [str(i) for i in err.value.issues] == [f"{path}:3:16: not valid UTF-8 (byte 0xe9); save the file as UTF-8"]
