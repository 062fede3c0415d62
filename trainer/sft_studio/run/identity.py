"""Who a process is: its pid, the machine it runs on and when it started.

A pid alone names a process only while it lives: once a trainer is gone the system hands its number to the next
process. status.json and the run folder's lock therefore record all three, and a recorded process counts as
running only when a process with that pid on this machine has the same start time. The extension
(src/runs/processes.ts) reads the start time the same way, so both sides agree on the token below.

The start token is `linux:<boot id>:<start in clock ticks since boot>` from /proc (the boot id keeps a pid and
tick count from before a reboot from matching), else `ps:<lstart>` from `ps -o lstart=` in the C locale and UTC,
else None where neither exists (Windows): such a record can be matched by pid alone, never proven.
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path
from typing import Any, Optional

Identity = dict[str, Any]


def host() -> str:
    return socket.gethostname()


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip() or None
    except OSError:
        return None


def start_token(pid: int) -> Optional[str]:
    """The start time of `pid` as a comparable string; None when the process does not exist or cannot be read."""
    boot = _boot_id()
    if boot is not None:
        try:
            text = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        # The command name (field 2) may hold spaces and parentheses: count fields after its closing one.
        fields = text[text.rfind(")") + 2:].split()
        return f"linux:{boot}:{fields[19]}" if len(fields) > 19 else None
    if os.name != "posix":
        return None
    try:
        out = subprocess.run(["ps", "-o", "lstart=", "-p", str(pid)], capture_output=True, text=True, timeout=10,
                             env={"PATH": os.environ.get("PATH", "/bin:/usr/bin"), "LC_ALL": "C", "TZ": "UTC"})
    except (OSError, subprocess.SubprocessError):
        return None
    line = " ".join(out.stdout.split())
    return f"ps:{line}" if out.returncode == 0 and line else None


def identity(pid: int | None = None) -> Identity:
    """{"pid", "host", "start"} of `pid` (this process when None)."""
    pid = os.getpid() if pid is None else pid
    return {"pid": pid, "host": host(), "start": start_token(pid)}


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    except OSError:
        return False
    return True


def is_running(record: Any) -> bool | None:
    """True when the recorded process still runs, False when it is gone (its pid free or reused by another
    process), None when this machine cannot tell: it ran on another host, or it was recorded without a start time."""
    if not isinstance(record, dict) or not isinstance(record.get("pid"), int) or record["pid"] <= 0:
        return False
    if record.get("host") not in (None, host()):
        return None
    pid = record["pid"]
    if not _pid_exists(pid):
        return False
    if not record.get("start"):
        return None
    now = start_token(pid)
    if now is None:
        return None if _pid_exists(pid) else False
    return now == record["start"]


def same_process(a: Any, b: Any) -> bool:
    """Two records of one process: same pid, host and (known) start time."""
    return (isinstance(a, dict) and isinstance(b, dict) and a.get("pid") == b.get("pid")
            and a.get("host") == b.get("host") and a.get("start") == b.get("start") and a.get("start") is not None)
