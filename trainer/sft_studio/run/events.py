"""The run directory's live files: events.jsonl (append-only) and status.json (heartbeat).

Logging must never block or crash training: write failures are reported once on stderr and then
ignored, so a full disk or a removed folder cannot kill a run that is otherwise healthy.
"""

from __future__ import annotations

import json
import math
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from . import faults
from .identity import identity

ENVELOPE_VERSION = 1
HEARTBEAT_SECONDS = 2.0


def _clean(value: Any) -> Any:
    # JSON has no NaN/Inf; the extension parses with JSON.parse, so write them as null.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _end_torn_line(path: Path) -> None:
    """A process killed in the middle of a write leaves a last line without its newline. End that line before
    appending, or the next event (a resumed run's run_started) would be glued to it and lost with it; the torn
    line itself stays, and every reader skips it as a line that is not an event."""
    try:
        with open(path, "rb+") as fh:
            if fh.seek(0, os.SEEK_END) == 0:
                return
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                fh.write(b"\n")
    except OSError:
        return  # no file yet, or none that can be written: the writer reports that itself


def record_failure(run_dir: Path, message: str, hint: str) -> None:
    """A config problem found before training: one `error` event (kind config) and a failed run."""
    # The extension already follows this folder; leave it an explanation instead of silence.
    run_dir.mkdir(parents=True, exist_ok=True)
    events = EventWriter(run_dir / "events.jsonl")
    events.emit("error", kind="config", message=message, hint=hint)
    events.emit("run_finished", status="failed")
    events.close()

    write_json_atomic(run_dir / "status.json", {"pid": os.getpid(), "state": "failed", "heartbeat": time.time(),
                                                "started": time.time(), "step": 0, "total_steps": 0})


class EventWriter:
    """Appends one JSON object per line to events.jsonl, flushed per line, with a continuing `seq`."""

    def __init__(self, path: Path, enabled: bool = True):
        self.path = path
        self.enabled = enabled
        if enabled:
            _end_torn_line(path)
        self.seq = self._next_seq(path) if enabled else 0
        self._fh = open(path, "a", encoding="utf-8") if enabled else None
        self._failed = False
        self._line_open = False  # a write failed halfway, so the file may end inside a line
        self._lock = threading.Lock()

    @staticmethod
    def _next_seq(path: Path) -> int:
        # A resumed run appends to the same file: continue after the last complete line.
        if not path.exists():
            return 0
        last = -1
        # A torn line may end inside a multi-byte character; it is skipped like any line that is not an event.
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                try:
                    last = int(json.loads(line)["seq"])
                except (ValueError, KeyError, TypeError):
                    continue
        return last + 1

    def emit(self, type_: str, step: int | None = None, **fields: Any) -> dict[str, Any]:
        event: dict[str, Any] = {"v": ENVELOPE_VERSION, "seq": self.seq, "time": time.time(), "type": type_}
        if step is not None:
            event["step"] = int(step)
        event.update(_clean(fields))
        if not self.enabled or self._fh is None:
            return event
        with self._lock:
            event["seq"] = self.seq
            # After a failed write (full disk) part of a line may be on disk: start on a line of its own.
            line = ("\n" if self._line_open else "") + json.dumps(event, separators=(",", ":")) + "\n"
            faults.point("event", self.seq, before=lambda: self._write_now(line[: len(line) // 2]))
            try:
                self._write_now(line)
                self.seq += 1
                self._line_open = False
            except OSError as exc:
                self._line_open = True
                if not self._failed:
                    print(f"sft-studio: cannot write events ({exc}); training continues", file=sys.stderr)
                    self._failed = True
        return event

    def _write_now(self, text: str) -> None:
        assert self._fh is not None
        self._fh.write(text)
        self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class StatusFile:
    """status.json: who the trainer is, its state and step, and two clocks.

    `heartbeat` says the process lives: a daemon thread rewrites the file every few seconds. `progress` says the
    training loop moves: only the main loop sets it (beat() after each optimizer step, and from inside long
    phases: each forward pass of an evaluation or a generation, the start of a checkpoint save). A thread goes on
    beating while the loop it belongs to hangs, so only `progress` tells a hung run from a busy one; the
    extension shows a running run whose progress is older than `sftStudio.stallMinutes` as stalled.
    `process` (and under torchrun `launcher`) identify the processes to signal, see identity.py.
    """

    def __init__(self, path: Path, enabled: bool = True, interval: float = HEARTBEAT_SECONDS,
                 launcher: dict[str, Any] | None = None, **static: Any):
        self.path = path
        self.enabled = enabled
        now = time.time()
        self.data: dict[str, Any] = {"pid": os.getpid(), "state": "starting", "heartbeat": now, "progress": now,
                                     "started": now, "step": 0, "total_steps": 0, **static}
        self._lock = threading.Lock()
        # The thread and the main loop both write; they share one temp file name, so one writes at a time.
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if enabled:
            self.data["process"] = identity()
            if launcher is not None:
                self.data["launcher"] = launcher
            self._write()
            self._thread = threading.Thread(target=self._beat, args=(interval,), name="sft-heartbeat", daemon=True)
            self._thread.start()

    def beat(self, **fields: Any) -> None:
        """The main loop made progress; the heartbeat thread writes it out (no file write here, so beating
        from every forward pass costs nothing measurable)."""
        with self._lock:
            self.data.update(fields)
            self.data["progress"] = time.time()

    def update(self, **fields: Any) -> None:
        """Change fields and write them now (state changes must not wait for the next heartbeat)."""
        self.beat(**fields)
        self._write()

    def _write(self) -> None:
        if not self.enabled:
            return
        with self._write_lock:
            with self._lock:
                self.data["heartbeat"] = time.time()
                snapshot = dict(self.data)
            try:
                write_json_atomic(self.path, snapshot)
            except OSError:
                pass

    def _beat(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self._write()

    def close(self, state: str) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.update(state=state)
