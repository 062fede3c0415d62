"""Slurm as a launcher (`launcher: slurm`): a run's sbatch script, its submission, and its job's state.

`python -m sft_studio submit CONFIG` creates the run folder (on a filesystem the cluster's nodes share), writes
`slurm.sbatch` into it, hands that to `sbatch --parsable` with the run folder as the job's working directory (so
the job's output, trainer.log, lands beside events.jsonl) and records the job in `slurm.json`; status.json says
`queued` until the trainer starts. From then on the run is followed from its folder like a local one. The job runs
one task per node,

    srun --ntasks-per-node=1 bash -c 'exec "$0" -m torch.distributed.run --nnodes="$SLURM_NNODES"
        --node_rank="$SLURM_NODEID" --nproc_per_node=P --rdzv_backend=c10d
        --rdzv_endpoint="$SFT_STUDIO_RDZV_HOST:<master_port>" --rdzv_id="$SLURM_JOB_ID" "$@"' \
        PYTHON -m sft_studio train ...

with the allocation's first host (scontrol show hostnames) as the c10d rendezvous; bash -c so that each task reads
its own node's SLURM_NODEID. P is slurm.gpus_per_node, or nproc_per_node on nodes without GPUs. One node with one
process runs `exec PYTHON -m sft_studio train ...` itself. `submit --resume RUN_DIR` resubmits a run as
`train --resume RUN_DIR`; `slurm-state RUN_DIR` reports the job's state (slurm_jobs.py) and, with --record, writes
how an ended job ended.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..config import RunConfig, config_from_resolved, load_config
from ..errors import ConfigError
from ..run.control import STARTED_ENV
from ..run.events import EventWriter, record_failure, write_json_atomic
from ..run.run_folder import new_run_dir
from .slurm_jobs import JOB_FILE, Runner, query, read_job, record_outcome, run_command

SCRIPT_FILE = "slurm.sbatch"
RDZV_HOST_ENV = "SFT_STUDIO_RDZV_HOST"
# The folder holding the sft_studio package: the job puts it on PYTHONPATH, as the extension does for local runs.
TRAINER_ROOT = str(Path(__file__).resolve().parents[1])
# What a #SBATCH value may hold: sbatch reads these lines itself, without a shell, so nothing can be quoted there.
_DIRECTIVE_VALUE = re.compile(r"^[A-Za-z0-9._,:=/@+-]+$")
TIME_LIMIT = re.compile(r"^((\d+-)?\d+(:\d+){0,2}|UNLIMITED|INFINITE)$")
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


@dataclass(frozen=True)
class SlurmSpec:
    """The `slurm` mapping of a run config, with its defaults."""

    partition: str | None = None
    nodes: int = 1
    gpus_per_node: int = 0
    cpus_per_task: int | None = None
    time: str | None = None
    account: str | None = None
    qos: str | None = None
    extra_sbatch: tuple[str, ...] = ()
    setup: tuple[str, ...] = ()

    @classmethod
    def of(cls, cfg: RunConfig) -> "SlurmSpec":
        data = dict(cfg.slurm or {})
        data["extra_sbatch"] = tuple(data.get("extra_sbatch") or ())
        data["setup"] = tuple(data.get("setup") or ())
        return cls(**data)


def processes_per_node(cfg: RunConfig, spec: SlurmSpec) -> int:
    """One process per GPU; without GPUs, the config's nproc_per_node (CPU processes under gloo)."""
    return spec.gpus_per_node if spec.gpus_per_node > 0 else cfg.nproc_per_node


def _value(name: str, value: Any) -> str:
    text = str(value)
    if not _DIRECTIVE_VALUE.match(text):
        raise ValueError(f"`slurm.{name}` cannot be written into an #SBATCH line: {text!r} "
                         "(use letters, digits and . _ , : = / @ + -)")
    return text


def render_script(cfg: RunConfig, run_dir: Path, worker_args: list[str], python: str = sys.executable,
                  pythonpath: str = TRAINER_ROOT, time_limit: str | None = None) -> str:
    """The sbatch script of a run: #SBATCH lines from `slurm`, the setup lines, then the launch (module docstring).
    Every value that reaches the shell is quoted with shlex; #SBATCH values are limited to safe characters."""
    spec = SlurmSpec.of(cfg)
    procs = processes_per_node(cfg, spec)
    job_name = re.sub(r"[^A-Za-z0-9._-]", "_", cfg.run_name or "sft-studio")
    directives = [f"--job-name={job_name}", f"--nodes={int(spec.nodes)}", "--ntasks-per-node=1"]
    if spec.gpus_per_node:
        directives.append(f"--gpus-per-node={int(spec.gpus_per_node)}")
    if spec.cpus_per_task:
        directives.append(f"--cpus-per-task={int(spec.cpus_per_task)}")
    for name, value in (("partition", spec.partition), ("time", time_limit or spec.time),
                        ("account", spec.account), ("qos", spec.qos)):
        if value:
            directives.append(f"--{name}={_value(name, value)}")
    # Relative to the job's working directory, the run folder: a resubmitted job appends to the same log.
    directives += ["--output=trainer.log", "--open-mode=append"]
    for line in (*spec.extra_sbatch, *spec.setup):
        if "\n" in line or "\r" in line:
            raise ValueError(f"`slurm` lines are one line each, got {line!r}")
    q = shlex.quote
    lines = ["#!/bin/bash", *(f"#SBATCH {d}" for d in directives), *spec.extra_sbatch, "",
             f"# SFT Studio run {run_dir}", "# written by `python -m sft_studio submit`; its events are in events.jsonl.",
             "set -e", *spec.setup,
             f"cd {q(str(run_dir))}",
             f'export PYTHONPATH={q(pythonpath)}"${{PYTHONPATH:+:$PYTHONPATH}}"',
             "export PYTHONUNBUFFERED=1",
             "# Stop requests in control.jsonl count from the job's start on, also those sent while the model loads.",
             f"export {STARTED_ENV}=\"$(date +%s.%N)\""]
    trainer = ["-m", "sft_studio", *worker_args]
    if procs <= 1 and spec.nodes <= 1:
        lines.append("exec " + " ".join(q(a) for a in [python, *trainer]))
    else:
        # The python is $0 and the trainer's arguments "$@" of bash -c, so each is quoted once, here.
        torchrun = ['exec "$0" -m torch.distributed.run --nnodes="$SLURM_NNODES" --node_rank="$SLURM_NODEID"',
                    f"--nproc_per_node={procs} --rdzv_backend=c10d",
                    f'--rdzv_endpoint="${RDZV_HOST_ENV}:{int(cfg.master_port)}" --rdzv_id="$SLURM_JOB_ID" "$@"']
        lines += ["# The rendezvous: the first host of the allocation.",
                  f'export {RDZV_HOST_ENV}="$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)"',
                  "# One task per node, each starting torchrun; bash -c reads SLURM_NODEID on the task's own node.",
                  f"srun --nodes={int(spec.nodes)} --ntasks-per-node=1 --kill-on-bad-exit=1 \\\n"
                  f"  bash -c {q(' '.join(torchrun))} \\\n  " + " ".join(q(a) for a in [python, *trainer])]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------- submit

def cmd_submit(args: argparse.Namespace, run: Runner = run_command) -> int:
    if args.time and not TIME_LIMIT.match(args.time):
        return _fail(None, f"--time {args.time!r} is not a Slurm time", "Write minutes, HH:MM:SS or D-HH:MM:SS.")
    if args.resume:
        if args.config or args.set or args.output_dir:
            return _fail(None, "--resume RUN_DIR takes no config, --set or --output-dir: the run keeps its own config",
                         "Pass only the run folder.")
        run_dir = Path(args.resume).resolve()
        try:
            cfg = config_from_resolved(json.loads((run_dir / "config.resolved.json").read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return _fail(None, f"{run_dir} has no config.resolved.json: its job never started training",
                         "Start a new run from its config instead.")
        worker_args = ["train", "--resume", str(run_dir)]
        config_file = None
    else:
        if not args.config:
            return _fail(None, "submit needs a CONFIG (or --resume RUN_DIR)", "Pass a *.sft.yaml run config.")
        try:
            cfg, loaded = load_config(args.config, args.set)
        except ConfigError as exc:
            exc.report()
            if args.output_dir and not args.dry_run:
                record_failure(Path(args.output_dir), "\n".join(str(i) for i in exc.issues),
                               f"Fix {exc.issues[0]} and start the run again.")
            return EXIT_BAD_INPUT
        run_dir = Path(args.output_dir).resolve() if args.output_dir else new_run_dir(cfg).resolve()
        config_file = str(loaded)
        worker_args = ["train", config_file, "--output-dir", str(run_dir),
                       *(arg for kv in args.set for arg in ("--set", kv))]
    record = run_dir if args.output_dir or args.resume else None
    if cfg.launcher != "slurm":
        return _fail(record, f"the config says `launcher: {cfg.launcher}`, so there is no Slurm job to submit",
                     "Add `launcher: slurm` (and a `slurm` section) to the config, or start it with `train`.")
    try:
        script = render_script(cfg, run_dir, worker_args, time_limit=args.time)
    except ValueError as exc:
        return _fail(record, str(exc), "Fix the `slurm` section of the config.")
    if args.dry_run:
        print(script, end="", flush=True)
        if args.json:
            print(json.dumps({"script": script, "run_dir": str(run_dir)}))
        return EXIT_OK
    if shutil.which("sbatch") is None:
        return _fail(record, "sbatch is not on PATH, so the job cannot be submitted from this machine",
                     "Submit from a machine with the Slurm client tools (a login node), or set `launcher: local`.")
    previous = read_job(run_dir)
    if previous is not None:
        job = query(str(previous["job_id"]), previous.get("clusters_option"), run)
        if job.active:
            return _fail(None, f"Slurm job {job.job_id} of this run is still {job.state}",
                         "Stop the run (or scancel the job) before resubmitting it.")
    return _submit(cfg, run_dir, config_file, script, previous, args, run)


def _submit(cfg: RunConfig, run_dir: Path, config_file: str | None, script: str, previous: dict[str, Any] | None,
            args: argparse.Namespace, run: Runner) -> int:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / SCRIPT_FILE).write_text(script, encoding="utf-8")
    spec = SlurmSpec.of(cfg)
    events = EventWriter(run_dir / "events.jsonl")
    # Written before sbatch: once the job exists its trainer may start at once and must be the only writer.
    first = events.emit("log", level="info", message=f"submitting to Slurm: {spec.nodes} node(s) x "
                                                      f"{processes_per_node(cfg, spec)} process(es)"
                                                      f"{f', partition {spec.partition}' if spec.partition else ''}")
    events.close()
    submitted = time.time()
    status = _read_json(run_dir / "status.json")
    # `train --resume` reads config_path from here, so a resubmission keeps the one the trainer wrote.
    write_json_atomic(run_dir / "status.json", {
        "state": "queued", "heartbeat": submitted, "started": submitted, "step": status.get("step", 0),
        "total_steps": status.get("total_steps", 0), "run_name": cfg.run_name,
        "config_path": status.get("config_path") or config_file})
    out = run(["sbatch", "--parsable", f"--chdir={run_dir}", str(run_dir / SCRIPT_FILE)])
    answer = out.stdout.strip().splitlines()[-1].strip() if out.stdout.strip() else ""
    job_id, _, cluster = answer.partition(";")
    if out.returncode != 0 or not job_id.isdigit():
        said = (out.stderr or out.stdout).strip().replace("\n", " ")
        return _fail(run_dir, f"sbatch refused the job: {said or f'exit code {out.returncode}'}",
                     f"Fix the `slurm` section of the config (the script is {run_dir / SCRIPT_FILE}), then start it "
                     "again.")
    # sbatch names the cluster only when the job went to another one (--clusters); only then do squeue, sacct and
    # scancel need --clusters (which needs slurmdbd), so the name of the local cluster is kept apart, for people.
    info = {"job_id": job_id, "cluster": cluster or _cluster_name(run), "clusters_option": cluster or None,
            "submitted": submitted,
            "script": SCRIPT_FILE, "events_before": first["seq"], "python": sys.executable,
            "pythonpath": TRAINER_ROOT, "slurm": {**asdict(spec), "time": args.time or spec.time},
            "previous": [*(previous or {}).get("previous", []),
                         *([{k: previous.get(k) for k in ("job_id", "submitted", "state")}] if previous else [])]}
    write_json_atomic(run_dir / JOB_FILE, info)
    where = f" on cluster {info['cluster']}" if info["cluster"] else ""
    print(f"submitted Slurm job {job_id}{where}: {run_dir}", flush=True)
    if args.json:
        print(json.dumps({"job_id": job_id, "cluster": info["cluster"], "run_dir": str(run_dir),
                          "script": str(run_dir / SCRIPT_FILE)}))
    return EXIT_OK


def _cluster_name(run: Runner) -> str | None:
    out = run(["scontrol", "show", "config"])
    match = re.search(r"^ClusterName\s*=\s*(\S+)", out.stdout or "", re.MULTILINE) if out.returncode == 0 else None
    return match.group(1) if match else None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _fail(run_dir: Path | None, message: str, hint: str) -> int:
    """One message that says what to do; in a run folder someone follows, also its error event and failed state."""
    print(f"error (config): {message}\nhint: {hint}", file=sys.stderr, flush=True)
    if run_dir is not None:
        record_failure(run_dir, message, hint)
    return EXIT_BAD_INPUT


# ---------------------------------------------------------------------------------------------- state

def cmd_slurm_state(args: argparse.Namespace, run: Runner = run_command) -> int:
    run_dir = Path(args.run_dir).resolve()
    info = read_job(run_dir)
    if info is None:
        print(f"{run_dir} has no {JOB_FILE}: it was not submitted to Slurm", file=sys.stderr)
        if args.json:
            print(json.dumps({"error": f"{run_dir} was not submitted to Slurm"}))
        return EXIT_BAD_INPUT
    job = query(str(info["job_id"]), info.get("clusters_option"), run)
    recorded = record_outcome(run_dir, job) if args.record else None
    reason = f" ({job.reason})" if job.reason else ""
    print(f"Slurm job {job.job_id}: {job.state}{reason}", flush=True)
    if args.json:
        print(json.dumps({**job.to_json(), "recorded": recorded}))
    return EXIT_OK


def add_slurm_commands(sub: Any) -> None:
    submit = sub.add_parser("submit", help="submit a `launcher: slurm` run as an sbatch job (slurm.sbatch, "
                                           "slurm.json and a queued status in the run folder)")
    submit.add_argument("config", nargs="?", help="path to a *.sft.yaml or *.sft.json run config")
    submit.add_argument("--resume", metavar="RUN_DIR", help="resubmit RUN_DIR as `train --resume RUN_DIR`")
    submit.add_argument("--output-dir", help="use exactly this folder (on the cluster's shared filesystem) as the run")
    submit.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config field (YAML scalar); may repeat, the later value wins")
    submit.add_argument("--time", help="time limit of this job instead of slurm.time (e.g. for a resume)")
    submit.add_argument("--dry-run", action="store_true", help="print the sbatch script; submit nothing")
    submit.add_argument("--json", action="store_true", help="end stdout with one JSON object")
    submit.set_defaults(func=cmd_submit)
    state = sub.add_parser("slurm-state", help="the Slurm state of a submitted run's job (squeue, sacct, scontrol)")
    state.add_argument("run_dir", help="the run folder (it holds slurm.json)")
    state.add_argument("--record", action="store_true",
                       help="once the job has ended, write how into the run folder (error and run_finished events) "
                            "where the trainer could not")
    state.add_argument("--json", action="store_true", help="end stdout with one JSON object")
    state.set_defaults(func=cmd_slurm_state)
