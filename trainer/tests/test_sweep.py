"""Sweeps: trial expansion (grid, random, bayes), the `sweep:` block's checks with positions, the CLI, and one real
sweep of two trials on the embedded tiny model."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from sft_studio.config import ConfigError, load_config
from sft_studio.launch.sweep import Sweep, bayes_trials, grid_trials, random_trials, trial_result
from sft_studio.launch.sweep_config import Param, parse_params

from .conftest import DATA, EXAMPLES, MODEL

BASE = f"""model_name_or_path: {MODEL}
train_file: {DATA / 'instruct_train.jsonl'}
validation_file: {DATA / 'instruct_val.jsonl'}
dataset_format: alpaca
eval_strategy: steps
eval_steps: 2
"""


def sweep_cli(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sft_studio", "sweep", *argv], capture_output=True, text=True,
                          timeout=600)


def config(tmp_path: Path, sweep: str, base: str = BASE, extra: str = "") -> Path:
    path = tmp_path / "s.sft.yaml"
    path.write_text(base + f"output_dir: {tmp_path / 'runs'}\n" + extra + sweep)
    return path


def issues(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return [str(i) for i in caught.value.issues]


# --- expansion ---

def test_grid_is_the_product_in_written_order():
    params = parse_params({"learning_rate": [1e-4, 3e-4, 1e-3], "lora_r": {"values": [8, 16]}, "packing": [True, False]})
    trials = grid_trials(params)
    assert len(trials) == 3 * 2 * 2
    assert trials[0] == {"learning_rate": 1e-4, "lora_r": 8, "packing": True}
    assert trials[1] == {"learning_rate": 1e-4, "lora_r": 8, "packing": False}  # the last parameter varies fastest
    assert trials[-1] == {"learning_rate": 1e-3, "lora_r": 16, "packing": False}
    assert len({json.dumps(t, sort_keys=True) for t in trials}) == 12


def test_random_is_seeded_and_stays_in_its_ranges():
    params = parse_params({"learning_rate": {"min": 1e-6, "max": 1e-2, "log": True},
                           "warmup_ratio": {"min": 0.0, "max": 0.2}, "lora_r": {"min": 4, "max": 64, "log": True},
                           "weight_decay": [0.0, 0.1]})
    a, b, c = random_trials(params, 200, seed=7), random_trials(params, 200, seed=7), random_trials(params, 200, seed=8)
    assert a == b and a != c
    lrs = [t["learning_rate"] for t in a]
    assert all(1e-6 <= x <= 1e-2 for x in lrs)
    # log scale: about as many draws per decade; a linear draw would put ~90% in the top decade
    low_decades = sum(x < 1e-4 for x in lrs) / len(lrs)
    assert 0.35 < low_decades < 0.65
    assert all(0.0 <= t["warmup_ratio"] <= 0.2 for t in a)
    assert all(isinstance(t["lora_r"], int) and 4 <= t["lora_r"] <= 64 for t in a)
    assert {t["lora_r"] for t in a} >= {4, 64} or min(t["lora_r"] for t in a) < 8
    assert {t["weight_decay"] for t in a} == {0.0, 0.1}


def toy(values: dict) -> float:
    """Best at learning_rate 1e-3 and warmup_ratio 0.05 (a bowl on the log of the rate)."""
    return (math.log10(values["learning_rate"]) + 3) ** 2 + 40 * (values["warmup_ratio"] - 0.05) ** 2


def test_bayes_learns_from_finished_trials():
    params = parse_params({"learning_rate": {"min": 1e-6, "max": 1e-1, "log": True},
                           "warmup_ratio": {"min": 0.0, "max": 0.3}})
    finished: list[tuple[dict, float]] = []
    for _ in range(24):
        (values,) = bayes_trials(params, 0, False, finished, [], [], 1)
        finished.append((values, toy(values)))
    drawn = random_trials(params, 24, seed=0)
    late_bayes = sum(v for _, v in finished[12:]) / 12
    late_random = sum(toy(v) for v in drawn[12:]) / 12
    assert late_bayes < late_random / 2, (late_bayes, late_random)
    assert min(v for _, v in finished) < min(toy(v) for v in drawn)
    # the same history gives the same suggestion, a different history another
    again = bayes_trials(params, 0, False, finished[:10], [], [], 1)
    assert again == bayes_trials(params, 0, False, finished[:10], [], [], 1)
    flipped = [(v, -s) for v, s in finished[:10]]
    assert again != bayes_trials(params, 0, False, flipped, [], [], 1)


def test_bayes_suggestions_made_together_differ():
    params = [Param("learning_rate", low=1e-5, high=1e-2, log=True)]
    three = bayes_trials(params, 1, False, [], [], [{"learning_rate": 1e-4}], 3)
    assert len({t["learning_rate"] for t in three}) == 3


# --- validation with positions ---

def test_sweep_errors_point_at_the_value_and_name_the_fix(tmp_path):
    path = config(tmp_path, """sweep:
  method: grid
  parameters:
    lr: [1e-4, 3e-4]
    learning_rate: [1e-4, "fast"]
    lora_r: {min: 4, max: 64}
    warmup_ratio: 0.1
  max_trials: 3
  methd: grid
""")
    found = issues(path)
    shown = str(path)
    assert f"{shown}:11:5: `sweep.parameters.lr` is not a config field: did you mean `learning_rate`?" in found
    assert any(i.startswith(f"{shown}:12:27: `sweep.parameters.learning_rate[1]` is 'fast'") for i in found)
    assert any(i.startswith(f"{shown}:13:13: `sweep.parameters.lora_r` is a range, which a grid cannot enumerate")
               for i in found)
    assert any(i.startswith(f"{shown}:14:19: `sweep.parameters.warmup_ratio` must be a list such as") for i in found)
    assert any(i.startswith(f"{shown}:15:15: `sweep.max_trials` applies to random and bayes") for i in found)
    assert f"{shown}:16:3: `sweep` has unknown key `methd`: did you mean `method`?" in found


def test_ranges_need_a_budget_and_sound_bounds(tmp_path):
    path = config(tmp_path, """sweep:
  method: random
  parameters:
    learning_rate: {min: 0, max: 1e-3, log: true}
    per_device_train_batch_size: {min: 2.5, max: 8}
    warmup_ratio: {min: 0.3, max: 0.1}
    dataset_format: {min: 1, max: 2}
""")
    found = issues(path)
    shown = str(path)
    assert any(i.startswith(f"{shown}:8:1: `sweep` with `method: random` needs a budget: add `max_trials: N`") for i in found)
    assert any(i.startswith(f"{shown}:11:26: `sweep.parameters.learning_rate` is sampled on a log scale, which needs "
                            "min > 0") for i in found)
    assert any(i.startswith(f"{shown}:12:34: `per_device_train_batch_size` takes whole numbers") for i in found)
    assert any(i.startswith(f"{shown}:13:25: `sweep.parameters.warmup_ratio` needs min < max") for i in found)
    assert any(i.startswith(f"{shown}:14:21: `sweep.parameters.dataset_format` is a range, but `dataset_format` is one of")
               for i in found)


def test_a_sweep_without_validation_data_says_to_add_it(tmp_path):
    base = f"model_name_or_path: {MODEL}\ntrain_file: {DATA / 'instruct_train.jsonl'}\n"
    path = config(tmp_path, "sweep:\n  parameters:\n    learning_rate: [1e-4, 3e-4]\n", base=base)
    found = issues(path)
    assert any(i.startswith(f"{path}:4:1: a sweep ranks trials by an evaluation metric and this config has no "
                            "validation data: add `validation_file") for i in found)
    assert any("set `eval_strategy: steps`" in i for i in found)


# --- CLI ---

def test_dry_run_prints_the_trials_and_writes_nothing(tmp_path):
    path = config(tmp_path, """sweep:
  method: random
  max_trials: 3
  seed: 5
  parameters:
    learning_rate: {min: 1e-5, max: 1e-3, log: true}
    per_device_train_batch_size: [4, 8]
""", extra="metric_for_best_model: token_accuracy\n")
    done = sweep_cli(str(path), "--dry-run", "--json", "--set", "max_steps=3")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("sweep s-sweep: random, 3 trials, up to 3 trials; objective eval token_accuracy "
                               "(higher is better)")
    assert [line.split()[0] for line in lines[1:4]] == ["#0", "#1", "#2"]
    report = json.loads(lines[-1])
    assert report["sweep_dir"] is None and not (tmp_path / "runs").exists()
    assert report["objective"] == {"metric": "token_accuracy", "greater_is_better": True}
    assert [t["params"] for t in report["trials"]] == random_trials(
        parse_params({"learning_rate": {"min": 1e-5, "max": 1e-3, "log": True}, "per_device_train_batch_size": [4, 8]}),
        3, seed=5)
    first = report["trials"][0]
    assert first["overrides"][0] == "max_steps=3"
    assert first["overrides"][-2:] == ['sweep_id="s-sweep"', "sweep_trial=0"]
    assert json.loads(sweep_cli(str(path), "--dry-run", "--json").stdout.splitlines()[-1])["trials"][2]["params"] == \
        report["trials"][2]["params"]


def test_a_trial_that_clashes_with_the_config_is_refused_before_anything_starts(tmp_path):
    path = config(tmp_path, "sweep:\n  parameters:\n    merge_lora_on_save: [true, false]\n")
    done = sweep_cli(str(path), "--json")
    assert done.returncode == 2
    assert "trial #0 (merge_lora_on_save=True): --set merge_lora_on_save=true: `merge_lora_on_save` applies to LoRA " \
           "only" in done.stderr
    assert not (tmp_path / "runs").exists()


def test_next_suggests_bayes_trials_from_finished_results(tmp_path):
    path = config(tmp_path, """sweep:
  method: bayes
  max_trials: 3
  parameters:
    learning_rate: {min: 1e-5, max: 1e-2, log: true}
""")
    planned = json.loads(sweep_cli(str(path), "--json", "--initial", "2").stdout.splitlines()[-1])
    assert len(planned["trials"]) == 2
    folder = Path(planned["sweep_dir"])
    # the first trial finishes with an objective, the second fails
    fake_run(Path(planned["trials"][0]["run_dir"]), [2.0, 1.5, 1.7], "completed", best=1.5)
    fake_run(Path(planned["trials"][1]["run_dir"]), [], "failed")
    nxt = sweep_cli("--next", str(folder), "--json", "--count", "5")
    report = json.loads(nxt.stdout.splitlines()[-1])
    assert report["added"] == [2]  # the budget is 3
    assert [t["status"] for t in report["trials"]] == ["completed", "failed", "pending"]
    assert report["trials"][0]["objective"] == 1.5 and report["trials"][0]["final_objective"] == 1.7
    assert report["best_trial"] == 0
    saved = Sweep.load(folder)
    assert len(saved.doc["trials"]) == 3 and saved.doc["trials"][2]["overrides"][-1] == "sweep_trial=2"


def fake_run(run_dir: Path, losses: list[float], status: str, best: float | None = None) -> None:
    run_dir.mkdir(parents=True)
    events = [{"type": "run_started"}] + [{"type": "eval", "step": 2 * (i + 1), "loss": v} for i, v in enumerate(losses)]
    events.append({"type": "run_finished", "status": status, **({"reason": "early_stopped", "best_metric": best,
                                                                  "metric_for_best_model": "loss", "best_step": 4}
                                                                 if best is not None else {})})
    (run_dir / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))


def test_trial_result_reads_best_and_final_from_events(tmp_path):
    fake_run(tmp_path / "r", [3.0, 2.0, 2.5], "completed")
    assert trial_result(tmp_path / "r", "loss", False) == {
        "status": "completed", "objective": 2.0, "final_objective": 2.5, "best_step": 4, "reason": None}
    assert trial_result(tmp_path / "r", "loss", True)["objective"] == 3.0
    assert trial_result(tmp_path / "missing", "loss", False)["status"] == "pending"


def test_a_real_grid_sweep_of_two_trials(tmp_path):
    path = config(tmp_path, """max_length: 64
per_device_train_batch_size: 8
max_steps: 4
logging_steps: 2
sweep:
  parameters:
    learning_rate: [1e-4, 2e-3]
  early_stopping_patience: 3
""")
    done = sweep_cli(str(path), "--run", "--json")
    assert done.returncode == 0, done.stderr + done.stdout
    report = json.loads(done.stdout.splitlines()[-1])
    folder = Path(report["sweep_dir"])
    assert folder.parent == tmp_path / "runs" and folder.name.startswith("s-sweep-")
    saved = json.loads((folder / "sweep.json").read_text())
    assert [t["run_dir"] for t in saved["trials"]] == [str(folder / "trial-0"), str(folder / "trial-1")]
    objectives = []
    for k, trial in enumerate(saved["trials"]):
        run_dir = Path(trial["run_dir"])
        resolved = json.loads((run_dir / "config.resolved.json").read_text())
        assert (resolved["sweep_id"], resolved["sweep_trial"]) == (folder.name, k)
        assert resolved["learning_rate"] == [1e-4, 2e-3][k] and resolved["early_stopping_patience"] == 3
        events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
        started = next(e for e in events if e["type"] == "run_started")
        assert started["config"]["sweep_id"] == folder.name and started["config"]["sweep_trial"] == k
        evals = [e["loss"] for e in events if e["type"] == "eval"]
        assert trial["status"] == "completed" and trial["objective"] == pytest.approx(min(evals))
        assert trial["final_objective"] == pytest.approx(evals[-1])
        objectives.append(trial["objective"])
    # the larger rate learns more in 4 steps, and is the best trial
    assert objectives[1] < objectives[0]
    assert saved["best_trial"] == 1
    print("real sweep objectives (eval loss):", objectives)
