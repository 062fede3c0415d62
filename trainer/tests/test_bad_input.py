"""Bad configs and bad rows: each case asserts the exact message and where it points (file:line:col for
configs, file:line or file: row N for data)."""

from __future__ import annotations

import json

import pytest

from sft_studio.config import ConfigError, RunConfig, load_config
from sft_studio.data.dataset import DataError, load_splits

from .conftest import DATA, MODEL

GOOD = f"""model_name_or_path: {MODEL}
train_file: {DATA / 'instruct_train.jsonl'}
"""


@pytest.mark.parametrize("extra, overrides, expected", [
    ("task: classification\n", [],
     "c.sft.yaml:3:7: `task` must be one of causal_lm, sequence_classification, got 'classification'; did you mean `sequence_classification`?"),
    ("dataset_format: txt\n", [],
     "c.sft.yaml:3:17: `dataset_format` must be one of auto, alpaca, messages, sharegpt, prompt_completion, text, got 'txt'; did you mean `text`?"),
    ("subsample: 0\n", [], "c.sft.yaml:3:12: `subsample` must be greater than 0, got 0 (default 1.0)"),
    ("subsample: 1.5\n", [], "c.sft.yaml:3:12: `subsample` must be at most 1, got 1.5 (default 1.0)"),
    ("validation_split_ratio: 1\n", [],
     "c.sft.yaml:3:25: `validation_split_ratio` must be less than 1, got 1 (default 0.0)"),
    ("num_labels: 1\n", [], "c.sft.yaml:3:13: `num_labels` must be at least 2, got 1 (default 2)"),
    ("packing_strategy: ffd\n", [],
     "c.sft.yaml:3:19: `packing_strategy` must be one of bfd, wrapped, got 'ffd'; did you mean `bfd`?"),
    ("column_mapping:\n  instrucion: prompt\n", [],
     "c.sft.yaml:4:3: `column_mapping` has unknown column `instrucion`: did you mean `instruction`?"),
    ("column_mapping: [a, b]\n", [],
     "c.sft.yaml:3:17: `column_mapping` must be a mapping, got [\"a\", \"b\"]; write e.g. `column_mapping: ...`"),
    (f"validation_split_ratio: 0.1\nvalidation_file: {DATA / 'instruct_val.jsonl'}\n", [],
     "c.sft.yaml:3:25: set either `validation_file` or `validation_split_ratio`, not both"),
    (f"task: sequence_classification\ngeneration_prompts_file: {DATA / 'instruct_eval.jsonl'}\n", [],
     "c.sft.yaml:4:26: `generation_prompts_file` applies to task causal_lm only; remove it for `task: sequence_classification`"),
    ("task: sequence_classification\npacking: true\n", [],
     "c.sft.yaml:4:10: `packing` applies to task causal_lm only; remove it for `task: sequence_classification`"),
    ("task: sequence_classification\npadding_free: true\n", [],
     "c.sft.yaml:4:15: `padding_free` applies to task causal_lm only; remove it for `task: sequence_classification`"),
    ("packing: true\npacking_strategy: wrapped\npadding_free: true\n", [],
     "c.sft.yaml:5:15: `padding_free` cannot lay out `packing_strategy: wrapped` blocks (they are full rows already); use `packing_strategy: bfd` or `padding_free: false`"),
    ("eval_strategy: steps\neval_steps: 5\n", [],
     "c.sft.yaml:3:16: evaluation needs data: add `validation_file`, `validation_split_ratio` and/or `generation_prompts_file`, or set `eval_strategy: no`"),
    ("load_in_4bit: true\n", [],
     "c.sft.yaml:3:15: a 4-bit base cannot be trained in full; add `use_lora: true` (QLoRA) or remove `load_in_4bit`"),
    ("use_lora: true\nload_in_4bit: true\nmerge_lora_on_save: true\n", [],
     "c.sft.yaml:5:21: merging into a 4-bit base would save rounded weights; remove `merge_lora_on_save` and merge "
     "the adapter into the bf16 base afterwards"),
    ("", ["packing=maybe"], "--set packing=maybe: `packing` must be true or false, got 'maybe'; write e.g. `packing: false`"),
    ("", ["subsample=-0.5"], "--set subsample=-0.5: `subsample` must be greater than 0, got -0.5 (default 1.0)"),
])
def test_bad_config(tmp_path, extra, overrides, expected):
    path = tmp_path / "c.sft.yaml"
    path.write_text(GOOD + extra)
    with pytest.raises(ConfigError) as err:
        load_config(path, overrides)
    assert [str(i).replace(str(path), "c.sft.yaml") for i in err.value.issues] == [expected]


def test_unsupported_data_file_type(tmp_path):
    (tmp_path / "d.txt").write_text("hello\n")
    path = tmp_path / "c.sft.yaml"
    path.write_text(f"model_name_or_path: {MODEL}\ntrain_file: d.txt\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert [str(i).replace(str(path), "c.sft.yaml") for i in err.value.issues] == [
        "c.sft.yaml:2:13: `train_file` must be a .jsonl, .json, .csv, .parquet, .arrow file or a Hub dataset "
        "(hf://datasets/ORG/NAME), got 'd.txt'; convert the data or fix the path"]


def _parquet(rows):
    import pyarrow as pa
    import pyarrow.parquet as pq

    def write(path):
        pq.write_table(pa.Table.from_pylist(rows), path)
    return write


@pytest.mark.parametrize("name, content, fields, expected", [
    ("d.csv", "instruction,output\nhi,there\nonly-one\n", {}, "d.csv:3: missing field `output`"),
    ("d.csv", "instruction,output\n\"a, quoted\",b\na,b,c\n", {}, "d.csv:3: more fields than the header has columns"),
    ("d.json", '[\n {"instruction": "a", "output": "b"},\n 5\n]\n', {}, "d.json:3: expected a JSON object, got int"),
    ("d.json", '[\n {"instruction": "a",, "output": "b"}\n]\n', {},
     "d.json:2:22: not valid JSON (Expecting property name enclosed in double quotes)"),
    ("d.json", '{"instruction": "a", "output": "b"}\n', {}, "d.json:1: expected a JSON list of objects, got dict"),
    ("d.jsonl", '{"instruction": "a", "output": "b"}\n', {"column_mapping": {"instruction": "prompt"}},
     "d.jsonl:1: missing field `prompt` (column_mapping reads `instruction` from it)"),
    ("d.jsonl", '{"text": "a", "label": 0}\n{"text": "b", "label": 2}\n', {"task": "sequence_classification"},
     "d.jsonl:2: label 2 is outside 0..1 (num_labels: 2)"),
    ("d.jsonl", '{"text": "a", "label": "yes"}\n', {"task": "sequence_classification"},
     "d.jsonl:1: field `label` must be a whole number, got 'yes'"),
    ("d.jsonl", '{"text_b": "a", "label": 1}\n',
     {"task": "sequence_classification", "column_mapping": {"text": "text_a", "text_pair": "text_b"}},
     "d.jsonl:1: missing field `text_a` (column_mapping reads `text` from it)"),
    ("d.jsonl", '{"text": "fine"}\n{"text": 5}\n', {"dataset_format": "text"}, "d.jsonl:2: field `text` must be a string, got int"),
    ("d.parquet", _parquet([{"instruction": "a"}]), {}, "d.parquet: row 1: missing field `output`"),
    ("d.jsonl", '{"instruction": "a", "output": "b"}\n', {"validation_split_ratio": 0.5},
     "validation_split_ratio=0.5 leaves no training row out of 1"),
])
def test_bad_rows(tmp_path, tokenizer, name, content, fields, expected):
    path = tmp_path / name
    content(path) if callable(content) else path.write_text(content)
    cfg = RunConfig(model_name_or_path=str(MODEL), train_file=str(path), **fields)
    with pytest.raises(DataError) as err:
        load_splits(cfg, tokenizer)
    assert str(err.value).replace(str(tmp_path) + "/", "") == expected
    assert err.value.hint


def test_data_error_ends_the_run_with_an_error_event(tmp_path):
    import subprocess
    import sys

    from .conftest import read_events, write_config

    data = tmp_path / "d.jsonl"
    data.write_text('{"instruction": "a", "output": "b"}\n{"instruction": "a"}\n')
    config = write_config(tmp_path, train_file=str(data), max_steps=1)
    done = subprocess.run([sys.executable, "-m", "sft_studio", "train", str(config), "--output-dir", str(tmp_path / "run")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert f"error (data): {data}:2: missing field `output`" in done.stderr
    events = read_events(tmp_path / "run")
    assert [e["type"] for e in events][-2:] == ["error", "run_finished"]
    assert events[-2]["kind"] == "data" and events[-2]["message"] == f"{data}:2: missing field `output`"
    assert json.loads((tmp_path / "run" / "status.json").read_text())["state"] == "failed"


def test_qlora_on_the_cpu_ends_with_a_config_error_that_names_the_fix(tmp_path):
    from .conftest import read_events
    from .inprocess import small_config, train_here

    run_dir = tmp_path / "run"
    assert train_here(small_config(tmp_path), run_dir, "use_lora=true", "load_in_4bit=true", "device=cpu") == 2
    error = next(e for e in read_events(run_dir) if e["type"] == "error")
    assert error["kind"] == "config"
    assert error["message"].startswith("`load_in_4bit` (QLoRA) needs a CUDA GPU; this run is on the CPU.")
