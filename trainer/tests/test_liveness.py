"""Who holds a run folder and whether its trainer still moves: process identity (a reused pid is not the trainer),
the main loop's progress beside the heartbeat thread, the run folder's lock, requests written while a run starts,
and the torchrun launcher recorded so that a Stop reaches every rank."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sft_studio.run import identity, run_lock
from sft_studio.run.control import STARTED_ENV, Control
from sft_studio.run.events import StatusFile

from .conftest import write_config

posix = pytest.mark.skipif(os.name != "posix", reason="start times are read on POSIX systems")


@pytest.fixture
def stranger():
    """A live process that has nothing to do with any run."""
    proc = subprocess.Popen(["sleep", "60"])
    yield proc
    proc.kill()
    proc.wait()


def gone(pid: int) -> bool:
    """Exited (a zombie waiting for a parent that does not reap counts as exited)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return not identity._pid_exists(pid)
    return state[state.rfind(")") + 2] == "Z"


def wait_for(condition, timeout: float = 30.0) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@posix
def test_a_live_process_with_another_start_time_is_not_the_recorded_one(stranger):
    record = identity.identity(stranger.pid)
    assert record["host"] == socket.gethostname() and record["start"]
    assert identity.is_running(record) is True
    assert identity.is_running({**record, "start": record["start"] + "0"}) is False  # the pid was reused
    assert identity.is_running({**record, "host": record["host"] + "-elsewhere"}) is None  # cannot tell from here
    assert identity.is_running({**record, "start": None}) is None
    stranger.kill()
    stranger.wait()
    assert identity.is_running(record) is False


def test_the_heartbeat_goes_on_while_the_loop_does_not_beat(tmp_path):
    path = tmp_path / "status.json"
    launcher = identity.identity(os.getppid())
    status = StatusFile(path, interval=0.05, launcher=launcher, run_name="r")
    try:
        status.update(state="running", step=3)
        beat = json.loads(path.read_text())
        assert beat["process"] == identity.identity() and beat["launcher"] == launcher
        # The loop hangs; only the heartbeat thread runs.
        time.sleep(0.6)
        hung = json.loads(path.read_text())
        assert hung["heartbeat"] - beat["heartbeat"] >= 0.4, "the thread keeps the process looking alive"
        assert hung["progress"] == beat["progress"], "but the loop's progress stays where it stopped"
        assert hung["heartbeat"] - hung["progress"] >= 0.5
        status.beat(step=4)
        time.sleep(0.2)
        moving = json.loads(path.read_text())
        assert moving["step"] == 4 and moving["progress"] > hung["progress"]
    finally:
        status.close("stopped")
    assert json.loads(path.read_text())["state"] == "stopped"


HOLD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from sft_studio.run import run_lock
    run_lock.acquire(Path(sys.argv[1]))
    print("held", flush=True)
    time.sleep(120)
""")


@pytest.fixture
def holder(tmp_path):
    """Another trainer process holding tmp_path/run."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(run_dir)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    yield run_dir, proc
    proc.kill()
    proc.wait()


def test_a_second_trainer_is_refused_with_the_holder_named(holder):
    run_dir, proc = holder
    with pytest.raises(run_lock.RunFolderLocked) as refused:
        run_lock.acquire(run_dir)
    message = str(refused.value)
    assert f"pid {proc.pid} on {socket.gethostname()}" in message and "Stop that run first" in message
    run_lock.release(run_dir)  # not ours: stays
    assert json.loads((run_dir / run_lock.LOCK).read_text())["pid"] == proc.pid


def test_train_into_a_held_folder_fails_before_writing_anything(holder):
    run_dir, proc = holder
    config = write_config(run_dir.parent, max_steps=1)
    out = subprocess.run([sys.executable, "-m", "sft_studio", "train", str(config), "--output-dir", str(run_dir)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 2, out.stdout + out.stderr
    assert f"is in use by another trainer (pid {proc.pid} on {socket.gethostname()}" in out.stderr
    assert sorted(p.name for p in run_dir.iterdir()) == [run_lock.LOCK]


@posix
def test_a_stale_lock_is_taken_over(tmp_path, stranger):
    run_dir = tmp_path
    lock = run_dir / run_lock.LOCK
    reused = {**identity.identity(stranger.pid), "start": "linux:another-boot:1"}
    for stale in (reused, {"pid": 2 ** 22 + 7, "host": socket.gethostname(), "start": "linux:x:1"}):
        lock.write_text(json.dumps(stale))
        run_lock.acquire(run_dir)
        assert identity.same_process(json.loads(lock.read_text()), identity.identity())
        run_lock.release(run_dir)
        assert not lock.exists()
    assert stranger.poll() is None


def test_a_lock_from_another_machine_holds_while_its_run_beats(tmp_path):
    lock = tmp_path / run_lock.LOCK
    lock.write_text(json.dumps({"pid": 1234, "host": "gpu-node-7", "start": "linux:b:1"}))
    (tmp_path / "status.json").write_text(json.dumps({"heartbeat": time.time()}))
    with pytest.raises(run_lock.RunFolderLocked, match="pid 1234 on gpu-node-7"):
        run_lock.acquire(tmp_path)
    (tmp_path / "status.json").write_text(json.dumps({"heartbeat": time.time() - 3600}))
    run_lock.acquire(tmp_path)
    assert json.loads(lock.read_text())["pid"] == os.getpid()
    run_lock.release(tmp_path)


def test_rank_0_adopts_the_lock_its_launcher_took(tmp_path):
    run_lock.acquire(tmp_path)  # this process plays the launcher
    me = identity.identity()
    code = ("import json, sys; from pathlib import Path; from sft_studio.run import run_lock; "
            "run_lock.acquire(Path(sys.argv[1]), launcher=json.loads(sys.argv[2]))")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path), json.dumps(me)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    held = json.loads((tmp_path / run_lock.LOCK).read_text())
    assert held["pid"] != me["pid"] and held["launcher"] == me


def test_a_stop_written_while_the_run_starts_is_honoured_and_an_older_one_is_not(tmp_path, monkeypatch):
    path = tmp_path / "control.jsonl"
    started = time.time()
    path.write_text(json.dumps({"type": "stop", "time": started - 60}) + "\n")  # the previous run's Stop
    monkeypatch.setenv(STARTED_ENV, repr(started))
    control = Control(path)
    control.poll()
    assert not control.stop_requested
    with open(path, "a") as fh:  # written while the model loads, before the loop first reads the file
        fh.write(json.dumps({"type": "stop", "time": started + 1}) + "\n")
    control.poll()
    assert control.stop_requested


WORKER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    import torch
    from sft_studio.train.distributed import init_world, launcher_identity
    from sft_studio.run.events import StatusFile
    world = init_world(torch.device("cpu"))
    if world.is_main:
        StatusFile(Path(sys.argv[1]) / "status.json", launcher=launcher_identity()).update(state="running")
    time.sleep(300)
""")


@posix
def test_torchrun_records_its_launcher_and_ranks_end_with_it(tmp_path):
    """Under torchrun, rank 0 (the recorded trainer) leads a session of its own: a group kill of it misses the
    launcher and the other ranks. status.json names the launcher, and a rank whose launcher is killed ends."""
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    launcher = subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                                 str(script), str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)
    status_path = tmp_path / "status.json"
    ranks: list[int] = []
    try:
        assert wait_for(lambda: status_path.exists() and "launcher" in status_path.read_text(), 240), \
            launcher.stderr.read() if launcher.poll() is not None else "no status.json"
        status = json.loads(status_path.read_text())
        rank0 = status["process"]["pid"]
        assert status["launcher"] == identity.identity(launcher.pid)
        assert rank0 != launcher.pid and os.getsid(rank0) == rank0, "each rank has a session of its own"
        ranks = [int(p) for p in subprocess.run(["pgrep", "-P", str(launcher.pid)], capture_output=True,
                                               text=True).stdout.split()]
        assert rank0 in ranks and len(ranks) >= 2
        launcher.kill()  # SIGKILL: nothing is forwarded to the ranks
        launcher.wait()
        assert wait_for(lambda: all(gone(pid) for pid in ranks), 30), "a rank outlived its launcher"
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
            launcher.wait()
        for pid in ranks:
            if not gone(pid):
                os.kill(pid, signal.SIGKILL)


def test_the_training_loop_beats_from_its_steps_and_from_inside_evaluations(tmp_path, monkeypatch):
    import sft_studio.train.recipe as recipe

    from .inprocess import small_config, train_here

    phase = {"now": "setup"}
    beats: list[str] = []
    plain_evaluate, plain_beat = recipe.evaluate_split, StatusFile.beat

    def evaluating(*args, **kwargs):
        phase["now"] = "eval"
        try:
            return plain_evaluate(*args, **kwargs)
        finally:
            phase["now"] = "loop"

    def beat(self, **fields):
        beats.append(phase["now"])
        plain_beat(self, **fields)

    monkeypatch.setattr(recipe, "evaluate_split", evaluating)
    monkeypatch.setattr(StatusFile, "beat", beat)
    run_dir = tmp_path / "run"
    config = small_config(tmp_path, max_steps=2, eval_strategy="steps", eval_steps=1, per_device_eval_batch_size=4)
    assert train_here(config, run_dir) == 0
    # 16 validation rows in batches of 4: every forward pass of each evaluation is progress.
    assert beats.count("eval") >= 4 * 2
    status = json.loads((run_dir / "status.json").read_text())
    assert status["process"] == identity.identity() and status["step"] == 2
    assert status["progress"] <= status["heartbeat"]
    assert not (run_dir / run_lock.LOCK).exists(), "the lock goes with the trainer"
