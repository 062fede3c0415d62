"""Hyperparameter sweeps: `python -m sft_studio sweep CONFIG` plans trials; each trial is a normal run.

A sweep lives in `<output_dir>/<run_name>-sweep-<UTC>/`: `sweep.json` (id, method, parameters, objective, trials)
and one run folder per trial, `trial-<k>/`, trained as `train CONFIG --output-dir trial-<k> --set field=value ...
--set sweep_id=ID --set sweep_trial=k`, so its config.resolved.json and run_started name the sweep. grid and random
trials are planned at once (deterministic: the same config and seed give the same trials); bayes trials are
suggested by Optuna's TPE one batch at a time from the objectives of the finished trials (`sweep --next`).

A trial's objective is its best evaluation of metric_for_best_model (loss unless set; greater_is_better gives the
direction): `run_finished.best_metric` when the run tracked it, else the best of its `eval` events; its final
objective is the last evaluation. Pruning is early stopping (train/best_model.py): `sweep.early_stopping_patience` sets
`early_stopping_patience` on every trial.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

from ..config import RunConfig
from ..train.best_model import greater_is_better_default, metric_key
from .sweep_config import Param, parse_params

SWEEP_FILE = "sweep.json"
OPTUNA_MISSING = ("`method: bayes` needs the `optuna` package, which this Python cannot import: "
                  "pip install -c trainer/constraints.txt optuna (or use `method: random`)")
# Trials a finished trial can be in, as sweep.json records them.
ENDED = ("completed", "stopped", "failed")


class SweepError(Exception):
    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message, self.hint = message, hint


def objective_of(cfg: RunConfig) -> dict[str, Any]:
    metric = metric_key(cfg.metric_for_best_model or "loss")
    greater = cfg.greater_is_better if cfg.greater_is_better is not None else greater_is_better_default(metric)
    return {"metric": metric, "greater_is_better": bool(greater)}


def sweep_seed(cfg: RunConfig) -> int:
    return int((cfg.sweep or {}).get("seed", cfg.seed))


def grid_trials(params: list[Param]) -> list[dict[str, Any]]:
    """Every combination, the last parameter varying fastest (itertools.product order)."""
    names = [p.name for p in params]
    return [dict(zip(names, combo)) for combo in itertools.product(*(p.values or () for p in params))]


def _draw(p: Param, rng: random.Random) -> Any:
    if p.values is not None:
        return p.values[rng.randrange(len(p.values))]
    assert p.low is not None and p.high is not None
    if p.integer:
        if p.log:
            value = round(math.exp(rng.uniform(math.log(p.low), math.log(p.high + 1))) - 0.5)
            return int(min(max(value, p.low), p.high))
        return rng.randint(int(p.low), int(p.high))
    x = math.exp(rng.uniform(math.log(p.low), math.log(p.high))) if p.log else rng.uniform(p.low, p.high)
    return _tidy(x, p)


def _tidy(x: float, p: Param) -> float:
    """Six significant digits (readable in run folders and tables, exact through `--set`), inside the range."""
    return min(max(float(f"{x:.6g}"), float(p.low)), float(p.high))  # type: ignore[arg-type]


def random_trials(params: list[Param], count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [{p.name: _draw(p, rng) for p in params} for _ in range(count)]


def _distributions(params: list[Param]):
    import optuna

    out = {}
    for p in params:
        if p.values is not None:
            out[p.name] = optuna.distributions.CategoricalDistribution(list(p.values))
        elif p.integer:
            out[p.name] = optuna.distributions.IntDistribution(int(p.low), int(p.high), log=p.log)
        else:
            out[p.name] = optuna.distributions.FloatDistribution(float(p.low), float(p.high), log=p.log)
    return out


def bayes_trials(params: list[Param], seed: int, greater_is_better: bool, finished: list[tuple[dict, float]],
                 failed: list[dict], pending: list[dict], count: int) -> list[dict[str, Any]]:
    """`count` suggestions from Optuna's TPE given the history; pending trials count as running (constant liar),
    so suggestions made together do not pile onto one point. The same history gives the same suggestions."""
    try:
        import optuna
    except ImportError:
        raise SweepError(OPTUNA_MISSING) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dists = _distributions(params)
    done = len(finished) + len(failed) + len(pending)
    # The seed moves with the history: a sampler rebuilt from scratch with one seed would draw the same
    # startup point every time.
    sampler = optuna.samplers.TPESampler(seed=seed + done, constant_liar=True, n_startup_trials=4, multivariate=True)
    study = optuna.create_study(direction="maximize" if greater_is_better else "minimize", sampler=sampler)
    for values, objective in finished:
        study.add_trial(optuna.trial.create_trial(params=values, distributions=dists, value=objective))
    for values in failed:
        study.add_trial(optuna.trial.create_trial(params=values, distributions=dists,
                                                  state=optuna.trial.TrialState.FAIL))
    for values in pending:
        study.enqueue_trial(values)
        study.ask(dists)
    out = []
    for _ in range(count):
        trial = study.ask(dists)
        out.append({p.name: _clean(trial.params[p.name], p) for p in params})
    return out


def _clean(value: Any, p: Param) -> Any:
    if p.values is not None:
        return value
    return int(value) if p.integer else _tidy(float(value), p)


def _set_value(value: Any) -> str:
    """A value as `--set` reads it back (YAML flow, of which JSON is a subset): quoted strings stay strings."""
    return json.dumps(value)


class Sweep:
    """sweep.json and what it says about its trials; `refresh` reads the trials' run folders."""

    def __init__(self, folder: Path, doc: dict[str, Any]):
        self.folder, self.doc = folder, doc

    @classmethod
    def load(cls, folder: str | Path) -> "Sweep":
        folder = Path(folder).resolve()
        file = folder / SWEEP_FILE
        if not file.is_file():
            raise SweepError(f"{folder} is not a sweep folder (no {SWEEP_FILE})",
                             "pass the folder `sweep CONFIG` printed, <output_dir>/<name>-sweep-<UTC>")
        return cls(folder, json.loads(file.read_text(encoding="utf-8")))

    @property
    def params(self) -> list[Param]:
        return [Param(name, values=tuple(spec["values"])) if "values" in spec else
                Param(name, low=spec["min"], high=spec["max"], log=spec["log"], integer=spec["integer"])
                for name, spec in self.doc["parameters"].items()]

    def save(self) -> None:
        from ..run.events import write_json_atomic

        write_json_atomic(self.folder / SWEEP_FILE, self.doc)

    def add_trials(self, values: list[dict[str, Any]]) -> list[dict[str, Any]]:
        added = []
        for params in values:
            index = len(self.doc["trials"])
            run_dir = self.folder / f"trial-{index}"
            overrides = [*self.doc["overrides"], *[f"{k}={_set_value(v)}" for k, v in params.items()],
                         f"sweep_id={_set_value(self.doc['id'])}", f"sweep_trial={index}"]
            trial = {"index": index, "params": params, "overrides": overrides, "run_dir": str(run_dir),
                     "status": "pending", "objective": None, "final_objective": None, "best_step": None,
                     "reason": None}
            self.doc["trials"].append(trial)
            added.append(trial)
        return added

    def refresh(self) -> None:
        """Status and objectives of every trial from its run folder; the best trial."""
        objective = self.doc["objective"]
        for trial in self.doc["trials"]:
            trial.update(trial_result(Path(trial["run_dir"]), objective["metric"], objective["greater_is_better"]))
        scored = [t for t in self.doc["trials"] if t["objective"] is not None]
        pick = max if objective["greater_is_better"] else min
        self.doc["best_trial"] = pick(scored, key=lambda t: t["objective"])["index"] if scored else None

    def budget_left(self) -> int:
        if self.doc["method"] != "bayes":
            return 0
        return max(0, int(self.doc["max_trials"]) - len(self.doc["trials"]))

    def suggest(self, count: int) -> list[dict[str, Any]]:
        """Up to `count` new bayes trials (never past max_trials), added to the sweep."""
        count = min(count, self.budget_left())
        if count <= 0:
            return []
        trials = self.doc["trials"]
        finished = [(t["params"], t["objective"]) for t in trials if t["objective"] is not None and t["status"] in ENDED]
        failed = [t["params"] for t in trials if t["status"] in ENDED and t["objective"] is None]
        pending = [t["params"] for t in trials if t["status"] not in ENDED]
        values = bayes_trials(self.params, int(self.doc["seed"]), self.doc["objective"]["greater_is_better"],
                              finished, failed, pending, count)
        return self.add_trials(values)


def trial_result(run_dir: Path, metric: str, greater: bool) -> dict[str, Any]:
    """A trial's status, best and final objective, best step and end reason, read from its events."""
    result: dict[str, Any] = {"status": "pending", "objective": None, "final_objective": None, "best_step": None,
                              "reason": None}
    events_file = run_dir / "events.jsonl"
    if not events_file.is_file():
        return result
    result["status"] = "running"
    best: Optional[tuple[float, int]] = None
    finished: dict[str, Any] | None = None
    for line in events_file.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue  # a torn last line
        if not isinstance(event, dict):
            continue
        if event.get("type") == "eval" and isinstance(event.get(metric), (int, float)):
            value, step = float(event[metric]), int(event.get("step") or 0)
            result["final_objective"] = value
            if best is None or (value > best[0] if greater else value < best[0]):
                best = (value, step)
        elif event.get("type") == "run_started":
            finished = None
        elif event.get("type") == "run_finished":
            finished = event
    if best is not None:
        result["objective"], result["best_step"] = best
    if finished is not None:
        result["status"], result["reason"] = finished.get("status", "failed"), finished.get("reason")
        if finished.get("metric_for_best_model") == metric and isinstance(finished.get("best_metric"), (int, float)):
            result["objective"], result["best_step"] = float(finished["best_metric"]), finished.get("best_step")
    return result


def new_sweep_dir(cfg: RunConfig) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    base = Path(cfg.output_dir) / f"{cfg.run_name}-sweep-{stamp}"
    candidate, n = base, 2
    while candidate.exists():
        candidate, n = Path(f"{base}-{n}"), n + 1
    return candidate


def plan(cfg: RunConfig, config_path: Path, overrides: list[str], folder: Optional[Path], initial: int) -> Sweep:
    """The sweep of a validated config: its document and first trials (all of them for grid and random)."""
    spec = cfg.sweep or {}
    params = parse_params(spec["parameters"])
    method = spec.get("method", "grid")
    patience = spec.get("early_stopping_patience")
    doc: dict[str, Any] = {
        "version": 1, "id": folder.name if folder else f"{cfg.run_name}-sweep", "config_path": str(config_path),
        "created": time.time(), "method": method, "seed": sweep_seed(cfg), "max_trials": spec.get("max_trials"),
        "parameters": {p.name: p.to_json() for p in params}, "objective": objective_of(cfg),
        "overrides": [*overrides, *([f"early_stopping_patience={patience}"] if patience else [])],
        "trials": [], "best_trial": None,
    }
    sweep = Sweep(folder or Path(cfg.output_dir) / doc["id"], doc)
    if method == "grid":
        sweep.add_trials(grid_trials(params))
    elif method == "random":
        sweep.add_trials(random_trials(params, int(spec["max_trials"]), sweep_seed(cfg)))
    else:
        sweep.suggest(max(1, initial))
    return sweep


def describe(sweep: Sweep) -> list[str]:
    doc = sweep.doc
    obj = doc["objective"]
    direction = "higher" if obj["greater_is_better"] else "lower"
    budget = f", up to {doc['max_trials']} trials" if doc["method"] != "grid" else ""
    lines = [f"sweep {doc['id']}: {doc['method']}, {len(doc['trials'])} trials{budget}; objective eval {obj['metric']} "
             f"({direction} is better)"]
    for trial in doc["trials"]:
        params = ", ".join(f"{k}={_set_value(v)}" for k, v in trial["params"].items())
        score = f"  {obj['metric']} {trial['objective']:.4g}" if trial["objective"] is not None else ""
        best = "  *best*" if doc["best_trial"] == trial["index"] else ""
        lines.append(f"  #{trial['index']:<3} {trial['status']:<9} {params}{score}{best}")
    if doc["method"] == "bayes" and sweep.budget_left():
        lines.append(f"  {sweep.budget_left()} more suggested one at a time as trials finish (sweep --next {sweep.folder})")
    return lines


def run_trials(sweep: Sweep, config_path: Path) -> None:
    """Train the sweep's trials one after another in this terminal (bayes: suggesting each from the last)."""
    while True:
        sweep.refresh()
        todo = [t for t in sweep.doc["trials"] if t["status"] == "pending"]
        if not todo:
            todo = sweep.suggest(1)
        if not todo:
            break
        trial = todo[0]
        run_dir = Path(trial["run_dir"])
        run_dir.mkdir(parents=True, exist_ok=True)
        sets = [arg for kv in trial["overrides"] for arg in ("--set", kv)]
        print(f"trial #{trial['index']}: {', '.join(f'{k}={v}' for k, v in trial['params'].items())} -> {run_dir}",
              flush=True)
        with open(run_dir / "trainer.log", "ab") as log:
            subprocess.run([sys.executable, "-m", "sft_studio", "train", str(config_path), "--output-dir", str(run_dir),
                            *sets], stdout=log, stderr=subprocess.STDOUT, check=False)
        sweep.refresh()
        sweep.save()
        done = sweep.doc["trials"][trial["index"]]
        score = f"{done['objective']:.4g}" if done["objective"] is not None else "none"
        print(f"trial #{trial['index']}: {done['status']}{' (' + done['reason'] + ')' if done['reason'] else ''}, "
              f"best {sweep.doc['objective']['metric']} {score}", flush=True)
    sweep.refresh()
    sweep.save()


def add_sweep_command(sub) -> None:
    sweep = sub.add_parser("sweep", help="plan (and with --run, train) the trials of a config's `sweep:` block; "
                                         "--next SWEEP_DIR reads finished trials and suggests more (bayes)")
    sweep.add_argument("config", nargs="?", help="a run config with a `sweep:` block")
    sweep.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config field for every trial (YAML scalar); may repeat")
    sweep.add_argument("--dry-run", action="store_true", help="print the trials; write nothing")
    sweep.add_argument("--run", action="store_true", help="train the trials one after another here")
    sweep.add_argument("--initial", type=int, default=1, metavar="N",
                       help="bayes: trials to suggest at the start (e.g. sftStudio.maxConcurrentRuns)")
    sweep.add_argument("--next", metavar="SWEEP_DIR", help="refresh SWEEP_DIR/sweep.json from its trials' run "
                                                           "folders and (bayes) add --count suggested trials")
    sweep.add_argument("--count", type=int, default=1, help="with --next: trials to suggest (0 = only refresh)")
    sweep.add_argument("--json", action="store_true", help="end stdout with one JSON object (sweep.json + sweep_dir)")
    sweep.set_defaults(func=cmd_sweep)


def _fail(message: str, hint: str, as_json: bool) -> int:
    print(f"{message}{chr(10) + 'hint: ' + hint if hint else ''}", file=sys.stderr)
    if as_json:
        print(json.dumps({"error": message, "hint": hint}))
    return 2


def _emit(sweep: Sweep, as_json: bool, extra: dict[str, Any] | None = None, written: bool = True) -> int:
    print("\n".join(describe(sweep)), flush=True)
    if as_json:
        print(json.dumps({**sweep.doc, "sweep_dir": str(sweep.folder) if written else None, **(extra or {})}))
    return 0


def cmd_sweep(args) -> int:
    from ..config import ConfigError, load_config

    if args.next:
        if args.config or args.set or args.run or args.dry_run:
            return _fail("--next SWEEP_DIR takes no config, --set, --run or --dry-run", "the sweep keeps its own", args.json)
        try:
            sweep = Sweep.load(args.next)
            sweep.refresh()
            added = sweep.suggest(max(0, args.count))
        except SweepError as exc:
            return _fail(exc.message, exc.hint, args.json)
        sweep.save()
        return _emit(sweep, args.json, {"added": [t["index"] for t in added]})
    if not args.config:
        return _fail("sweep needs a CONFIG with a `sweep:` block (or --next SWEEP_DIR)", "", args.json)
    try:
        cfg, config_path = load_config(args.config, args.set)
    except ConfigError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        if args.json:
            print(json.dumps({"errors": [str(i) for i in exc.issues]}))
        return 2
    if not cfg.sweep:
        return _fail(f"{args.config} has no `sweep:` block",
                     "add `sweep: {method: grid, parameters: {learning_rate: [1e-4, 3e-4]}}` to the config", args.json)
    folder = None if args.dry_run else new_sweep_dir(cfg)
    try:
        sweep = plan(cfg, config_path, list(args.set), folder, args.initial)
    except SweepError as exc:
        return _fail(exc.message, exc.hint, args.json)
    problems = _trial_problems(config_path, sweep)
    if problems:
        for line in problems:
            print(line, file=sys.stderr)
        if args.json:
            print(json.dumps({"errors": problems}))
        return 2
    if args.dry_run:
        for trial in sweep.doc["trials"]:
            trial["run_dir"] = None
        return _emit(sweep, args.json, written=False)
    sweep.folder.mkdir(parents=True, exist_ok=False)
    sweep.save()
    if args.run:
        print(f"sweep folder: {sweep.folder}", flush=True)
        run_trials(sweep, config_path)
    return _emit(sweep, args.json)


def _trial_problems(config_path: Path, sweep: Sweep) -> list[str]:
    """Each trial's config as `train` will read it: a value that fits its field alone can clash with the rest."""
    from ..config import ConfigError, load_config

    out = []
    for trial in sweep.doc["trials"]:
        try:
            load_config(config_path, trial["overrides"])
        except ConfigError as exc:
            out += [f"trial #{trial['index']} ({', '.join(f'{k}={v}' for k, v in trial['params'].items())}): {issue}"
                    for issue in exc.issues]
    return out
