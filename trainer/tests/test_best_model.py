"""Best checkpoint and early stopping: the tracker's arithmetic, and real runs that stop, keep and report the best."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sft_studio.config import ConfigError, load_config
from sft_studio.train.best_model import BestTracker, MissingMetric

from .conftest import read_events
from .inprocess import copy_as_of, small_config, train_here

# Every evaluation after the first would need to beat the best loss by 100 to count: none does, so the
# number of evaluations before the stop is known exactly whatever the losses are.
NEVER_IMPROVES = "early_stopping_threshold=100"


def tracker(**kw) -> BestTracker:
    return BestTracker(**{"metric": "loss", "greater_is_better": False, **kw})


def test_lower_is_better_with_patience_and_threshold():
    t = tracker(threshold=0.05, patience=2)
    assert t.observe(1, {"loss": 1.0}) is True
    assert t.observe(2, {"loss": 0.97}) is False  # better, but not by more than the threshold
    assert t.observe(3, {"loss": 0.90}) is True and t.evaluations_without_improvement == 0
    assert t.observe(4, {"loss": 0.95}) is False and not t.should_stop
    assert t.observe(5, {"loss": 0.91}) is False and t.should_stop
    assert (t.best_step, t.best_value) == (3, 0.90)


def test_greater_is_better_and_the_eval_prefix():
    cfg = type("Cfg", (), dict(metric_for_best_model="eval_token_accuracy", greater_is_better=None,
                               load_best_model_at_end=False, early_stopping_patience=None,
                               early_stopping_threshold=0.0, save_strategy="steps"))
    t = BestTracker.from_config(cfg)
    assert (t.metric, t.greater_is_better, t.patience) == ("token_accuracy", True, None)
    assert t.observe(1, {"token_accuracy": 0.5, "loss": 2.0})
    assert not t.observe(2, {"token_accuracy": 0.5, "loss": 1.0})  # equal is not better
    assert t.observe(3, {"token_accuracy": 0.6, "loss": 3.0})
    assert not t.should_stop  # no patience: never stops


def test_a_metric_the_evaluation_does_not_report_is_named():
    with pytest.raises(MissingMetric, match=r"`exact_match` was not reported .* \(it reported loss, token_accuracy\)"):
        tracker(metric="exact_match", greater_is_better=True).observe(3, {"loss": 1.0, "token_accuracy": 0.5})


def test_state_round_trip_and_a_changed_metric_starts_afresh():
    t = tracker(patience=3)
    t.observe(1, {"loss": 1.0})
    t.observe(2, {"loss": 1.2})
    t.checkpoint_saved(1, "checkpoints/step-1")
    again = tracker(patience=3)
    again.load_state_dict(json.loads(json.dumps(t.state_dict())))
    assert again.state_dict() == t.state_dict()
    other = tracker(metric="perplexity")
    other.load_state_dict(t.state_dict())
    assert other.best_step is None and other.evaluations_without_improvement == 0


def config_issues(tmp_path: Path, **fields) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load_config(small_config(tmp_path, **fields))
    return [i.message for i in err.value.issues]


def test_config_errors_name_the_fix(tmp_path):
    assert any("compares evaluations; set `eval_strategy: steps`" in m
               for m in config_issues(tmp_path, early_stopping_patience=2))
    assert any("did you mean `token_accuracy`?" in m
               for m in config_issues(tmp_path, eval_strategy="steps", eval_steps=2, metric_for_best_model="eval_token_acc"))
    misaligned = config_issues(tmp_path, eval_strategy="steps", eval_steps=4, save_strategy="steps", save_steps=6,
                               load_best_model_at_end=True)
    assert any("set `save_strategy: best`" in m for m in misaligned)
    # Aligned schedules and save_strategy: best are both accepted.
    load_config(small_config(tmp_path, eval_strategy="steps", eval_steps=2, save_strategy="steps", save_steps=4,
                             load_best_model_at_end=True))
    load_config(small_config(tmp_path, eval_strategy="steps", eval_steps=2, save_strategy="best",
                             load_best_model_at_end=True))


def finished(run_dir: Path) -> dict:
    return next(e for e in read_events(run_dir) if e["type"] == "run_finished")


def test_early_stopping_keeps_and_returns_the_best(tmp_path):
    config = small_config(tmp_path, max_steps=20, eval_strategy="steps", eval_steps=1, save_strategy="best",
                          early_stopping_patience=2, load_best_model_at_end=True)
    run_dir = tmp_path / "run"
    assert train_here(config, run_dir, NEVER_IMPROVES) == 0
    events = read_events(run_dir)
    evals = [e for e in events if e["type"] == "eval"]
    # step 1 sets the best; steps 2 and 3 do not improve; patience 2 stops the run at step 3 of 20.
    assert [(e["step"], e.get("best")) for e in evals] == [(0, None), (1, True), (2, False), (3, False)]
    checkpoints = [(e["step"], e["final"], e["best"]) for e in events if e["type"] == "checkpoint"]
    assert checkpoints == [(1, False, True), (3, True, False)]
    end = finished(run_dir)
    assert end["status"] == "completed" and end["reason"] == "early_stopped" and end["step"] == 3
    assert end["final_checkpoint"] == end["best_checkpoint"] == "checkpoints/step-1"
    assert end["last_checkpoint"] == "checkpoints/step-3"
    assert (end["best_step"], end["metric_for_best_model"]) == (1, "loss")
    assert end["best_metric"] == evals[1]["loss"]
    assert (run_dir / "checkpoints" / "step-1" / "complete.json").is_file()


def test_the_best_is_the_argmax_of_the_metric(tmp_path):
    config = small_config(tmp_path, max_steps=8, eval_strategy="steps", eval_steps=1, save_strategy="steps",
                          save_steps=1, save_total_limit=1, metric_for_best_model="eval_token_accuracy",
                          load_best_model_at_end=True)
    run_dir = tmp_path / "run"
    assert train_here(config, run_dir) == 0
    evals = [e for e in read_events(run_dir) if e["type"] == "eval" and e["step"] > 0]
    best = evals[0]
    for e in evals[1:]:
        if e["token_accuracy"] > best["token_accuracy"]:
            best = e
    end = finished(run_dir)
    assert end["reason"] == "end_of_schedule" and end["best_step"] == best["step"]
    assert end["best_metric"] == best["token_accuracy"]
    assert [e["step"] for e in evals if e["best"]][-1] == best["step"]


def test_save_total_limit_never_removes_the_best(tmp_path):
    config = small_config(tmp_path, max_steps=5, eval_strategy="steps", eval_steps=1, save_strategy="steps",
                          save_steps=1, save_total_limit=1, metric_for_best_model="loss")
    run_dir = tmp_path / "run"
    assert train_here(config, run_dir, NEVER_IMPROVES) == 0
    kept = sorted(int(p.name.split("-")[1]) for p in (run_dir / "checkpoints").iterdir())
    # The best (step 1), the one the limit keeps besides the newest intermediate (step 4), and the final one.
    assert kept == [1, 3, 4, 5]
    assert finished(run_dir)["best_checkpoint"] == "checkpoints/step-1"


def test_resume_continues_the_patience_count(tmp_path):
    config = small_config(tmp_path, max_steps=20, eval_strategy="steps", eval_steps=1, save_strategy="steps",
                          save_steps=1, early_stopping_patience=3)
    run_dir = tmp_path / "run"
    assert train_here(config, run_dir, NEVER_IMPROVES) == 0
    whole = finished(run_dir)
    assert (whole["reason"], whole["step"], whole["best_step"]) == ("early_stopped", 4, 1)
    # Interrupted right after the step-2 checkpoint: one evaluation without improvement is already counted.
    copy = tmp_path / "copy"
    copy_as_of(run_dir, 2, copy)
    assert train_here(None, copy, resume=True) == 0
    resumed = finished(copy)
    assert (resumed["reason"], resumed["step"], resumed["best_step"]) == ("early_stopped", 4, 1)
    assert resumed["best_checkpoint"] == "checkpoints/step-1"
