"""What Slurm says about a run's job, and what the run folder keeps of how it ended.

squeue knows a job while the controller does (pending, running, and for MinJobAge after it ended); sacct knows it
from the accounting database long after. Where accounting is off (sacct: "accounting storage is disabled")
`scontrol show job` stands in for sacct until the controller forgets the job.

A job can end without its trainer saying so: cancelled while pending, killed at its time limit, lost with a node.
`record_outcome` then writes what the trainer could not, an `error` event naming the Slurm state and a
`run_finished`, so the Runs view shows why and offers Resume, in every window and after a reload. Every window
that sees a Slurm run asks, so two may see one end at the same moment: the one that creates the job's claim file
(`slurm.record-<job>`, O_EXCL) writes it, the other writes nothing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..run.events import EventWriter, write_json_atomic

JOB_FILE = "slurm.json"
# A claim older than this whose job is still not recorded was left by a process that died while writing.
CLAIM_STALE_SECONDS = 60.0

# Job states (squeue's long names) in which the job may still run or start.
ACTIVE = frozenset({"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "REQUEUE_HOLD",
                    "REQUEUE_FED", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED", "RESV_DEL_HOLD", "SPECIAL_EXIT"})
ENDED = frozenset({"COMPLETED", "CANCELLED", "FAILED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED",
                   "BOOT_FAIL", "DEADLINE", "REVOKED"})

Runner = Callable[[list[str]], subprocess.CompletedProcess]


def run_command(argv: list[str]) -> subprocess.CompletedProcess:
    """argv, never a shell; a missing tool reads as a failed command, so the next source is asked."""
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return subprocess.CompletedProcess(argv, 127, "", str(exc))


@dataclass
class JobState:
    job_id: str
    state: str
    """squeue's long state name (PENDING, RUNNING, COMPLETED, CANCELLED, TIMEOUT, ...), or UNKNOWN."""
    reason: str | None = None
    """Why it waits or ended as Slurm words it (Resources, Priority, TimeLimit, ...); None when it gives none."""
    exit_code: str | None = None
    """`code:signal` of the batch script, once ended (sacct, scontrol)."""
    source: str = "none"
    """Which tool answered: squeue, sacct, scontrol, or none."""

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    @property
    def ended(self) -> bool:
        return self.state in ENDED

    def to_json(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "state": self.state, "active": self.active, "ended": self.ended,
                "reason": self.reason, "exit_code": self.exit_code, "source": self.source}


def _state_word(raw: str) -> str:
    # sacct writes "CANCELLED by 1000"; squeue's %T and scontrol's JobState are one word already.
    return raw.strip().split(" ")[0].rstrip("+").upper() if raw.strip() else "UNKNOWN"


def _reason(raw: str | None) -> str | None:
    return raw.strip() if raw and raw.strip() not in ("None", "(null)", "") else None


def query(job_id: str, cluster: str | None = None, run: Runner = run_command) -> JobState:
    """The job's state from squeue, then (once it left the queue) sacct, else scontrol."""
    clusters = [f"--clusters={cluster}"] if cluster else []
    queued = None
    out = run(["squeue", *clusters, "--noheader", "--states=all", f"--jobs={job_id}", "--format=%T|%r"])
    if out.returncode == 0:
        for line in out.stdout.splitlines():
            if "|" in line:  # with --clusters squeue also prints a "CLUSTER: name" line
                state, reason = line.split("|", 1)
                queued = JobState(job_id, _state_word(state), _reason(reason), None, "squeue")
                break
    if queued is not None and queued.active:
        return queued
    out = run(["sacct", *clusters, "--noheader", "--parsable2", "--allocations", f"--jobs={job_id}",
               "--format=State,ExitCode"])
    if out.returncode == 0:
        for line in out.stdout.splitlines():
            if "|" in line:
                state, code = line.split("|", 1)
                return JobState(job_id, _state_word(state), queued.reason if queued else None, code.strip() or None,
                                "sacct")
    out = run(["scontrol", *clusters, "--oneliner", "show", "job", job_id])
    if out.returncode == 0:
        fields = dict(re.findall(r"\b(JobState|Reason|ExitCode)=(\S+)", out.stdout))
        if "JobState" in fields:
            return JobState(job_id, _state_word(fields["JobState"]), _reason(fields.get("Reason")),
                            fields.get("ExitCode"), "scontrol")
    return queued or JobState(job_id, "UNKNOWN")


def read_job(run_dir: Path) -> dict[str, Any] | None:
    """slurm.json of a run submitted to Slurm; None for any other run folder."""
    try:
        data = json.loads((run_dir / JOB_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("job_id") else None


# (why, what to do) per ended state; the message names the state as Slurm does, so it can be looked up.
_WHY = {
    "CANCELLED": ("it was cancelled (scancel, by a user or an administrator)",
                  "Resume Run resubmits it from its last checkpoint; Rerun starts it again."),
    "TIMEOUT": ("it reached its time limit{limit}",
                "Resubmit with a longer limit: `python -m sft_studio submit --resume RUN_DIR --time D-HH:MM:SS` "
                "continues from the last checkpoint (Resume Run keeps the limit)."),
    "OUT_OF_MEMORY": ("a process ran out of the host memory Slurm granted it",
                      "Ask for more (`extra_sbatch: ['#SBATCH --mem=...']`) or lower per_device_train_batch_size, "
                      "then Resume Run."),
    "NODE_FAIL": ("a node of its allocation failed", "Resume Run resubmits it from its last checkpoint."),
    "BOOT_FAIL": ("a node failed to boot", "Resume Run resubmits it from its last checkpoint."),
    "PREEMPTED": ("it was preempted by a job of higher priority", "Resume Run resubmits it from its last checkpoint."),
    "DEADLINE": ("it could not finish before its deadline", "Resubmit it without the deadline, or with a later one."),
    "FAILED": ("the job script exited with {code} before the trainer finished (the job's output is trainer.log)",
               "Read trainer.log for the cause (a `slurm.setup` line, the Python on the nodes), fix it, then Rerun."),
    "COMPLETED": ("the job script ended but the trainer did not finish (the job's output is trainer.log)",
                  "Read trainer.log for the cause, fix it, then Resume Run or Rerun."),
}


def record_outcome(run_dir: Path, job: JobState) -> str | None:
    """Once the job has ended, make the run folder say how, unless the trainer already did. Returns the run state
    written (failed or stopped), or None when nothing needed writing. Idempotent per job."""
    info = read_job(run_dir)
    if info is None or not job.ended or str(info.get("job_id")) != job.job_id or info.get("recorded") == job.job_id:
        return None
    if not _claim(run_dir, job.job_id):
        return None
    info = read_job(run_dir) or info
    if info.get("recorded") == job.job_id:
        return None  # recorded between the first read and the claim
    since = _events_since(run_dir, int(info.get("events_before", 0)))
    finished = [e.get("status") for e in since if e.get("type") == "run_finished"]
    started = any(e.get("type") == "run_started" for e in since)
    verdict = _verdict(job.state, finished[-1] if finished else None,
                       _stop_requested_since(run_dir, float(info.get("submitted", 0))))
    if verdict is not None:
        _write_end(run_dir, info, job, verdict, started)
    write_json_atomic(run_dir / JOB_FILE, {**info, "state": job.state, "exit_code": job.exit_code,
                                           "recorded": job.job_id, "ended": time.time()})
    return verdict


def _claim(run_dir: Path, job_id: str) -> bool:
    """Whether this process may write the job's end: it created the claim, or took over a stale one."""
    path = run_dir / f"slurm.record-{job_id}"
    for _ in range(2):
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            return True
        except FileExistsError:
            try:
                if time.time() - path.stat().st_mtime < CLAIM_STALE_SECONDS:
                    return False
                path.unlink()
            except OSError:
                return False
        except OSError:
            return False
    return False


def _verdict(state: str, last: str | None, stop_asked: bool) -> str | None:
    """The run state to write for a job that ended in `state`, or None where the trainer's own ending stands."""
    if last in ("completed", "failed"):
        return None  # the trainer said how it ended, and it knows better (an OOM, a data error, a finished run)
    if state == "COMPLETED":
        return None if last == "stopped" else "failed"
    if stop_asked:
        return None if last == "stopped" else "stopped"  # the user's Stop, ended by scancel after the grace period
    return "failed"  # Slurm ended it: a trainer that saved on SIGTERM said "stopped", but nobody asked it to


def _write_end(run_dir: Path, info: dict[str, Any], job: JobState, state: str, started: bool) -> None:
    events = EventWriter(run_dir / "events.jsonl")
    try:
        if state == "stopped":
            kept = "the last complete checkpoint is kept" if started else "it had not started"
            events.emit("log", level="warning", message=f"Slurm job {job.job_id} ended {job.state} after the stop "
                                                         f"request; {kept}")
            events.emit("run_finished", status="stopped", reason="stop_requested")
        else:
            why, hint = _WHY.get(job.state, ("Slurm ended it", "Resume Run resubmits it from its last checkpoint."))
            limit = (info.get("slurm") or {}).get("time")
            why = why.format(limit=f" ({limit}, slurm.time)" if limit else "", code=job.exit_code or "an error")
            when = "" if started else " before the trainer started"
            events.emit("error", kind="oom" if job.state == "OUT_OF_MEMORY" else "crash",
                        message=f"Slurm job {job.job_id} ended {job.state}{when}: {why}", hint=hint)
            events.emit("run_finished", status="failed", reason="error")
    finally:
        events.close()
    try:
        status = json.loads((run_dir / "status.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        status = {}
    write_json_atomic(run_dir / "status.json", {**status, "state": state, "heartbeat": time.time()})


def _events_since(run_dir: Path, first_seq: int) -> list[dict[str, Any]]:
    events = []
    try:
        with open(run_dir / "events.jsonl", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue  # a torn last line
                if isinstance(event, dict) and isinstance(event.get("seq"), int) and event["seq"] >= first_seq:
                    events.append(event)
    except OSError:
        pass
    return events


def _stop_requested_since(run_dir: Path, since: float) -> bool:
    try:
        lines = (run_dir / "control.jsonl").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return False
    for line in lines:
        try:
            request = json.loads(line)
        except ValueError:
            continue
        if isinstance(request, dict) and request.get("type") == "stop" \
                and isinstance(request.get("time"), (int, float)) and request["time"] >= since:
            return True
    return False
