"""Stand-ins for sbatch, squeue, sacct, scontrol, srun and a Python, written as small shell scripts on PATH: the
submission and the script are tested without a cluster (the real one is test_real_slurm.py)."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def tool(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text("#!/bin/bash\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def fake_cluster(folder: Path, sbatch_answer: str = "77", sbatch_code: int = 0, queue_state: str = "") -> dict[str, str]:
    """PATH with fakes that log their argv to folder/calls.log; returns the environment to run with."""
    bin_dir = folder / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    log = folder / "calls.log"
    record = f'echo "$(basename "$0") $*" >> {log}\n'
    tool(bin_dir, "sbatch", record + (f"echo {sbatch_answer}\n" if sbatch_code == 0 else
                                      f"echo 'sbatch: error: invalid partition specified: gpux' >&2\nexit {sbatch_code}\n"))
    tool(bin_dir, "squeue", record + (f"echo '{queue_state}|None'\n" if queue_state else ""))
    tool(bin_dir, "sacct", record + "echo 'Slurm accounting storage is disabled' >&2\nexit 1\n")
    tool(bin_dir, "scontrol", record + 'if [ "$1" = show ] && [ "$2" = config ]; then echo "ClusterName = testers"; '
                                       'elif [ "$1" = show ]; then echo node-a; echo node-b; fi\n')
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
