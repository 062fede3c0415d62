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
    assert "the tensorboard package is not installed" in warnings[0]["message"]
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


class FakeWandb:
    """Records what the trainer hands the wandb package (which is not a dependency)."""

    def __init__(self):
        self.inits: list[dict] = []
        self.logged: list[tuple[int, dict]] = []
        self.finished = 0

    def init(self, **kwargs):
        self.inits.append(kwargs)
        fake = self

        class Run:
            def log(self, values, step):
                fake.logged.append((step, dict(values)))

            def finish(self):
                fake.finished += 1

        return Run()


def test_wandb_gets_every_train_and_eval_metric_and_resume_continues_the_same_run(tmp_path, monkeypatch):
    fake = FakeWandb()
    monkeypatch.setitem(sys.modules, "wandb", fake)
    monkeypatch.setenv("WANDB_API_KEY", "test-key")
    monkeypatch.setenv("WANDB_PROJECT", "sft-tests")
    run_dir = tmp_path / "run"
    assert train_here(small_config(tmp_path), run_dir, "report_to=wandb", "max_steps=3", "eval_strategy=steps",
                      "eval_steps=2", "save_strategy=steps", "save_steps=2") == 0
    events = read_events(run_dir)
    assert [e for e in events if e["type"] == "log"] == []
    (init,) = fake.inits
    assert init["project"] == "sft-tests" and init["name"] == "run" and init["resume"] == "allow"
    assert init["config"]["max_steps"] == 3 and init["dir"] == str(run_dir / "wandb")
    train = [(s, v["train/loss"]) for s, v in fake.logged if "train/loss" in v]
    want = [(e["step"], e["loss"]) for e in events if e["type"] == "train"]
    assert train == want
    evals = [(s, v["eval/loss"]) for s, v in fake.logged if "eval/loss" in v]
    assert evals == [(e["step"], e["loss"]) for e in events if e["type"] == "eval"]
    assert fake.finished == 1

    (run_dir / "checkpoints" / "step-3").rename(run_dir / "checkpoints" / "unfinished")  # resume from step 2
    assert train_here(None, run_dir, resume=True) == 0
    assert len(fake.inits) == 2 and fake.inits[1]["id"] == init["id"]


def test_wandb_without_credentials_is_one_warning_and_the_run_completes(tmp_path, monkeypatch):
    fake = FakeWandb()
    monkeypatch.setitem(sys.modules, "wandb", fake)
    for name in ("WANDB_API_KEY", "WANDB_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc
    run_dir = tmp_path / "run"
    assert train_here(small_config(tmp_path), run_dir, "report_to=wandb", "max_steps=1") == 0
    events = read_events(run_dir)
    (warning,) = [e for e in events if e["type"] == "log"]
    assert "no credentials" in warning["message"] and "WANDB_API_KEY" in warning["message"]
    assert fake.inits == [] and events[-1]["status"] == "completed"
