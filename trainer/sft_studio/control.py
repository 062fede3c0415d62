"""Requests from the UI (control.jsonl) and from signals, polled between optimizer steps."""

from __future__ import annotations

import json
import signal
from pathlib import Path


class Control:
    def __init__(self, path: Path):
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0
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
                kind = json.loads(line).get("type")
            except (ValueError, AttributeError):
                continue
            if kind == "stop":
                self.stop_requested = True
            elif kind == "save":
                self.save_requested = True
            elif kind == "generate":
                self.generate_requested = True
