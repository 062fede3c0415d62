"""Crash points for the fault-injection tests (trainer/tests/test_fault_injection.py).

`SFT_STUDIO_FAULT=<point>@<n>` makes the process SIGKILL itself when it reaches `<point>` for step (or event
seq) `<n>`: the checkpoint writer and the event writer call `point` where a crash would leave a half-written
file behind. Without the variable `point` is one dictionary lookup; nothing else in the trainer reads it.
"""

from __future__ import annotations

import os
import signal
from typing import Callable

ENV = "SFT_STUDIO_FAULT"


def point(name: str, n: int, before: Callable[[], None] | None = None) -> None:
    """Die here, as abruptly as a power cut or the OOM killer, when the variable names this point;
    `before` runs first (e.g. writes half a line, so the crash leaves a torn one)."""
    spec = os.environ.get(ENV)
    if spec is None or spec != f"{name}@{n}":
        return
    if before is not None:
        before()
    os.kill(os.getpid(), signal.SIGKILL)
