"""Data parallel training under torchrun: process group, gradient and metric reduction, and the launcher.

`python -m sft_studio train` stays the one command the extension spawns: when the config asks for more
than one process it replaces itself (exec, argv array) with

    python -m torch.distributed.run <torchrun_args> -m sft_studio train CONFIG --output-dir RUN_DIR [--set K=V ...]

where <torchrun_args> is, on one machine,  --standalone --nproc_per_node=N
and across machines (hostfile with one `host slots=N` line each, the same command on every machine)
    --nnodes=<hosts> --nproc_per_node=<slots> --rdzv_backend=c10d --rdzv_endpoint=<first host>:<master_port>
    --rdzv_id=<run_name>

Gradients are summed with an explicit all-reduce after the step's backward passes instead of DDP hooks:
the loss is already divided by the target tokens of the whole global step, so the sum is the exact
gradient, and a rank whose shard of a last, short batch is empty simply contributes zeros.
With `fsdp` the model is sharded instead (model/fsdp.py): FSDP2's reduce-scatter, set to sum, takes the place
of this all-reduce.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist

from ..config import RunConfig
from ..errors import ConfigError, ConfigIssue
from ..run.identity import Identity, identity

BUCKET_ELEMENTS = 32 * 1024 * 1024


@dataclass
class World:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    def sum(self, values: list[float], device: torch.device) -> list[float]:
        """Element-wise sum over ranks of a few scalars (one collective for all of them)."""
        if not self.active:
            return values
        tensor = torch.tensor(values, dtype=torch.float64, device=device)
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor.tolist()

    def any(self, flags: list[bool], device: torch.device) -> list[bool]:
        """Per flag: did any rank raise it? (A signal may reach only some ranks; all must act together.)"""
        if not self.active:
            return flags
        tensor = torch.tensor([int(f) for f in flags], dtype=torch.int32, device=device)
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
        return [bool(v) for v in tensor.tolist()]

    def sum_gradients(self, params: list[torch.nn.Parameter]) -> None:
        """Sum gradients over ranks in flat buckets; a parameter without a gradient here counts as zeros."""
        if not self.active:
            return
        for p in params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        bucket: list[torch.Tensor] = []
        size = 0
        for p in params:
            bucket.append(p.grad)
            size += p.grad.numel()
            if size >= BUCKET_ELEMENTS:
                _all_reduce_flat(bucket)
                bucket, size = [], 0
        if bucket:
            _all_reduce_flat(bucket)

    def broadcast_parameters(self, model: torch.nn.Module) -> None:
        """Start every rank from rank 0's weights, whatever each process's initialisation did."""
        if not self.active:
            return
        for tensor in list(model.parameters()) + list(model.buffers()):
            dist.broadcast(tensor.data, src=0)

    def close(self, barrier: bool = False) -> None:
        if self.active and dist.is_initialized():
            if barrier:
                dist.barrier()
            dist.destroy_process_group()


def _all_reduce_flat(grads: list[torch.Tensor]) -> None:
    by_dtype: dict[torch.dtype, list[torch.Tensor]] = {}
    for g in grads:
        by_dtype.setdefault(g.dtype, []).append(g)
    for group in by_dtype.values():
        flat = torch.cat([g.reshape(-1) for g in group])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        offset = 0
        for g in group:
            g.copy_(flat[offset:offset + g.numel()].view_as(g))
            offset += g.numel()


def under_torchrun() -> bool:
    return "TORCHELASTIC_RUN_ID" in os.environ or ("RANK" in os.environ and "WORLD_SIZE" in os.environ)


def launcher_identity() -> Identity | None:
    """Under torchrun, the launcher that started this rank: its parent, the process the extension spawned (which
    replaced itself with torchrun). torchrun starts each rank in a session of its own, so a signal to rank 0 or to
    its process group reaches no other rank: stopping all of them goes through the launcher, which forwards
    SIGINT and SIGTERM to every rank. None outside torchrun."""
    if not under_torchrun():
        return None
    parent = os.getppid()
    return identity(parent) if parent > 1 else None


def exit_with_launcher(launcher_pid: int, poll_seconds: float = 1.0) -> threading.Thread:
    """End this rank when its launcher is gone. A launcher killed with SIGKILL forwards nothing, and a rank left
    behind would wait in its next collective forever, in a session no group kill reaches."""
    def watch() -> None:
        while os.getppid() == launcher_pid:
            time.sleep(poll_seconds)
        print(f"sft-studio: the launcher (pid {launcher_pid}) is gone; rank {os.environ.get('RANK', '?')} exits",
              file=sys.stderr, flush=True)
        os._exit(1)

    thread = threading.Thread(target=watch, name="sft-launcher-watch", daemon=True)
    thread.start()
    return thread


def init_world(device: torch.device) -> World:
    """Join the process group torchrun set up (NCCL on GPU, gloo on CPU); a plain process is a world of one."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1 or not under_torchrun():
        return World()
    if os.getppid() > 1:
        exit_with_launcher(os.getppid())
    world = World(int(os.environ["RANK"]), world_size, int(os.environ.get("LOCAL_RANK", "0")))
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return world


# ---------------------------------------------------------------------------------------------- launcher

def parse_hostfile(path: str) -> list[tuple[str, int]]:
    """Deepspeed-style hostfile: `host slots=N` per line; blank lines and `#` comments are skipped."""
    hosts: list[tuple[str, int]] = []
    issues: list[ConfigIssue] = []
    with open(path, encoding="utf-8") as fh:
        for number, raw in enumerate(fh, start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            column = raw.index(parts[0]) + 1
            slots = parts[1][len("slots="):] if len(parts) == 2 and parts[1].startswith("slots=") else ""
            if not slots.isdigit() or int(slots) < 1:
                issues.append(ConfigIssue(path, number, column, f"expected `host slots=N` (N >= 1), got {line!r}; "
                                                               "write e.g. `worker-1 slots=8`"))
                continue
            hosts.append((parts[0], int(slots)))
    if not hosts and not issues:
        issues.append(ConfigIssue(path, 1, 1, "the hostfile lists no hosts; add one `host slots=N` line per machine"))
    slot_counts = {slots for _, slots in hosts}
    if len(slot_counts) > 1:
        issues.append(ConfigIssue(path, 1, 1, f"every host must have the same slots (torchrun starts the same number "
                                              f"of processes on each machine), got {sorted(slot_counts)}"))
    if issues:
        raise ConfigError(issues)
    return hosts


def torchrun_args(nproc_per_node: int, hosts: list[tuple[str, int]] | None, master_port: int, run_id: str) -> list[str]:
    """torchrun's arguments for one machine (standalone) or for the machines of a hostfile."""
    if not hosts:
        return ["--standalone", f"--nproc_per_node={nproc_per_node}"]
    return [f"--nnodes={len(hosts)}", f"--nproc_per_node={hosts[0][1]}", "--rdzv_backend=c10d",
            f"--rdzv_endpoint={hosts[0][0]}:{master_port}", f"--rdzv_id={run_id}"]


def needs_launcher(cfg: RunConfig) -> bool:
    # nnodes > 1 without a hostfile is a config error, so the hostfile stands for every multi-machine run.
    return (cfg.nproc_per_node > 1 or cfg.hostfile is not None) and not under_torchrun()


def launcher_argv(cfg: RunConfig, worker_args: list[str]) -> list[str]:
    hosts = parse_hostfile(cfg.hostfile) if cfg.hostfile else None
    run_id = cfg.run_name or "sft-studio"
    return [sys.executable, "-m", "torch.distributed.run",
            *torchrun_args(cfg.nproc_per_node, hosts, cfg.master_port, run_id), "-m", "sft_studio", *worker_args]


def relaunch_if_needed(cfg: RunConfig, worker_args: list[str], run_dir: Path) -> int | None:
    """Replace this process with torchrun when the config asks for several processes (same pid, so the
    extension keeps following one process); None when this process should train itself."""
    if not needs_launcher(cfg):
        return None
    try:
        argv = launcher_argv(cfg, worker_args)
    except ConfigError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        return 2
    print(f"run directory: {run_dir}\nlaunching: {' '.join(argv)}", flush=True)
    os.execv(argv[0], argv)
    return None  # not reached: execv does not return
