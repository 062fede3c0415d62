"""Config validation: every problem is reported at file:line:col with the fix."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
from pathlib import Path

import pytest

from sft_studio import config as config_module
from sft_studio.cli import main
from sft_studio.config import ConfigError, RunConfig, load_config, load_schema

from .conftest import DATA, MODEL

GOOD = f"""model_name_or_path: {MODEL}
train_file: {DATA / 'instruct_train.jsonl'}
"""


def issues_of(tmp_path: Path, text: str, overrides: list[str] | None = None) -> list[str]:
    path = tmp_path / "c.sft.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path, overrides)
    return [str(i).replace(str(path), "c.sft.yaml") for i in err.value.issues]


def test_dataclass_matches_schema():
    schema = load_schema()
    fields = {f.name: f for f in dataclasses.fields(RunConfig)}
    assert set(fields) == set(schema["properties"])
    assert set(schema["required"]) == {n for n, f in fields.items() if f.default is dataclasses.MISSING}
    for name, spec in schema["properties"].items():
        if "default" in spec:
            assert fields[name].default == spec["default"], name
        assert spec["description"], name


def test_every_field_doc_line_is_the_schema_description():
    """Each field is documented once, in the schema (the editor's hover); its doc line in config.py is written from
    there by `npm run gen:types` (scripts/gen-config-docs.mjs)."""
    body = next(node for node in ast.parse(inspect.getsource(config_module)).body
                if isinstance(node, ast.ClassDef) and node.name == "RunConfig").body
    docs = {field.target.id: " ".join(doc.value.value.split()) for field, doc in zip(body, body[1:])
            if isinstance(field, ast.AnnAssign) and isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant)}
    described = {name: spec["description"] for name, spec in load_schema()["properties"].items()}
    drifted = sorted(name for name in described if docs.get(name) != described[name])
    assert drifted == [], f"doc lines differ from schema/run-config.schema.json: {drifted}; run `npm run gen:types`"


@pytest.mark.parametrize(
    "extra, expected",
    [
        ("learnig_rate: 1e-4\n", "c.sft.yaml:3:1: unknown key `learnig_rate`: did you mean `learning_rate`?"),
        ("zzz: 1\n", "c.sft.yaml:3:1: unknown key `zzz`: remove it or check the spelling against the schema"),
        ("per_device_train_batch_size: abc\n",
         "c.sft.yaml:3:30: `per_device_train_batch_size` must be a whole number, got 'abc'; write e.g. `per_device_train_batch_size: 8`"),
        ("lr_scheduler_type: cosin\n",
         "c.sft.yaml:3:20: `lr_scheduler_type` must be one of linear, cosine, constant, constant_with_warmup, got 'cosin'; did you mean `cosine`?"),
        ("warmup_ratio: 2\n", "c.sft.yaml:3:15: `warmup_ratio` must be at most 1, got 2 (default 0.0)"),
        ("learning_rate: 0\n", "c.sft.yaml:3:16: `learning_rate` must be greater than 0, got 0 (default 5e-05)"),
        ("padding_free: maybe\n", "c.sft.yaml:3:15: `padding_free` must be true or false, got 'maybe'; write e.g. `padding_free: false`"),
        ("eval_strategy: steps\nvalidation_file: " + str(DATA / "instruct_val.jsonl") + "\n",
         "c.sft.yaml:3:16: `eval_strategy: steps` needs `eval_steps: N` (evaluate every N optimizer steps)"),
        ("run_name: 'my run'\n", "c.sft.yaml:3:11: `run_name` may contain only letters, digits, '.', '_' and '-', got 'my run'"),
        ("max_steps: 0\n", "c.sft.yaml:3:12: `max_steps` must be a positive number of steps, or -1 to use num_train_epochs"),
    ],
)
def test_bad_values_point_at_the_value(tmp_path, extra, expected):
    assert issues_of(tmp_path, GOOD + extra) == [expected]


def test_missing_files_and_model(tmp_path):
    text = "model_name_or_path: nowhere\ntrain_file: missing.jsonl\n"
    got = issues_of(tmp_path, text)
    assert got[0].startswith("c.sft.yaml:1:21: `nowhere` is not a folder and not a Hub id (no folder ")
    assert got[0].endswith("point `model_name_or_path` at a local model folder (relative to the config file) "
                           "or write a Hub id such as Qwen/Qwen2.5-0.5B-Instruct")
    assert got[1].startswith("c.sft.yaml:2:13: file not found: ")
    assert got[1].endswith("missing.jsonl; fix the path in `train_file` (relative to the config file)")


@pytest.mark.parametrize("model, kind", [
    ("Qwen/Qwen2.5-0.5B-Instruct", "hub"), ("org/name", "hub"), ("my-org/model_v1.5", "hub"),
    ("./org/name", None), ("../org/name", None), ("/org/name", None), ("nowhere", None), ("a/b/c", None),
    ("org/", None), ("org name/x", None), ("örg/x", None),
])
def test_model_is_a_folder_or_a_hub_id(tmp_path, model, kind):
    text = f"model_name_or_path: '{model}'\ntrain_file: {DATA / 'instruct_train.jsonl'}\n"
    path = tmp_path / "c.sft.yaml"
    path.write_text(text)
    if kind == "hub":
        cfg, _ = load_config(path)
        assert cfg.model_name_or_path == model and cfg.model_revision == "main"  # a Hub id is not made a path
    else:
        assert issues_of(tmp_path, text)[0].startswith(f"c.sft.yaml:1:21: `{model}` is not a folder and not a Hub id")


def test_an_existing_folder_wins_over_the_hub_id_reading(tmp_path):
    (tmp_path / "org" / "name").mkdir(parents=True)
    path = tmp_path / "c.sft.yaml"
    path.write_text(f"model_name_or_path: org/name\ntrain_file: {DATA / 'instruct_train.jsonl'}\n")
    assert issues_of(tmp_path, path.read_text()) == [
        f"c.sft.yaml:1:21: {(tmp_path / 'org' / 'name').resolve()} has no config.json; point `model_name_or_path` at a "
        "Hugging Face model folder"]
    (tmp_path / "org" / "name" / "config.json").write_text("{}")
    cfg, _ = load_config(path, ["model_revision=v1.0"])
    assert cfg.model_name_or_path == str((tmp_path / "org" / "name").resolve()) and cfg.model_revision == "v1.0"


def test_missing_required_key(tmp_path):
    got = issues_of(tmp_path, f"model_name_or_path: {MODEL}\n")
    assert got == ["c.sft.yaml:1:1: missing training data: add `train_file: ...` (a data file, or hf://datasets/ORG/NAME "
                   "for a Hub dataset), or `train_files:` with entries {path, weight} to mix several"]


def test_broken_yaml(tmp_path):
    got = issues_of(tmp_path, "model_name_or_path: a\n  train_file: b\n")
    assert got == ["c.sft.yaml:2:13: not valid YAML: mapping values are not allowed here; check indentation, colons and quotes"]


def test_duplicate_key(tmp_path):
    got = issues_of(tmp_path, GOOD + "seed: 1\nseed: 2\n")
    assert got == ["c.sft.yaml:4:1: duplicate key `seed`: keep only one of them"]


def test_overrides_parse_as_yaml_scalars_and_later_wins(tmp_path):
    path = tmp_path / "c.sft.yaml"
    path.write_text(GOOD)
    cfg, _ = load_config(path, ["learning_rate=1e-4", "padding_free=no", "max_steps=3", "max_steps=7"])
    assert cfg.learning_rate == pytest.approx(1e-4)
    assert cfg.padding_free is False
    assert cfg.max_steps == 7


def test_bad_override_is_named(tmp_path):
    got = issues_of(tmp_path, GOOD, ["max_steps=abc", "foo=1"])
    assert got == [
        "--set foo=1: unknown key `foo`: remove it or check the spelling against the schema",
        "--set max_steps=abc: `max_steps` must be a whole number, got 'abc'; write e.g. `max_steps: -1`",
    ]


def test_paths_resolve_relative_to_the_config(tmp_path):
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "x.sft.yaml"
    path.write_text(f"model_name_or_path: {MODEL}\ntrain_file: {DATA / 'instruct_train.jsonl'}\n")
    cfg, _ = load_config(path)
    assert cfg.output_dir == str((tmp_path / "sub" / "runs").resolve())
    assert cfg.run_name == "x"


def test_json_config(tmp_path):
    path = tmp_path / "c.sft.json"
    path.write_text(json.dumps({"model_name_or_path": str(MODEL), "train_file": str(DATA / "instruct_train.jsonl"),
                                "seed": "x"}, indent=1))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert [(i.line, i.column) for i in err.value.issues] == [(4, 10)]


def test_validate_command_prints_locations_and_exits_2(tmp_path, capsys):
    path = tmp_path / "c.sft.yaml"
    path.write_text(GOOD + "learnig_rate: 1\n")
    assert main(["validate", str(path)]) == 2
    assert capsys.readouterr().out.strip() == f"{path}:3:1: unknown key `learnig_rate`: did you mean `learning_rate`?"
    path.write_text(GOOD)
    assert main(["validate", str(path)]) == 0
