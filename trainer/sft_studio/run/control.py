"""Requests from the UI (control.jsonl) and from signals, polled between optimizer steps."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

# Unix time `train` started, set by the process the extension spawned and inherited by its torchrun ranks.
STARTED_ENV = "SFT_STUDIO_STARTED"


def mark_start() -> None:
    """Requests written from now on are for this run, also those written before the training loop first reads the
    file (a Stop while the model loads); earlier ones (a previous run's Stop before a Resume) are not."""
    if "TORCHELASTIC_RUN_ID" not in os.environ:  # a torchrun rank keeps its launcher's start
        os.environ[STARTED_ENV] = repr(time.time())


class Control:
    def __init__(self, path: Path):
        self.path = path
        self.since = _started()
        # Without a start time (the recipe run on its own) only lines appended after this point count.
        self.offset = 0 if self.since is not None else (path.stat().st_size if path.exists() else 0)
        self.stop_requested = False
        self.save_requested = False
        self.generate_requested = False
        self._signals = 0

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)

    def _on_signal(self, signum: int, frame: object) -> None:
        self._signals += 1
        if self._signals > 1:
            # A second signal means "now": give up on the graceful save.
            raise KeyboardInterrupt
        self.stop_requested = True

    def poll(self) -> None:
        if not self.path.exists():
            return
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            data = fh.read()
        end = data.rfind(b"\n")
        if end < 0:
            return  # only a partial line so far: read it once it is complete
        self.offset += end + 1
        for line in data[:end].decode("utf-8", errors="replace").splitlines():
            try:
                request = json.loads(line)
                kind, when = request.get("type"), request.get("time")
            except (ValueError, AttributeError):
                continue
            if self.since is not None and not (isinstance(when, (int, float)) and when >= self.since):
                continue
            if kind == "stop":
                self.stop_requested = True
            elif kind == "save":
                self.save_requested = True
            elif kind == "generate":
                self.generate_requested = True


def _started() -> float | None:
    try:
        return float(os.environ[STARTED_ENV])
    except (KeyError, ValueError):
        return None
