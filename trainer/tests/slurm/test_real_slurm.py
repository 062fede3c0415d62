"""Against a real Slurm (scripts/test-slurm.mjs starts one on this machine and sets SFT_STUDIO_SLURM=1): runs
submitted with `python -m sft_studio submit` train as a 2-process job and equal a local run with the same global
batch; a job cancelled mid-run keeps the checkpoint its stop request asked for and resumes by resubmission; a job
Slurm cancels before it starts says so in the run folder. Skipped anywhere else (`npm run test:slurm` runs it)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..conftest import read_events
from ..inprocess import small_config, train_here

pytestmark = pytest.mark.skipif(os.environ.get("SFT_STUDIO_SLURM") != "1",
                                reason="needs a running Slurm: `npm run test:slurm` starts one and runs these tests")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(*argv: str) -> subprocess.CompletedProcess:
    out = subprocess.run([sys.executable, "-m", "sft_studio", *argv], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    return out


def state(run_dir: Path, record: bool = True) -> dict:
    out = cli("slurm-state", str(run_dir), "--json", *(["--record"] if record else []))
    return json.loads(out.stdout.splitlines()[-1])


def wait_until(run_dir: Path, done, timeout: float = 600) -> list[str]:
    """Polls the job (and records its end, as the extension does) until done(state) holds; returns the states seen."""
    seen: list[str] = []
    deadline = time.time() + timeout
    while True:
        now = state(run_dir)
        if not seen or seen[-1] != now["state"]:
            seen.append(now["state"])
        if done(now):
            return seen
        assert time.time() < deadline, f"waited {timeout} s; states {seen}; log:\n{(run_dir / 'trainer.log').read_text()}"
        time.sleep(1)


def submit(config: Path, run_dir: Path, *sets: str) -> str:
    out = cli("submit", str(config), "--output-dir", str(run_dir), *(a for s in sets for a in ("--set", s)), "--json")
    return json.loads(out.stdout.splitlines()[-1])["job_id"]


def test_a_two_process_job_trains_like_a_local_run_with_the_same_global_batch(tmp_path):
    config = small_config(tmp_path, max_steps=4, launcher="slurm", nproc_per_node=2, per_device_train_batch_size=2,
                          master_port=free_port(), save_strategy="steps", save_steps=2)
    local = tmp_path / "local"
    assert train_here(config, local, "per_device_train_batch_size=4", "nproc_per_node=1") == 0

    run_dir = tmp_path / "runs" / "on-slurm"
    job = submit(config, run_dir)
    assert json.loads((run_dir / "status.json").read_text())["state"] in ("queued", "starting", "running")
    seen = wait_until(run_dir, lambda s: s["ended"])
    print(f"\nslurm job {job}: states seen {' -> '.join(seen)}")
    assert seen[-1] == "COMPLETED" and "RUNNING" in seen

    events = read_events(run_dir)
    assert [e["seq"] for e in events] == list(range(len(events)))
    started = [e for e in events if e["type"] == "run_started"]
    assert len(started) == 1 and started[0]["world_size"] == 2
    want = {e["step"]: e for e in read_events(local) if e["type"] == "train"}
    got = {e["step"]: e for e in events if e["type"] == "train"}
    assert sorted(got) == [1, 2, 3, 4]
    for step, e in got.items():
        assert e["loss"] == pytest.approx(want[step]["loss"], rel=1e-5, abs=0), step
        assert e["tokens"] == want[step]["tokens"]
    print("losses (slurm, 2 processes x 2 | local, 1 process x 4): " + ", ".join(
        f"{got[s]['loss']:.6f} | {want[s]['loss']:.6f}" for s in sorted(got)))
    assert events[-1]["type"] == "run_finished" and events[-1]["status"] == "completed"
    assert json.loads((run_dir / "status.json").read_text())["state"] == "completed"
    assert (run_dir / "checkpoints" / "step-4" / "complete.json").is_file()
    assert "step 4/4" in (run_dir / "trainer.log").read_text()
    assert json.loads((run_dir / "slurm.json").read_text())["recorded"] == job


def test_a_job_cancelled_mid_run_keeps_the_stop_checkpoint_and_resumes_by_resubmission(tmp_path):
    config = small_config(tmp_path, max_steps=2000, launcher="slurm", nproc_per_node=2, per_device_train_batch_size=2,
                          master_port=free_port())
    run_dir = tmp_path / "runs" / "cancelled"
    job = submit(config, run_dir)
    deadline = time.time() + 600
    while not any(e["type"] == "train" for e in read_events(run_dir)):
        assert time.time() < deadline, (run_dir / "trainer.log").read_text()
        time.sleep(0.5)
    # Stop as the extension does once its grace period is over: the request, then scancel.
    with open(run_dir / "control.jsonl", "a") as fh:
        fh.write(json.dumps({"type": "stop", "time": time.time()}) + "\n")
    subprocess.run(["scancel", job], check=True)
    seen = wait_until(run_dir, lambda s: s["ended"])
    print(f"\nslurm job {job}: states seen {' -> '.join(seen)}")
    assert seen[-1] == "CANCELLED"

    events = read_events(run_dir)
    finished = [e for e in events if e["type"] == "run_finished"]
    assert [e["status"] for e in finished] == ["stopped"], "the user's stop: no Slurm error is added"
    assert not any(e["type"] == "error" for e in events)
    saved = [e for e in events if e["type"] == "checkpoint"]
    assert len(saved) == 1 and saved[0]["step"] < 2000
    step = saved[0]["step"]
    assert (run_dir / "checkpoints" / f"step-{step}" / "complete.json").is_file()

    # Resume resubmits it as `train --resume` (a shorter schedule here, so the test ends soon).
    resolved = json.loads((run_dir / "config.resolved.json").read_text())
    (run_dir / "config.resolved.json").write_text(json.dumps({**resolved, "max_steps": step + 2}))
    out = cli("submit", "--resume", str(run_dir), "--json")
    second = json.loads(out.stdout.splitlines()[-1])["job_id"]
    assert second != job and "train --resume" in (run_dir / "slurm.sbatch").read_text()
    seen = wait_until(run_dir, lambda s: s["ended"])
    print(f"slurm job {second} (resume): states seen {' -> '.join(seen)}")
    assert seen[-1] == "COMPLETED"
    resumed = read_events(run_dir)[len(events):]
    assert [e["resumed_from"] for e in resumed if e["type"] == "run_started"] == [f"checkpoints/step-{step}"]
    assert [e["step"] for e in resumed if e["type"] == "train"] == [step + 1, step + 2]
    assert resumed[-1]["type"] == "run_finished" and resumed[-1]["status"] == "completed"
    assert [p["job_id"] for p in json.loads((run_dir / "slurm.json").read_text())["previous"]] == [job]


def test_a_job_slurm_cancels_before_it_starts_says_so(tmp_path):
    config = small_config(tmp_path, launcher="slurm", slurm={"extra_sbatch": ["#SBATCH --begin=now+1hour"]})
    run_dir = tmp_path / "runs" / "never"
    job = submit(config, run_dir)
    now = state(run_dir)
    assert (now["state"], now["active"]) == ("PENDING", True)
    assert json.loads((run_dir / "status.json").read_text())["state"] == "queued"
    subprocess.run(["scancel", job], check=True)
    wait_until(run_dir, lambda s: s["ended"], timeout=60)
    error, finished = read_events(run_dir)[-2:]
    assert error["type"] == "error" and error["message"].startswith(
        f"Slurm job {job} ended CANCELLED before the trainer started")
    assert finished["type"] == "run_finished" and finished["status"] == "failed"
    assert json.loads((run_dir / "status.json").read_text())["state"] == "failed"
