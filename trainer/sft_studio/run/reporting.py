"""Optional metric sinks besides events.jsonl (`report_to`): TensorBoard event files under <run>/tensorboard,
and Weights & Biases.

A sink must never block or crash training: a package is imported only when asked for, a missing package or
missing credentials become one warning, and a failing write disables that sink with one message instead of
raising.
"""

from __future__ import annotations

import hashlib
import netrc
import os
import sys
from pathlib import Path
from typing import Any, Callable

TENSORBOARD_DIR = "tensorboard"
WANDB_DIR = "wandb"


class _Unavailable(Exception):
    """A sink that cannot start and has already said why."""


def _numbers(values: dict[str, Any]) -> dict[str, float]:
    return {k: v for k, v in values.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


class _TensorBoard:
    name = "tensorboard"

    def __init__(self, run_dir: Path, config: dict[str, Any], warn: Callable[[str], None]):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            warn("report_to asks for tensorboard but the tensorboard package is not installed "
                 "(pip install tensorboard); metrics go to events.jsonl only")
            raise _Unavailable from None
        # SummaryWriter queues events and writes them from its own thread, so logging does not wait on disk.
        self._writer = SummaryWriter(log_dir=str(run_dir / TENSORBOARD_DIR))

    def log(self, prefix: str, step: int, values: dict[str, float]) -> None:
        for name, value in values.items():
            self._writer.add_scalar(f"{prefix}/{name}", value, step)

    def close(self) -> None:
        self._writer.close()


def _wandb_credentials() -> bool:
    """True when wandb.init can start without asking anyone anything (a run has no one to answer a prompt)."""
    if os.environ.get("WANDB_API_KEY") or os.environ.get("WANDB_MODE", "").lower() in ("offline", "disabled"):
        return True
    try:
        return netrc.netrc().authenticators(os.environ.get("WANDB_BASE_URL", "api.wandb.ai")
                                            .removeprefix("https://").removeprefix("http://")) is not None
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False


class _WandB:
    name = "wandb"

    def __init__(self, run_dir: Path, config: dict[str, Any], warn: Callable[[str], None]):
        try:
            import wandb
        except ImportError:
            warn("report_to asks for wandb but the wandb package is not installed (pip install wandb); "
                 "metrics go to events.jsonl only")
            raise _Unavailable from None
        if not _wandb_credentials():
            warn("report_to asks for wandb but no credentials were found (set WANDB_API_KEY, run `wandb login`, "
                 "or WANDB_MODE=offline); metrics go to events.jsonl only")
            raise _Unavailable
        self._wandb = wandb
        # The id follows the run folder, so `train --resume RUN_DIR` continues the same W&B run.
        run_id = hashlib.sha1(str(run_dir.resolve()).encode()).hexdigest()[:16]
        (run_dir / WANDB_DIR).mkdir(parents=True, exist_ok=True)
        self._run = wandb.init(project=os.environ.get("WANDB_PROJECT", "sft-studio"), name=run_dir.name, id=run_id,
                               resume="allow", dir=str(run_dir / WANDB_DIR), config=config)

    def log(self, prefix: str, step: int, values: dict[str, float]) -> None:
        self._run.log({f"{prefix}/{name}": value for name, value in values.items()}, step=step)

    def close(self) -> None:
        self._run.finish()


class MetricSink:
    """Every sink `report_to` names; `scalars` fans out to those still healthy."""

    def __init__(self, report_to: str, run_dir: Path, warn: Callable[[str], None],
                 config: dict[str, Any] | None = None):
        wanted = {"tensorboard": [_TensorBoard], "wandb": [_WandB], "all": [_TensorBoard, _WandB]}.get(report_to, [])
        self._sinks: list[Any] = []
        for kind in wanted:
            try:
                self._sinks.append(kind(run_dir, config or {}, warn))
            except _Unavailable:
                pass
            except Exception as exc:  # noqa: BLE001 - a sink that cannot start must not stop the run
                warn(f"{kind.name} logging could not start ({exc}); metrics go to events.jsonl only")

    @property
    def active(self) -> bool:
        return bool(self._sinks)

    def scalars(self, prefix: str, step: int, values: dict[str, Any]) -> None:
        numbers = _numbers(values)
        for sink in list(self._sinks):
            try:
                sink.log(prefix, step, numbers)
            except Exception as exc:  # noqa: BLE001 - a broken sink must not end a healthy run
                print(f"sft-studio: {sink.name} logging stopped ({exc}); training continues", file=sys.stderr)
                self._sinks.remove(sink)

    def close(self) -> None:
        for sink in self._sinks:
            try:
                sink.close()
            except Exception:  # noqa: BLE001 - closing is best effort at the end of a run
                pass
        self._sinks = []
