"""Slurm as a launcher without a cluster: the config fields and their errors, the sbatch script (run with a fake
srun, so its quoting and per-node arguments are what each node's shell really sees), `submit` against fake sbatch
and squeue, and how an ended job is written into the run folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sft_studio.config import ConfigError, load_config
from sft_studio.launch.slurm import render_script
from sft_studio.launch.slurm_jobs import JobState, query, record_outcome
from sft_studio.run.events import EventWriter

from ..conftest import write_config
from ..test_run_directory_schema import STATUS
from .fake_tools import fake_cluster, tool


def config_text(tmp_path: Path, text: str) -> Path:
    base = write_config(tmp_path)
    path = tmp_path / "c.sft.yaml"
    path.write_text(base.read_text() + text)
    return path


def issues(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return [str(i).replace(f"{path.parent}/", "") for i in caught.value.issues]


def test_config_errors_are_placed_and_name_the_fix(tmp_path):
    path = config_text(tmp_path, "slurm:\n  partiton: gpu\n  time: 4 hours\n  extra_sbatch: ['--mem=64G']\n")
    assert issues(path) == [
        "c.sft.yaml:4:1: `slurm` applies to `launcher: slurm`; add `launcher: slurm` to submit this run as a Slurm "
        "job, or remove `slurm` to train on this machine",
        "c.sft.yaml:5:3: `slurm` has unknown key `partiton`: did you mean `partition`?",
        "c.sft.yaml:6:9: `slurm.time` must be a Slurm time: minutes (90), HH:MM:SS (4:00:00) or D-HH:MM:SS "
        "(1-12:00:00), got '4 hours'",
        "c.sft.yaml:7:18: `slurm.extra_sbatch[0]` must be one `#SBATCH --option=value` line, got '--mem=64G'",
    ]
    path = config_text(tmp_path, "launcher: slurm\nnnodes: 2\nnproc_per_node: 2\nslurm: {gpus_per_node: 4}\n")
    assert issues(path) == [
        "c.sft.yaml:5:9: with `launcher: slurm` the machines are `slurm.nodes`; remove `nnodes` and write `nodes: 2` "
        "under `slurm`",
        "c.sft.yaml:6:17: with `slurm.gpus_per_node: 4` every machine runs one process per GPU; remove "
        "`nproc_per_node` (or set it to 4)",
    ]
    cfg, _ = load_config(config_text(tmp_path, "launcher: slurm\nfsdp: full_shard\nslurm: {nodes: 2}\n"))
    assert cfg.launcher == "slurm" and cfg.slurm == {"nodes": 2}


def fake_python(tmp_path: Path) -> tuple[Path, Path]:
    """A "python" (in a folder with a space) that logs its argv, one JSON list per line."""
    argv_log = tmp_path / "argv.jsonl"
    folder = tmp_path / "py dir"
    folder.mkdir()
    return tool(folder, "python", f'{sys.executable} -c "import json,sys; print(json.dumps(sys.argv[1:]))" "$@" '
                                  f'>> {argv_log}\n'), argv_log


def run_script(tmp_path: Path, script: str, nodes: int, argv_log: Path) -> list[list[str]]:
    """Runs the script as sbatch would, with srun starting its command once per node; returns each python argv."""
    env = fake_cluster(tmp_path)
    tool(tmp_path / "bin", "srun", 'while [[ "$1" == --* ]]; do shift; done\n'
                                   f'for n in $(seq 0 {nodes - 1}); do SLURM_NODEID=$n "$@" || exit 1; done\n')
    env.update(SLURM_NNODES=str(nodes), SLURM_JOB_ID="4242", SLURM_JOB_NODELIST="node-[a-b]")
    subprocess.run(["bash", "-c", script], env=env, check=True, cwd=tmp_path)
    return [json.loads(line) for line in argv_log.read_text().splitlines()]


def test_the_script_starts_torchrun_once_per_node_with_that_nodes_rank(tmp_path):
    run_dir = tmp_path / "runs" / "it's a run"
    run_dir.mkdir(parents=True)
    cfg, config_path = load_config(config_text(tmp_path, "launcher: slurm\nmaster_port: 29555\nslurm:\n"
                                                         "  nodes: 2\n  gpus_per_node: 4\n  partition: gpu\n"
                                                         "  time: '1-00:00:00'\n  setup: ['export GREETING=\"a b\"']\n"))
    worker = ["train", str(config_path), "--output-dir", str(run_dir), "--set", "learning_rate=1e-4"]
    python, argv_log = fake_python(tmp_path)
    script = render_script(cfg, run_dir, worker, python=str(python))
    header = [line for line in script.splitlines() if line.startswith("#SBATCH")]
    assert header == ["#SBATCH --job-name=c", "#SBATCH --nodes=2", "#SBATCH --ntasks-per-node=1",
                      "#SBATCH --gpus-per-node=4", "#SBATCH --partition=gpu", "#SBATCH --time=1-00:00:00",
                      "#SBATCH --output=trainer.log", "#SBATCH --open-mode=append"]
    calls = run_script(tmp_path, script, 2, argv_log)
    torchrun = ["-m", "torch.distributed.run", "--nnodes=2", "--nproc_per_node=4", "--rdzv_backend=c10d",
                "--rdzv_endpoint=node-a:29555", "--rdzv_id=4242", "-m", "sft_studio", *worker]
    assert [c[:3] + c[4:] for c in calls] == [torchrun, torchrun]
    assert [c[3] for c in calls] == ["--node_rank=0", "--node_rank=1"]


def test_one_node_one_process_runs_the_trainer_itself(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    cfg, config_path = load_config(config_text(tmp_path, "launcher: slurm\nslurm:\n  extra_sbatch: ['#SBATCH --mem=8G']\n"))
    python, argv_log = fake_python(tmp_path)
    script = render_script(cfg, run_dir, ["train", "--resume", str(run_dir)], python=str(python))
    assert "#SBATCH --open-mode=append\n#SBATCH --mem=8G\n" in script and "srun" not in script
    assert run_script(tmp_path, script, 1, argv_log) == [["-m", "sft_studio", "train", "--resume", str(run_dir)]]


def submit(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sft_studio", "submit", *args], env=env, capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)


def test_submit_writes_the_script_the_job_and_a_queued_status(tmp_path):
    config = config_text(tmp_path, "launcher: slurm\nslurm: {partition: debug}\n")
    run_dir = tmp_path / "run"
    env = fake_cluster(tmp_path)
    out = submit(tmp_path, env, str(config), "--output-dir", str(run_dir), "--set", "max_steps=3", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.splitlines()[-1]) == {"job_id": "77", "cluster": "testers", "run_dir": str(run_dir),
                                                       "script": str(run_dir / "slurm.sbatch")}
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert f"sbatch --parsable --chdir={run_dir} {run_dir / 'slurm.sbatch'}" in calls
    assert "--set max_steps=3" in (run_dir / "slurm.sbatch").read_text()
    job = json.loads((run_dir / "slurm.json").read_text())
    assert (job["job_id"], job["cluster"], job["clusters_option"], job["events_before"]) == ("77", "testers", None, 0)
    assert job["python"] == sys.executable and job["slurm"]["partition"] == "debug"
    status = json.loads((run_dir / "status.json").read_text())
    assert status["state"] == "queued" and status["config_path"] == str(config.resolve())
    STATUS.validate(status)
    assert [e["type"] for e in map(json.loads, (run_dir / "events.jsonl").read_text().splitlines())] == ["log"]

    # The job is still queued: a resubmission is refused; --dry-run prints the script and creates nothing.
    (run_dir / "config.resolved.json").write_text(json.dumps(load_config(config)[0].to_dict()))
    refused = submit(tmp_path, fake_cluster(tmp_path, queue_state="PENDING"), "--resume", str(run_dir))
    assert refused.returncode == 2 and "Slurm job 77 of this run is still PENDING" in refused.stderr
    dry = submit(tmp_path, env, str(config), "--output-dir", str(tmp_path / "dry"), "--dry-run")
    assert dry.returncode == 0 and dry.stdout.startswith("#!/bin/bash\n") and not (tmp_path / "dry").exists()


def test_a_refused_submission_fails_the_run_with_sbatchs_words(tmp_path):
    config = config_text(tmp_path, "launcher: slurm\nslurm: {partition: gpux}\n")
    run_dir = tmp_path / "run"
    out = submit(tmp_path, fake_cluster(tmp_path, sbatch_code=1), str(config), "--output-dir", str(run_dir))
    assert out.returncode == 2
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert events[-2]["type"] == "error" and "invalid partition specified: gpux" in events[-2]["message"]
    assert events[-1] == {**events[-1], "type": "run_finished", "status": "failed"}
    assert json.loads((run_dir / "status.json").read_text())["state"] == "failed"
    local = submit(tmp_path, fake_cluster(tmp_path), str(write_config(tmp_path, "l.sft.yaml")), "--dry-run")
    assert local.returncode == 2 and "`launcher: local`" in local.stderr


def fake_runner(answers: dict[str, tuple[int, str]]):
    def run(argv: list[str]) -> subprocess.CompletedProcess:
        code, out = answers.get(argv[0], (1, ""))
        return subprocess.CompletedProcess(argv, code, out, "")
    return run


def test_states_from_squeue_then_sacct_then_scontrol():
    assert query("5", run=fake_runner({"squeue": (0, "PENDING|Resources\n")})).to_json() == {
        "job_id": "5", "state": "PENDING", "active": True, "ended": False, "reason": "Resources", "exit_code": None,
        "source": "squeue"}
    ended = query("5", run=fake_runner({"squeue": (0, "TIMEOUT|None\n"), "sacct": (0, "TIMEOUT|0:15\n")}))
    assert (ended.state, ended.exit_code, ended.source, ended.ended) == ("TIMEOUT", "0:15", "sacct", True)
    no_accounting = query("5", run=fake_runner({
        "squeue": (0, ""), "scontrol": (0, "JobId=5 JobName=x JobState=CANCELLED Reason=None ExitCode=0:15\n")}))
    assert (no_accounting.state, no_accounting.reason, no_accounting.source) == ("CANCELLED", None, "scontrol")
    assert query("5", run=fake_runner({"sacct": (0, "CANCELLED by 1000|0:0\n")})).state == "CANCELLED"
    assert query("5", run=fake_runner({})).state == "UNKNOWN"


def ended_run(tmp_path: Path, trainer_events: list[tuple[str, dict]], stop_requested: bool = False) -> Path:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    events = EventWriter(run_dir / "events.jsonl")
    events.emit("log", level="info", message="an earlier job")
    events.emit("run_finished", status="stopped")
    for type_, fields in trainer_events:
        events.emit(type_, **fields)
    events.close()
    (run_dir / "slurm.json").write_text(json.dumps({"job_id": "9", "submitted": 100.0, "events_before": 2,
                                                    "slurm": {"time": "30"}}))
    (run_dir / "status.json").write_text(json.dumps({"state": "running", "config_path": "/c.sft.yaml"}))
    if stop_requested:
        (run_dir / "control.jsonl").write_text(json.dumps({"type": "stop", "time": 50.0}) + "\n" +
                                               json.dumps({"type": "stop", "time": 150.0}) + "\n")
    return run_dir


def recorded_events(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()][2:]


def test_a_job_slurm_ended_says_why_even_when_its_trainer_saved_on_sigterm(tmp_path):
    run_dir = ended_run(tmp_path, [("run_started", {}), ("run_finished", {"status": "stopped"})])
    assert record_outcome(run_dir, JobState("9", "TIMEOUT", exit_code="0:15")) == "failed"
    error, finished = recorded_events(run_dir)[-2:]
    assert error["kind"] == "crash" and error["message"] == ("Slurm job 9 ended TIMEOUT: it reached its time limit "
                                                             "(30, slurm.time)")
    assert "--time" in error["hint"] and finished["status"] == "failed"
    status = json.loads((run_dir / "status.json").read_text())
    assert status["state"] == "failed" and status["config_path"] == "/c.sft.yaml"
    assert record_outcome(run_dir, JobState("9", "TIMEOUT")) is None, "once per job"
    assert json.loads((run_dir / "slurm.json").read_text())["recorded"] == "9"


@pytest.mark.parametrize("state, trainer, stop, written, last", [
    ("CANCELLED", [], False, "failed", "Slurm job 9 ended CANCELLED before the trainer started: it was cancelled"),
    ("CANCELLED", [("run_started", {})], True, "stopped", "Slurm job 9 ended CANCELLED after the stop request"),
    ("CANCELLED", [("run_started", {}), ("run_finished", {"status": "stopped"})], True, None, None),
    ("COMPLETED", [("run_started", {}), ("run_finished", {"status": "completed"})], False, None, None),
    ("COMPLETED", [("run_started", {})], False, "failed", "Slurm job 9 ended COMPLETED: the job script ended"),
    ("OUT_OF_MEMORY", [("run_started", {})], False, "failed", "Slurm job 9 ended OUT_OF_MEMORY: a process ran out"),
    ("FAILED", [("run_started", {}), ("error", {"kind": "oom", "message": "m", "hint": "h"}),
                ("run_finished", {"status": "failed"})], False, None, None),
])
def test_what_an_ended_job_writes(tmp_path, state, trainer, stop, written, last):
    run_dir = ended_run(tmp_path, trainer, stop_requested=stop)
    before = len(recorded_events(run_dir))
    assert record_outcome(run_dir, JobState("9", state)) == written
    new = recorded_events(run_dir)[before:]
    assert (new[0]["message"].startswith(last) if last else new == [])
    if state == "OUT_OF_MEMORY":
        assert new[0]["kind"] == "oom"


def test_two_windows_seeing_one_end_write_it_once(tmp_path):
    # Every window that shows a Slurm run asks `slurm-state --record`; whoever claims the job writes its end.
    run_dir = ended_run(tmp_path, [])
    claim = run_dir / "slurm.record-9"
    claim.touch()
    assert record_outcome(run_dir, JobState("9", "CANCELLED")) is None, "another process holds the claim"
    assert recorded_events(run_dir) == [] and "recorded" not in json.loads((run_dir / "slurm.json").read_text())

    # A claim left by a process that died while writing is taken over once it is old.
    old = time.time() - 120
    os.utime(claim, (old, old))
    assert record_outcome(run_dir, JobState("9", "CANCELLED")) == "failed"
    assert [e["type"] for e in recorded_events(run_dir)] == ["error", "run_finished"]

    (tmp_path / "many").mkdir()
    run_dir = ended_run(tmp_path / "many", [])
    barrier = threading.Barrier(8)

    def record() -> str | None:
        barrier.wait()
        return record_outcome(run_dir, JobState("9", "TIMEOUT"))

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: record(), range(8)))
    assert results.count("failed") == 1 and results.count(None) == 7
    assert [e["type"] for e in recorded_events(run_dir)] == ["error", "run_finished"]
