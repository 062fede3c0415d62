"""status.json and control.jsonl against schema/run-directory.schema.json, the contract the extension's types are
generated from (as test_training.py holds events.jsonl to events.schema.json): what a real run writes while it
starts, trains, saves and stops on control requests, and what the other writers of status.json write."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import jsonschema

from sft_studio.run.events import StatusFile, record_failure
from sft_studio.run.identity import identity

from .conftest import DATA, REPO, write_config

SCHEMA = json.loads((REPO / "schema" / "run-directory.schema.json").read_text(encoding="utf-8"))


def validator(definition: str) -> jsonschema.Draft202012Validator:
    """The schema with only one of its documents at the root."""
    return jsonschema.Draft202012Validator({**SCHEMA, "oneOf": [{"$ref": f"#/$defs/{definition}"}]})


STATUS, CONTROL = validator("StatusFile"), validator("ControlRequest")


def read_status(run_dir: Path) -> dict | None:
    try:
        return json.loads((run_dir / "status.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # not written yet


def test_a_run_that_is_saved_and_stopped_through_control_jsonl(tmp_path):
    config = write_config(tmp_path, per_device_train_batch_size=8, max_steps=2000, eval_strategy="no",
                          validation_file=str(DATA / "instruct_val.jsonl"))
    run_dir = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "sft_studio", "train", str(config), "--output-dir", str(run_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen: list[dict] = []
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        status = read_status(run_dir)
        if status is not None and status not in seen:
            seen.append(status)
        if status is not None and status["state"] == "running" and status["step"] >= 1:
            break
        time.sleep(0.05)
    # As the extension writes them (src/runs/runManager.ts appendControl).
    with open(run_dir / "control.jsonl", "a", encoding="utf-8") as fh:
        for kind in ("save", "generate", "stop"):
            fh.write(json.dumps({"type": kind, "time": time.time()}) + "\n")
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    seen.append(read_status(run_dir))
    for status in seen:
        STATUS.validate(status)
    assert [s["state"] for s in seen][-1] == "stopped"
    assert "running" in [s["state"] for s in seen]
    final = seen[-1]
    assert set(final) >= {"pid", "process", "state", "heartbeat", "progress", "started", "step", "total_steps",
                          "run_name", "config_path"}
    for line in (run_dir / "control.jsonl").read_text(encoding="utf-8").splitlines():
        CONTROL.validate(json.loads(line))


def test_the_other_writers_of_status_json(tmp_path):
    # A failure before training (cli.py, slurm.py).
    record_failure(tmp_path / "failed", "bad", "fix it")
    STATUS.validate(read_status(tmp_path / "failed"))
    # A torchrun rank 0, which also names its launcher.
    (tmp_path / "rank0").mkdir()
    status = StatusFile(tmp_path / "rank0" / "status.json", launcher=identity(os.getppid()), run_name="r",
                        config_path="/c.sft.yaml")
    status.close("completed")
    written = read_status(tmp_path / "rank0")
    assert "launcher" in written
    STATUS.validate(written)


def test_the_schema_refuses_what_no_writer_writes():
    assert not STATUS.is_valid({"state": "paused", "heartbeat": 1.0})
    assert not STATUS.is_valid({"state": "running", "heartbeat": 1.0, "surprise": 1})
    assert not CONTROL.is_valid({"type": "pause", "time": 1.0})
    assert not CONTROL.is_valid({"type": "stop"})
