"""RUN_DIR/trainer.lock: one trainer per run folder.

Two trainers writing one folder (a second Resume, the same --output-dir twice) would interleave their events and
overwrite each other's checkpoints, so the process that writes a run folder holds its lock:
`{"pid", "host", "start", "launcher", "time"}` (identity.py). A lock whose holder is gone (its pid free or reused
by another process) is stale and taken over; one held by a process on another machine counts as held while the
run's status.json heartbeat is fresh.

Under torchrun the launcher takes the lock before it replaces itself with torchrun (same pid, same start time) and
rank 0, the rank that writes, adopts it from its launcher.
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import RunFolderLocked
from .identity import Identity, identity, is_running, same_process

LOCK = "trainer.lock"
# A holder on another machine cannot be checked here; its run's heartbeat (every few seconds) stands in for it.
REMOTE_STALE_SECONDS = 60.0
# A lock file is created empty and then filled; an empty one older than this was left by a process killed between.
UNWRITTEN_STALE_SECONDS = 10.0


def acquire(run_dir: Path, launcher: Identity | None = None) -> None:
    """Take the lock for this process; reentrant, adopts a lock its launcher took, takes over a stale one."""
    path = run_dir / LOCK
    me = identity()
    record = {**me, "launcher": launcher, "time": time.time()}
    for _ in range(5):
        if _create(path, record):
            return
        held = _read(path)
        if held is not None:
            # My own pid here is this process or a dead one whose number it got: either way the lock is mine now.
            if _mine(held, me) or (launcher is not None and same_process(held, launcher)):
                _write(path, record)
                return
            if not _stale(held, run_dir):
                raise RunFolderLocked(_describe(run_dir, held))
        elif not _unwritten_for_long(path):
            time.sleep(0.2)  # its holder is still writing it
            continue
        _take_over(path, held)
    raise RunFolderLocked(f"{run_dir} is being claimed by another trainer at this moment; start this one again "
                          f"once that one is running, or remove {path} if no trainer uses the folder")


def release(run_dir: Path) -> None:
    """Remove the lock if this process holds it (a lock taken over by another trainer stays theirs)."""
    path = run_dir / LOCK
    held, me = _read(path), identity()
    if held is not None and _mine(held, me) and held.get("start") in (None, me["start"]):
        try:
            path.unlink()
        except OSError:
            pass


def _mine(held: dict[str, Any], me: Identity) -> bool:
    return held.get("pid") == me["pid"] and held.get("host") == me["host"]


def _create(path: Path, record: dict[str, Any]) -> bool:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(record, fh)
        fh.flush()
        os.fsync(fh.fileno())
    return True


def _write(path: Path, record: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record), encoding="utf-8")
    os.replace(tmp, path)


def _read(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _unwritten_for_long(path: Path) -> bool:
    try:
        return time.time() - path.stat().st_mtime > UNWRITTEN_STALE_SECONDS
    except OSError:
        return True  # gone already: try to create it again


def _stale(held: dict[str, Any], run_dir: Path) -> bool:
    running = is_running(held)
    if running is not None:
        return not running
    if held.get("host") in (None, identity()["host"]):
        return False  # this machine, but no start time to prove the pid is another process: assume it is the holder
    try:
        heartbeat = float(json.loads((run_dir / "status.json").read_text(encoding="utf-8"))["heartbeat"])
    except (OSError, ValueError, KeyError, TypeError):
        return True
    return time.time() - heartbeat > REMOTE_STALE_SECONDS


def _take_over(path: Path, seen: dict[str, Any] | None) -> None:
    """Move the stale lock aside and delete it. Renaming is atomic, so of two trainers taking over at once only one
    moves the stale file; if what was moved is not the lock judged stale (another trainer has just taken it), it is
    put back."""
    aside = path.with_name(f".{path.name}.{os.getpid()}.stale")
    try:
        os.replace(path, aside)
    except FileNotFoundError:
        return
    moved = _read(aside)
    if moved != seen:
        try:
            os.link(aside, path)
        except OSError:
            pass
    aside.unlink(missing_ok=True)


def _describe(run_dir: Path, held: dict[str, Any]) -> str:
    since = held.get("time")
    when = f", since {datetime.fromtimestamp(since, timezone.utc):%Y-%m-%d %H:%M:%S} UTC" \
        if isinstance(since, (int, float)) else ""
    return (f"{run_dir} is in use by another trainer (pid {held.get('pid')} on {held.get('host')}{when}); two trainers "
            f"writing one run folder would mix their events and checkpoints. Stop that run first or wait for it to "
            f"finish; if no trainer uses the folder any more, remove {run_dir / LOCK}")
