"""Fault injection: a tiny run killed with SIGKILL at seeded points, then `train --resume`, must end exactly where
an uninterrupted run ends (every logged loss, the final weights); a full disk during a checkpoint must leave the
previous checkpoint resumable and no temporary folder behind.

Kill points: inside the checkpoint writer (`SFT_STUDIO_FAULT=<point>@<step>`, see sft_studio/run/faults.py), halfway
through writing an event (a torn last line), and from outside at a seeded moment after the N-th event (mostly in
the middle of an optimizer step). A full disk is RLIMIT_FSIZE set in the child before it trains.

The default selection (part of `npm test`: 15 s on 2 quiet cores, 30 s on busy ones) kills at 6 points and
fills the disk twice. `npm run test:faults` (SFT_STUDIO_FAULTS=long, 70 s on 2 quiet cores) sweeps 39 points:
the 4 phases of each of the 4 saves, pruning, each event from the first checkpoint's on (torn), 10 seeded
outside kills, and a kill in the middle of replacing the final checkpoint after a kill right after publishing
it. The 3 points inside the first save must end in a clean "nothing to resume" error, the 36 others in a resume
identical to the uninterrupted run.
Runs are forked from a server that imported torch and transformers once, so a run costs its training time, not
an interpreter start.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from sft_studio.train import checkpoint as ckpt

from .conftest import DATA
from .inprocess import copy_as_of, small_config, train_here

resource = pytest.importorskip("resource", reason="RLIMIT_FSIZE and SIGKILL need a POSIX system")

LONG = os.environ.get("SFT_STUDIO_FAULTS") == "long"
STEPS, SAVE_EVERY, KEEP = 8, 2, 1
# Two rows a step from a 48-row file: a run costs about its model load, eight small steps and four saves.
OVERRIDES = (f"max_steps={STEPS}", "save_strategy=steps", f"save_steps={SAVE_EVERY}", f"save_total_limit={KEEP}",
             "padding_free=true", "per_device_train_batch_size=2")
TRAIN_ROWS = 48
SAVES = list(range(SAVE_EVERY, STEPS + 1, SAVE_EVERY))
PHASES = ("checkpoint-model", "checkpoint-state", "checkpoint-marker", "checkpoint-renamed")
SEED = 20240611


@dataclass(frozen=True)
class KillPoint:
    fault: str | None = None  # SFT_STUDIO_FAULT, or None for a kill from outside
    after_events: int = 0  # outside kills: once this many events are on disk, wait `delay_s`, then SIGKILL
    delay_s: float = 0.0
    resumes_from: int | None = None  # the step the resume must start from, where the point decides it
    then: str | None = None  # SFT_STUDIO_FAULT for the first resume too: killed again, resumed again

    def __str__(self) -> str:
        name = self.fault or f"outside-after-{self.after_events}-events+{self.delay_s * 1000:.0f}ms"
        return f"{name}+{self.then}" if self.then else name


def _published(phase: str, step: int) -> int:
    """The newest complete checkpoint when the writer dies at `phase` of the save of `step`."""
    before = max([s for s in SAVES if s < step], default=0)
    return step if phase == "checkpoint-renamed" else before


def kill_points(long: bool) -> list[KillPoint]:
    rng = random.Random(SEED)
    if not long:
        return [KillPoint("event@5"),  # the `train` event of step 4, torn
                KillPoint("checkpoint-model@4", resumes_from=2),
                KillPoint("checkpoint-marker@6", resumes_from=4),
                KillPoint("checkpoint-renamed@4", resumes_from=4),
                KillPoint("checkpoint-prune@2", resumes_from=6),  # pruning step-2 after the save of step 6
                KillPoint(after_events=7, delay_s=round(rng.uniform(0.0, 0.1), 3))]
    points = [KillPoint(f"{phase}@{step}", resumes_from=_published(phase, step)) for step in SAVES for phase in PHASES]
    # save_total_limit keeps KEEP checkpoints besides the one just written; the final save prunes nothing.
    points += [KillPoint(f"checkpoint-prune@{step - (KEEP + 1) * SAVE_EVERY}", resumes_from=step)
               for step in SAVES if step - (KEEP + 1) * SAVE_EVERY > 0 and step < STEPS]
    # Events 0..13: run_started, 8 train, 4 checkpoint, run_finished; from 3 (the event of step-2) on, a checkpoint exists.
    points += [KillPoint(f"event@{seq}") for seq in range(3, 14)]
    points += [KillPoint(after_events=rng.randrange(4, 11), delay_s=round(rng.uniform(0.0, 0.1), 3)) for _ in range(10)]
    # Killed after publishing the final checkpoint, then again while the resume replaces it with its own final save.
    points += [KillPoint(f"checkpoint-renamed@{STEPS}", resumes_from=STEPS, then=f"checkpoint-swap@{STEPS}")]
    return points


POINTS = kill_points(LONG)


def _child(config: str | None, run_dir: str, overrides: tuple[str, ...], resume: bool, fault: str | None,
           fsize: int | None, log: str) -> None:
    """One trainer process: its own output file, the fault variable, the file size limit."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    if fault:
        os.environ["SFT_STUDIO_FAULT"] = fault
    if fsize:
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    # One thread: steps this small only wait on each other's barriers, and more so while other tests load the cores.
    torch.set_num_threads(1)
    code = train_here(Path(config) if config else None, Path(run_dir), *overrides, resume=resume)
    sys.stdout.flush()
    os._exit(code)


@pytest.fixture(scope="module")
def forks():
    from multiprocessing import forkserver

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([__name__, "sft_studio.train.recipe", "transformers.models.llama.modeling_llama"])
    # The server is a new interpreter: put this checkout's trainer/ first on its path, as pytest did on this one's,
    # so that it preloads (and its children run) the code under test.
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[1])] + ([saved] if saved else []))
    try:
        forkserver.ensure_running()
    finally:
        if saved is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = saved
    return ctx


def start(forks, run_dir: Path, config: Path | None = None, fault: str | None = None, fsize: int | None = None,
          overrides: tuple[str, ...] = OVERRIDES):
    proc = forks.Process(target=_child, args=(str(config) if config else None, str(run_dir), overrides, config is None,
                                              fault, fsize, f"{run_dir}.log"))
    proc.start()
    return proc


def run(forks, run_dir: Path, config: Path | None = None, **kwargs) -> int:
    proc = start(forks, run_dir, config, **kwargs)
    proc.join(timeout=300)
    return proc.exitcode


def lines(run_dir: Path) -> list[str]:
    return (run_dir / "events.jsonl").read_text(encoding="utf-8", errors="replace").splitlines()


def parsed(run_dir: Path) -> tuple[list[dict], int]:
    events, torn = [], 0
    for line in lines(run_dir):
        try:
            events.append(json.loads(line))
        except ValueError:
            torn += 1
    return events, torn


def complete_lines(run_dir: Path) -> int:
    path = run_dir / "events.jsonl"
    return path.read_bytes().count(b"\n") if path.exists() else 0


@pytest.fixture(scope="module")
def straight(forks, tmp_path_factory):
    folder = tmp_path_factory.mktemp("faults")
    train = folder / "train48.jsonl"
    train.write_text("".join((DATA / "instruct_train.jsonl").read_text().splitlines(keepends=True)[:TRAIN_ROWS]))
    config = small_config(folder, train_file=str(train))
    run_dir = folder / "straight"
    assert run(forks, run_dir, config) == 0, (folder / "straight.log").read_text()
    events, _ = parsed(run_dir)
    losses = {e["step"]: e["loss"] for e in events if e["type"] == "train"}
    assert sorted(losses) == list(range(1, STEPS + 1))
    return config, run_dir, losses


def ckpt_steps(run_dir: Path) -> list[int]:
    return [step for step, _ in ckpt.list_checkpoints(run_dir)]


def assert_continues_identically(run_dir: Path, straight_dir: Path, losses: dict[int, float], torn_lines: int) -> list[dict]:
    """Every event parses (but the torn ones), seq runs on without a gap, every logged loss, from before and after
    the kill, is the uninterrupted run's, the final weights are bit-identical, nothing temporary is left."""
    from safetensors.torch import load_file

    events, torn = parsed(run_dir)
    assert torn == torn_lines
    assert [e["seq"] for e in events] == list(range(len(events)))
    for e in (e for e in events if e["type"] == "train"):
        assert e["loss"] == losses[e["step"]], f"step {e['step']}"
    assert {e["step"] for e in events if e["type"] == "train"} == set(range(1, STEPS + 1))
    assert events[-1]["type"] == "run_finished" and events[-1]["status"] == "completed"
    final = ckpt.CHECKPOINTS + f"/step-{STEPS}/model.safetensors"
    a, b = load_file(straight_dir / final), load_file(run_dir / final)
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)
    assert not [p.name for p in (run_dir / ckpt.CHECKPOINTS).iterdir() if p.name.startswith(".")]
    # A kill between publishing a checkpoint and pruning an older one leaves that one, one more than the limit.
    assert ckpt_steps(run_dir)[-len(ckpt_steps(straight_dir)):] == ckpt_steps(straight_dir)
    return events


@pytest.mark.parametrize("point", POINTS, ids=str)
def test_sigkill_then_resume_continues_identically(forks, straight, tmp_path, point):
    config, straight_dir, losses = straight
    run_dir = tmp_path / "run"
    proc = start(forks, run_dir, config, fault=point.fault)
    if point.fault is None:
        deadline = time.time() + 120
        while complete_lines(run_dir) < point.after_events and proc.is_alive() and time.time() < deadline:
            time.sleep(0.005)
        time.sleep(point.delay_s)
        proc.kill()
    proc.join(timeout=300)
    assert proc.exitcode == -signal.SIGKILL, (tmp_path / "run.log").read_text()
    if point.then:
        assert run(forks, run_dir, fault=point.then) == -signal.SIGKILL
        # Between the two renames of the swap: the old final checkpoint set aside, no step-N.
        assert [p.name.rsplit("-", 1)[0] for p in (run_dir / ckpt.CHECKPOINTS).glob(".old-*")] == [f".old-step-{STEPS}"]
        assert not (run_dir / ckpt.CHECKPOINTS / f"step-{STEPS}").exists()
    before, torn = parsed(run_dir)
    # A torn line where the point tears one; an outside kill lands between two writes (one write(2) per line).
    assert torn == (1 if point.fault and point.fault.startswith("event@") else 0)

    if point.resumes_from == 0:
        # Killed while writing the first checkpoint: nothing to resume, said in an error event, and the half
        # checkpoint is gone.
        assert run(forks, run_dir) == 2
        events, _ = parsed(run_dir)
        assert events[-2]["type"] == "error" and "has no complete checkpoint to resume from" in events[-2]["message"]
        assert not list((run_dir / ckpt.CHECKPOINTS).iterdir())
        return
    assert run(forks, run_dir) == 0, (tmp_path / "run.log").read_text()
    events = assert_continues_identically(run_dir, straight_dir, losses, torn)
    restart = events[len(before)]
    assert restart["type"] == "run_started"
    resumed = int(restart["resumed_from"].split("-")[-1])
    if point.resumes_from is not None:
        assert resumed == point.resumes_from
    else:
        # Kills between steps or mid-step: the newest checkpoint the killed run announced, or one it published
        # just before dying (renamed, event not yet written).
        announced = max((e["step"] for e in before if e["type"] == "checkpoint"), default=0)
        assert resumed in (announced, announced + SAVE_EVERY)
    # No step is lost: the resume starts right after its checkpoint.
    assert [e["step"] for e in events[len(before):] if e["type"] == "train"] == list(range(resumed + 1, STEPS + 1))


# A file size limit below the tiny model's weights fails the save in save_pretrained; one between the weights and
# the trainer state (Adam's two moments: twice the weights) fails it in the trainer state, after the weights.
@pytest.mark.parametrize("limit_mb", [4, 10], ids=["fails-in-the-weights", "fails-in-the-trainer-state"])
def test_full_disk_during_a_checkpoint_keeps_the_previous_one(forks, straight, tmp_path, limit_mb):
    config, straight_dir, losses = straight
    sizes = {p.name: p.stat().st_size for p in (straight_dir / ckpt.CHECKPOINTS / "step-4").iterdir()}
    assert sizes["model.safetensors"] > 4 << 20 and sizes[ckpt.TRAINER_TENSORS] > 10 << 20 > sizes["model.safetensors"]
    run_dir = tmp_path / "run"
    # The run as it was after its save of step 4; then the disk fills up, and the resume fails at the save of step 6.
    copy_as_of(straight_dir, 4, run_dir)
    assert run(forks, run_dir, fsize=limit_mb << 20) == 1
    events, torn = parsed(run_dir)
    error = next(e for e in events if e["type"] == "error")
    assert error["kind"] == "crash" and error["message"].startswith(f"could not write checkpoint {run_dir}/checkpoints/step-6:")
    assert "Free disk space" in error["hint"] and events[-1]["status"] == "failed"
    assert "File too large" in error["message"]
    assert not [p.name for p in (run_dir / ckpt.CHECKPOINTS).iterdir() if p.name.startswith(".")]
    assert ckpt_steps(run_dir) == [4]
    assert ckpt.latest_resumable(run_dir)[0] == 4

    # Space is back: the resume continues from step 4 as if nothing happened.
    assert run(forks, run_dir) == 0, (tmp_path / "run.log").read_text()
    assert_continues_identically(run_dir, straight_dir, losses, torn)
