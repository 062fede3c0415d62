"""Run configs and run folder names (run_folder.py) on the cases the extension is also tested on
(test/fixtures/run-folder-naming.cases.json, test/unit/runFolder.unit.test.ts): one rule, schema/run-folder-naming.json."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from sft_studio.config import load_config
from sft_studio.run.run_folder import config_stem, folder_name, free_folder, is_run_config

from .conftest import REPO, write_config

CASES = json.loads((REPO / "test" / "fixtures" / "run-folder-naming.cases.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", CASES["configs"], ids=lambda c: c["file"])
def test_config_files_and_their_stems(case):
    assert is_run_config(case["file"]) is case["is_config"]
    assert config_stem(case["file"]) == case["stem"]
    assert config_stem(Path(case["file"])) == case["stem"]


@pytest.mark.parametrize("case", CASES["folders"], ids=lambda c: c["folder"])
def test_folder_names(case):
    when = datetime.fromisoformat(case["utc"].replace("Z", "+00:00"))
    assert folder_name(case["name"], when) == case["folder"]


@pytest.mark.parametrize("case", CASES["taken"], ids=lambda c: c["chosen"])
def test_a_taken_folder_is_not_reused(tmp_path, case):
    for name in case["existing"]:
        (tmp_path / name).mkdir()
    assert free_folder(tmp_path / case["folder"]) == tmp_path / case["chosen"]


def test_a_config_without_run_name_is_named_by_its_stem(tmp_path):
    cfg, _ = load_config(write_config(tmp_path, name="My.Run.SFT.YAML"))
    assert cfg.run_name == "My.Run"
