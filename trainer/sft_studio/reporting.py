"""Optional metric sinks besides events.jsonl (`report_to`): TensorBoard event files under <run>/tensorboard.

A sink must never block or crash training: the package is imported only when asked for, a missing package
becomes one warning, and a failing write disables the sink with one message instead of raising.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

TENSORBOARD_DIR = "tensorboard"


class MetricSink:
    def __init__(self, report_to: str, run_dir: Path, warn: Callable[[str], None]):
        self._writer: Any = None
        if report_to != "tensorboard":
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            warn("report_to is tensorboard but the tensorboard package is not installed "
                 "(pip install tensorboard); metrics go to events.jsonl only")
            return
        # SummaryWriter queues events and writes them from its own thread, so logging does not wait on disk.
        self._writer = SummaryWriter(log_dir=str(run_dir / TENSORBOARD_DIR))

    @property
    def active(self) -> bool:
        return self._writer is not None

    def scalars(self, prefix: str, step: int, values: dict[str, Any]) -> None:
        if self._writer is None:
            return
        try:
            for name, value in values.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    self._writer.add_scalar(f"{prefix}/{name}", value, step)
        except Exception as exc:  # noqa: BLE001 - a broken sink must not end a healthy run
            print(f"sft-studio: tensorboard logging stopped ({exc}); training continues", file=sys.stderr)
            self._writer = None

    def close(self) -> None:
        if self._writer is not None:
            try:
                self._writer.close()
            except Exception:  # noqa: BLE001 - closing is best effort at the end of a run
                pass
            self._writer = None
