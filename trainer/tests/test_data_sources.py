"""Where training rows come from: Arrow files, several files mixed by weight, and Hub datasets.

Hub datasets are loaded offline here: a dataset is written into a temporary Hugging Face datasets cache in the
layout `datasets` leaves after a download (HF_HOME/datasets/ORG___NAME/SUBSET/0.0.0/COMMIT/NAME-SPLIT.arrow plus
dataset_info.json), then read through the config with HF_HUB_OFFLINE=1 in a fresh process (datasets reads the
variable when it is imported).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sft_studio.config import ConfigError, load_config
from sft_studio.data.dataset import load_splits, split_rows, subsample_rows, train_sources, weight_rows
from sft_studio.data.hub_data import HubDataset, parse, reference_problem
from sft_studio.data.readers import DataError, Row, read_rows

from .conftest import DATA, MODEL, REPO

TRAINER = REPO / "trainer"


def _alpaca(n: int, tag: str = "q") -> list[dict]:
    return [{"instruction": f"{tag} {i}: reverse the word", "input": f"w{i}", "output": f"{i}w"} for i in range(n)]


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


# ------------------------------------------------------------------------------------------------ Arrow
def test_arrow_ipc_file_and_stream_are_read_row_by_row(tmp_path):
    import pyarrow as pa

    rows = _alpaca(5)
    table = pa.Table.from_pylist(rows)
    with pa.OSFile(str(tmp_path / "file.arrow"), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    with pa.OSFile(str(tmp_path / "stream.arrow"), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=2)  # several record batches, as datasets writes them
    for name in ("file.arrow", "stream.arrow"):
        read = read_rows(str(tmp_path / name))
        assert [r.data for r in read] == rows
        assert [r.where for r in read] == [f"{tmp_path / name}: row {i}" for i in range(1, 6)]


def test_datasets_save_to_disk_arrow_trains_like_the_jsonl(tmp_path, tokenizer):
    import datasets

    rows = _alpaca(12)
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "saved"))
    arrow = tmp_path / "saved" / "data-00000-of-00001.arrow"
    assert arrow.is_file()
    jsonl = _jsonl(tmp_path / "same.jsonl", rows)
    config = tmp_path / "c.sft.yaml"
    counts = []
    for data in (arrow, jsonl):
        config.write_text(f"model_name_or_path: {MODEL}\ntrain_file: {data}\n")
        cfg, _ = load_config(config)
        splits = load_splits(cfg, tokenizer)
        counts.append((len(splits.train), splits.train_stats.tokens, splits.train_stats.trained_tokens))
        assert [e.input_ids for e in splits.train] == [e.input_ids for e in load_splits(cfg, tokenizer).train]
    assert counts[0] == counts[1] and counts[0][0] == 12


def test_a_broken_arrow_file_names_the_file_and_the_fix(tmp_path):
    (tmp_path / "bad.arrow").write_bytes(b"not arrow at all")
    with pytest.raises(DataError) as err:
        read_rows(str(tmp_path / "bad.arrow"))
    assert str(err.value).startswith(f"{tmp_path / 'bad.arrow'}: not a readable Arrow file (")
    assert "save_to_disk" in err.value.hint


# ------------------------------------------------------------------------------------------------ weights
def _rows(counts: list[int]) -> list[Row]:
    return [Row(f"f{s}:{i}", {"i": i}, {}, s) for s, n in enumerate(counts) for i in range(n)]


def test_weights_repeat_rows_and_draw_the_fraction_seeded_in_file_order():
    rows = _rows([10, 7, 3])
    out = weight_rows(rows, [2, 0.5, 1.5], seed=5)
    by_source = [[r.data["i"] for r in out if r.source == s] for s in range(3)]
    assert by_source[0] == list(range(10)) * 2
    assert len(by_source[1]) == 4 and by_source[1] == sorted(by_source[1])  # round(3.5) = 4 (half to even)
    assert by_source[2][:3] == [0, 1, 2] and len(by_source[2]) == 3 + 2  # round(1.5) = 2
    assert [r.source for r in out] == sorted(r.source for r in out)  # source after source
    assert weight_rows(rows, [2, 0.5, 1.5], seed=5) == out
    assert [r.data["i"] for r in weight_rows(rows, [2, 0.5, 1.5], seed=6) if r.source == 1] != by_source[1]
    assert weight_rows(rows, [1, 1, 1], seed=5) == rows
    assert len(weight_rows(_rows([3]), [0.01], seed=1)) == 1  # never fewer than one row


def test_the_hold_out_comes_before_the_weights_so_no_row_is_trained_and_validated(tmp_path, tokenizer):
    a = _jsonl(tmp_path / "a.jsonl", _alpaca(40, "a"))
    b = tmp_path / "b.jsonl"
    b.write_text("".join(json.dumps({"messages": [{"role": "user", "content": f"b {i}"},
                                                  {"role": "assistant", "content": f"{i}"}]}) + "\n" for i in range(20)))
    config = tmp_path / "c.sft.yaml"
    config.write_text(f"model_name_or_path: {MODEL}\ntrain_files:\n  - path: a.jsonl\n    weight: 3\n"
                      "  - path: b.jsonl\n    weight: 0.5\nvalidation_split_ratio: 0.25\nsubsample: 0.8\nseed: 3\n")
    cfg, _ = load_config(config)
    assert [s.path for s in train_sources(cfg)] == [str(a), str(b)]
    splits = load_splits(cfg, tokenizer)
    # By hand: the hold-out from the 60 rows, then the weights, then the subsample.
    rows = read_rows(str(a)) + read_rows(str(b), None, 1)
    train, held = split_rows(rows, 0.25, 3)
    assert {r.where for r in train}.isdisjoint(r.where for r in held) and len(held) == 15
    expected = subsample_rows(weight_rows(train, [3.0, 0.5], 3), 0.8, 3)
    assert len(splits.train) == len(expected) and len(splits.validation) == 15
    per_source = [sum(1 for r in expected if r.source == s) for s in (0, 1)]
    assert [s["examples"] for s in splits.by_source()] == per_source
    assert [s["rows"] for s in splits.by_source()] == [40, 20]
    assert per_source[0] > 2 * 30 * 0.8 * 0.9 and per_source[1] < 20
    # Each file's format was told from its own rows: alpaca and messages both encode.
    assert all(e.trained_tokens > 0 for e in splits.train)


def test_an_entry_format_and_column_mapping_apply_to_its_file_only(tmp_path, tokenizer):
    _jsonl(tmp_path / "renamed.jsonl", [{"q": r["instruction"], "a": r["output"]} for r in _alpaca(6)])
    _jsonl(tmp_path / "plain.jsonl", _alpaca(4))
    config = tmp_path / "c.sft.yaml"
    config.write_text(f"model_name_or_path: {MODEL}\ncolumn_mapping: {{instruction: nowhere}}\ntrain_files:\n"
                      "  - path: renamed.jsonl\n    dataset_format: alpaca\n    column_mapping: {instruction: q, output: a}\n"
                      "  - path: plain.jsonl\n    column_mapping: {}\n")
    cfg, _ = load_config(config)
    splits = load_splits(cfg, tokenizer)
    assert len(splits.train) == 10


@pytest.mark.parametrize("text, expected", [
    (f"model_name_or_path: {MODEL}\n",
     ["c.sft.yaml:1:1: missing training data: add `train_file: ...` (a data file, or hf://datasets/ORG/NAME for a "
      "Hub dataset), or `train_files:` with entries {path, weight} to mix several"]),
    (f"model_name_or_path: {MODEL}\ntrain_file: {DATA / 'instruct_train.jsonl'}\ntrain_files:\n  - path: {DATA / 'chat_train.jsonl'}\n",
     ["c.sft.yaml:4:3: set either `train_file` or `train_files`, not both; move the file into `train_files` as `- path: ...`"]),
    (f"model_name_or_path: {MODEL}\ntrain_files:\n  - path: {DATA / 'chat_train.jsonl'}\n    weight: 0\n",
     ["c.sft.yaml:4:13: `train_files[0].weight` must be a number greater than 0, got 0 (how many times the file's "
      "rows are used: 0.5 = a seeded half, 2 = every row twice)"]),
    (f"model_name_or_path: {MODEL}\ntrain_files:\n  - path: {DATA / 'chat_train.jsonl'}\n  - weight: 2\n",
     ["c.sft.yaml:4:5: `train_files[1]` has no `path`: add `path: data/train.jsonl` (a data file, or "
      "hf://datasets/ORG/NAME for a Hub dataset)"]),
    (f"model_name_or_path: {MODEL}\ntrain_files:\n  - path: {DATA / 'chat_train.jsonl'}\n    wieght: 2\n",
     ["c.sft.yaml:4:5: `train_files[0]` has unknown key `wieght`: did you mean `weight`?"]),
    (f"model_name_or_path: {MODEL}\ntrain_files: []\n",
     ["c.sft.yaml:2:14: `train_files` needs at least one entry such as `- path: data/train.jsonl`"]),
    (f"model_name_or_path: {MODEL}\ntrain_files:\n  - path: hf://datasets/org\n  - path: hf://models/org/name\n",
     ["c.sft.yaml:3:11: `train_files[0].path` is not a Hub dataset reference: write hf://datasets/ORG/NAME, "
      "optionally followed by @REVISION, /SUBSET and [SPLIT], e.g. hf://datasets/HuggingFaceH4/ultrachat_200k[train_sft]",
      "c.sft.yaml:4:11: `train_files[1].path` is not a Hub dataset: only hf://datasets/ORG/NAME can be read from hf://"]),
    (f"model_name_or_path: {MODEL}\ntrain_file: d.txt\n",
     ["c.sft.yaml:2:13: `train_file` must be a .jsonl, .json, .csv, .parquet, .arrow file or a Hub dataset "
      "(hf://datasets/ORG/NAME), got 'd.txt'; convert the data or fix the path"]),
])
def test_config_errors_of_the_data_sources(tmp_path, text, expected):
    (tmp_path / "d.txt").write_text("x\n")
    path = tmp_path / "c.sft.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert [str(i).replace(str(path), "c.sft.yaml") for i in err.value.issues] == expected


def test_a_missing_train_files_path_is_named_at_its_line(tmp_path):
    path = tmp_path / "c.sft.yaml"
    path.write_text(f"model_name_or_path: {MODEL}\ntrain_files:\n  - path: {DATA / 'chat_train.jsonl'}\n"
                    "  - path: data/missing.jsonl\n    weight: 2\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert [str(i).replace(str(path), "c.sft.yaml") for i in err.value.issues] == [
        f"c.sft.yaml:4:11: file not found: {tmp_path / 'data' / 'missing.jsonl'}; fix the path in "
        "`train_files[1].path` (relative to the config file)"]


# ------------------------------------------------------------------------------------------------ Hub
@pytest.mark.parametrize("value, parsed", [
    ("hf://datasets/org/name", HubDataset("org/name", "train")),
    ("hf://datasets/org/name[test_sft]", HubDataset("org/name", "test_sft")),
    ("hf://datasets/org/name@v1.0/sub[test]", HubDataset("org/name", "test", "v1.0", "sub")),
    ("hf://datasets/org/name@refs%2Fconvert%2Fparquet", HubDataset("org/name", "train", "refs/convert/parquet")),
    ("hf://datasets/org", None), ("hf://datasets/org/name/a/b", None), ("hf://datasets/org/name[]", None),
    ("hf://datasets/../name", None), ("hf://models/org/name", None), ("data/train.jsonl", None),
])
def test_hub_references(value, parsed):
    assert parse(value) == parsed
    assert (reference_problem(value) is None) == (parsed is not None) or not value.startswith("hf://")
    if parsed:
        assert parse(str(parsed)) == parsed  # the name in messages reads back as the same dataset


def test_hub_paths_are_not_resolved_against_the_config_folder(tmp_path):
    path = tmp_path / "c.sft.yaml"
    path.write_text(f"model_name_or_path: {MODEL}\ntrain_files:\n  - path: hf://datasets/org/a[train]\n"
                    "  - path: local.jsonl\nvalidation_file: hf://datasets/org/a[test]\n")
    _jsonl(tmp_path / "local.jsonl", _alpaca(2))
    cfg, _ = load_config(path)
    assert [e["path"] for e in cfg.train_files] == ["hf://datasets/org/a[train]", str(tmp_path / "local.jsonl")]
    assert cfg.validation_file == "hf://datasets/org/a[test]"


def _cache_dataset(hf_home: Path, staging: Path, repo: str, subset: str, splits: dict[str, list[dict]]) -> None:
    """`repo`'s `subset` in the datasets cache under hf_home, as a download would have left it."""
    from datasets.packaged_modules.json.json import Json

    files = {split: [str(_jsonl(staging / f"{repo.replace('/', '_')}-{subset}-{split}.jsonl", rows))]
             for split, rows in splits.items()}
    builder = Json(cache_dir=str(staging / "cache"), dataset_name=repo.split("/")[1], config_name=subset,
                   data_files=files, hash="0" * 40)
    builder.download_and_prepare()
    target = hf_home / "datasets" / repo.replace("/", "___") / subset / "0.0.0" / ("0" * 40)
    shutil.copytree(builder.cache_dir, target)


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hf")
    home, staging = root / "home", root / "staging"
    staging.mkdir()
    chat = [{"messages": [{"role": "user", "content": f"Say {i}."}, {"role": "assistant", "content": f"{i}"}]}
            for i in range(30)]
    _cache_dataset(home, staging, "org/chat", "default", {"train": chat, "test": chat[:6]})
    _cache_dataset(home, staging, "org/multi", "easy", {"train": _alpaca(8, "easy")})
    _cache_dataset(home, staging, "org/multi", "hard", {"train": [{"instruction": "x"}] + _alpaca(4, "hard")})
    return home


def _offline(hf_home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
    return {**env, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(TRAINER)}


_READ = """
import json, sys
from sft_studio.errors import HubError
from sft_studio.data.readers import DataError, read_rows
try:
    rows = read_rows(sys.argv[1], None, 0, "train_file", sys.argv[2])
    print(json.dumps({"n": len(rows), "first": [rows[0].where, rows[0].data], "last": rows[-1].where}))
except (HubError, DataError) as exc:
    print(json.dumps({"error": str(exc), "hint": exc.hint}))
"""


def _read_offline(hf_home: Path, value: str, default_split: str = "train") -> dict:
    done = subprocess.run([sys.executable, "-c", _READ, value, default_split], env=_offline(hf_home),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_cached_hub_dataset_reads_offline_with_its_rows_named(hub_cache):
    got = _read_offline(hub_cache, "hf://datasets/org/chat")
    assert got["n"] == 30
    assert got["first"] == ["hf://datasets/org/chat[train] row 1",
                            {"messages": [{"role": "user", "content": "Say 0."}, {"role": "assistant", "content": "0"}]}]
    assert got["last"] == "hf://datasets/org/chat[train] row 30"
    assert _read_offline(hub_cache, "hf://datasets/org/chat", "validation")["error"] == (
        "train_file: hf://datasets/org/chat[validation] has no split `validation` (it has: train, test)")
    assert _read_offline(hub_cache, "hf://datasets/org/chat[test]", "validation")["n"] == 6
    assert _read_offline(hub_cache, "hf://datasets/org/multi/hard")["first"][0] == "hf://datasets/org/multi/hard[train] row 1"


def test_hub_problems_are_one_message_with_the_fix(hub_cache):
    missing = _read_offline(hub_cache, "hf://datasets/org/nothere")
    assert missing["error"].startswith("train_file: hf://datasets/org/nothere[train] is not in the Hugging Face "
                                       "datasets cache, and HF_HUB_OFFLINE=1 keeps the Hub out of reach")
    assert missing["hint"].startswith("Load it once with a network (unset HF_HUB_OFFLINE")
    several = _read_offline(hub_cache, "hf://datasets/org/multi")
    assert several["error"] == "train_file: hf://datasets/org/multi[train] has several subsets (it has: easy, hard)" \
        or several["error"] == "train_file: hf://datasets/org/multi[train] has several subsets (it has: hard, easy)"
    assert several["hint"].startswith("Name the subset after the dataset, e.g. hf://datasets/org/multi/")
    wrong = _read_offline(hub_cache, "hf://datasets/org/multi/medium")
    assert wrong["error"] == "train_file: hf://datasets/org/multi/medium[train] has no subset `medium` (it has: easy, hard)"


def test_a_run_mixes_a_hub_dataset_with_a_local_file_offline(hub_cache, tmp_path):
    _jsonl(tmp_path / "local.jsonl", _alpaca(10))
    config = tmp_path / "c.sft.yaml"
    config.write_text(f"model_name_or_path: {MODEL}\ntrain_files:\n  - path: hf://datasets/org/chat\n    weight: 2\n"
                      "  - path: local.jsonl\n    weight: 0.5\nvalidation_file: hf://datasets/org/chat[test]\n"
                      "max_length: 64\n")
    done = subprocess.run([sys.executable, "-m", "sft_studio", "train", str(config), "--dry-run", "--json"],
                          env=_offline(hub_cache), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["examples"] == 2 * 30 + 5 and report["validation_examples"] == 6
    assert report["train_sources"] == [
        {"path": "hf://datasets/org/chat", "weight": 2.0, "rows": 30, "examples": 60},
        {"path": str(tmp_path / "local.jsonl"), "weight": 0.5, "rows": 10, "examples": 5}]
    # A bad row of a Hub dataset is named by its place in the split.
    config.write_text(f"model_name_or_path: {MODEL}\ntrain_file: hf://datasets/org/multi/hard\n")
    done = subprocess.run([sys.executable, "-m", "sft_studio", "train", str(config), "--dry-run", "--json"],
                          env=_offline(hub_cache), capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert json.loads(done.stdout.strip().splitlines()[-1])["error"] == (
        "hf://datasets/org/multi/hard[train] row 1: missing field `output`")
