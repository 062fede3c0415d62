"""report_to: TensorBoard event files when the package is there, one warning and an unharmed run when not."""

from __future__ import annotations

import sys

import pytest

from .conftest import read_events
from .inprocess import small_config, train_here


def test_missing_tensorboard_is_one_warning_and_the_run_completes(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # makes the import fail
    run_dir = tmp_path / "run"
    assert train_here(small_config(tmp_path), run_dir, "report_to=tensorboard", "max_steps=1") == 0
    events = read_events(run_dir)
    warnings = [e for e in events if e["type"] == "log"]
    assert len(warnings) == 1 and warnings[0]["level"] == "warning"
    assert "tensorboard package is not installed" in warnings[0]["message"]
    assert events[-1]["status"] == "completed" and not (run_dir / "tensorboard").exists()


def test_tensorboard_event_files_hold_the_train_loss(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir = tmp_path / "run"
    assert train_here(small_config(tmp_path), run_dir, "report_to=tensorboard", "max_steps=2") == 0
    accumulator = EventAccumulator(str(run_dir / "tensorboard"))
    accumulator.Reload()
    logged = [(s.step, s.value) for s in accumulator.Scalars("train/loss")]
    want = [(e["step"], e["loss"]) for e in read_events(run_dir) if e["type"] == "train"]
    assert [s for s, _ in logged] == [s for s, _ in want]
    assert [v for _, v in logged] == pytest.approx([v for _, v in want], rel=1e-6)
