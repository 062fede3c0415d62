"""Checkpoints a resume can trust: trainer state without pickle, complete.json verified with a fall-back to an older
checkpoint, durable writes (fsync before the rename), nothing left behind by a failed or interrupted save, and an
events.jsonl whose torn last line does not swallow the next event."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
import torch

from sft_studio.run.events import EventWriter
from sft_studio.train import checkpoint as ckpt

from .conftest import read_events
from .inprocess import small_config, train_here


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A 4-step run with checkpoints at steps 2 and 4."""
    folder = tmp_path_factory.mktemp("ckpt")
    run_dir = folder / "run"
    assert train_here(small_config(folder), run_dir, "save_strategy=steps", "save_steps=2") == 0
    return run_dir


def copy_run(run: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    return copy


def state_files(step_dir: Path) -> list[Path]:
    """The trainer state of a checkpoint, whichever format wrote it."""
    return [step_dir / name for name in ("trainer_state.pt", ckpt.TRAINER_TENSORS) if (step_dir / name).exists()]


def write_marker_like_an_attacker(step_dir: Path) -> None:
    """A complete.json that matches whatever the folder holds now: whoever plants files can plant this too."""
    files = {p.name: {"size": p.stat().st_size, "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
             for p in step_dir.iterdir() if p.is_file() and p.name != ckpt.MARKER}
    (step_dir / ckpt.MARKER).write_text(json.dumps({"format": 1, "step": 4, "files": files}))


class RunsCode:
    """Unpickling this runs `exec`, which leaves a file behind: proof that a load executed code."""

    def __init__(self, proof: Path):
        self.proof = proof

    def __reduce__(self):
        return exec, (f"open({str(self.proof)!r}, 'w').write('code ran')",)


# ------------------------------------------------------------------ trainer state format
def test_trainer_state_round_trips_exactly_without_pickle(tmp_path):
    state = {"step": 7, "tokens_seen": 123, "grad_scaler": None, "ratio": float("inf"),
             "optimizer": {"state": {0: {"step": torch.tensor(7.0), "exp_avg": torch.randn(3, 2)},
                                     5: {"exp_avg": torch.randn(4, dtype=torch.bfloat16)}},
                           "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 5], "fused": True}]},
             "rng_cpu": torch.get_rng_state(), "rng_cuda": [torch.zeros(16, dtype=torch.uint8)], "names": ["a", "b"]}
    ckpt.save_trainer_state(tmp_path, state)
    assert sorted(p.name for p in tmp_path.iterdir()) == [ckpt.TRAINER_STATE, ckpt.TRAINER_TENSORS]
    got = ckpt.load_trainer_state(tmp_path)

    def same(a, b):
        assert type(a) is type(b)
        if isinstance(a, torch.Tensor):
            assert a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
        elif isinstance(a, dict):
            assert list(a) == list(b)  # integer keys stay integers, in order
            for k in a:
                same(a[k], b[k])
        elif isinstance(a, (list, tuple)):
            assert len(a) == len(b)
            for x, y in zip(a, b):
                same(x, y)
        else:
            assert a == b

    same(state, got)
    with pytest.raises(TypeError, match="cannot store a RunsCode"):
        ckpt.save_trainer_state(tmp_path, {"step": RunsCode(tmp_path / "x")})


def test_resume_refuses_a_planted_pickle_and_does_not_run_it(run, tmp_path):
    copy = copy_run(run, tmp_path)
    proof = tmp_path / "proof.txt"
    # A run folder as an older version wrote it, or as someone planted it: a pickled trainer state in every
    # checkpoint, nothing else to resume from.
    for _, step_dir in ckpt.list_checkpoints(copy):
        for path in state_files(step_dir) + [step_dir / ckpt.TRAINER_STATE, step_dir / ckpt.MARKER]:
            path.unlink(missing_ok=True)
        torch.save({"step": RunsCode(proof), "tokens_seen": 0}, step_dir / "trainer_state.pt")
    code = train_here(None, copy, resume=True)
    assert not proof.exists(), "resuming unpickled the planted trainer_state.pt and ran its code"
    assert code == 2
    error = next(e for e in read_events(copy) if e["type"] == "error")
    assert error["kind"] == "config"
    assert "checkpoints/step-4 cannot be resumed from: it holds a pickled trainer_state.pt" in error["message"]
    assert "never loaded because unpickling a file can run arbitrary code" in error["message"]


def test_resume_refuses_a_pickle_disguised_as_safetensors(run, tmp_path):
    copy = copy_run(run, tmp_path)
    proof = tmp_path / "proof.txt"
    step_dir = copy / "checkpoints" / "step-4"
    torch.save({"step": RunsCode(proof)}, step_dir / ckpt.TRAINER_TENSORS)
    write_marker_like_an_attacker(step_dir)
    code = train_here(None, copy, resume=True)
    assert not proof.exists()
    assert code == 2
    error = next(e for e in read_events(copy) if e["type"] == "error")
    assert error["kind"] == "config" and "the trainer state cannot be read" in error["message"]


# ------------------------------------------------------------------ complete.json and the fall-back
def test_a_zero_byte_newest_trainer_state_falls_back_to_the_older_checkpoint(run, tmp_path):
    copy = copy_run(run, tmp_path)
    for path in state_files(copy / "checkpoints" / "step-4"):
        path.write_bytes(b"")
    stale = copy / "checkpoints" / ".tmp-step-6-4242"
    stale.mkdir()
    (stale / "model.safetensors").write_bytes(b"half a model")
    before = len(read_events(copy))
    assert train_here(None, copy, resume=True) == 0
    events = read_events(copy)[before:]
    warning = events[0]
    assert warning["type"] == "log" and warning["level"] == "warning"
    assert warning["message"].startswith("checkpoints/step-4 cannot be resumed from: ")
    assert "0 bytes" in warning["message"] and warning["message"].endswith("trying an older checkpoint")
    restart = events[1]
    assert restart["type"] == "run_started" and restart["resumed_from"] == "checkpoints/step-2"
    want = {e["step"]: e["loss"] for e in read_events(run) if e["type"] == "train"}
    after = [e for e in events if e["type"] == "train"]
    assert [e["step"] for e in after] == [3, 4] and all(e["loss"] == want[e["step"]] for e in after)
    assert not stale.exists()
    assert ckpt.verify_checkpoint(copy / "checkpoints" / "step-4") is None  # saved again, complete


@pytest.mark.parametrize("damage, reason", [
    ("no marker", "it has no complete.json (its save did not finish)"),
    ("torn marker", "its complete.json is unreadable"),
    ("short weights", "model.safetensors has 100 bytes, complete.json says"),
    ("flipped byte", "model.safetensors does not match its SHA-256 in complete.json"),
    ("missing tokenizer", "tokenizer.json is missing"),
    ("marker escapes", "its complete.json names a file outside the checkpoint: '../step-2/model.safetensors'"),
])
def test_latest_resumable_passes_over_a_damaged_newest_checkpoint(run, tmp_path, damage, reason):
    copy = copy_run(run, tmp_path)
    step_dir = copy / "checkpoints" / "step-4"
    weights = step_dir / "model.safetensors"
    if damage == "no marker":
        (step_dir / ckpt.MARKER).unlink()
    elif damage == "torn marker":
        (step_dir / ckpt.MARKER).write_text((step_dir / ckpt.MARKER).read_text()[:40])
    elif damage == "short weights":
        weights.write_bytes(weights.read_bytes()[:100])
    elif damage == "flipped byte":
        data = bytearray(weights.read_bytes())
        data[len(data) // 2] ^= 1
        weights.write_bytes(bytes(data))
    elif damage == "missing tokenizer":
        (step_dir / "tokenizer.json").unlink()
    else:
        marker = json.loads((step_dir / ckpt.MARKER).read_text())
        marker["files"]["../step-2/model.safetensors"] = marker["files"]["model.safetensors"]
        (step_dir / ckpt.MARKER).write_text(json.dumps(marker))
    heard: list[str] = []
    assert ckpt.latest_resumable(copy, heard.append) == (2, copy / "checkpoints" / "step-2")
    assert len(heard) == 1 and heard[0].startswith(f"checkpoints/step-4 cannot be resumed from: {reason}")


def test_an_older_version_checkpoint_without_marker_is_not_resumable(tmp_path):
    step_dir = tmp_path / "checkpoints" / "step-3"
    step_dir.mkdir(parents=True)
    (step_dir / "trainer_state.pt").write_bytes(b"")
    assert ckpt.latest_resumable(tmp_path) is None


# ------------------------------------------------------------------ writing
class FakeModel:
    def __init__(self, fail: bool = False):
        self.fail = fail

    def save_pretrained(self, folder, safe_serialization=True, **_):
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / "model.safetensors").write_bytes(b"w" * 4096)
        if self.fail:
            raise OSError(errno.ENOSPC, "No space left on device")


class FakeTokenizer:
    def save_pretrained(self, folder):
        (Path(folder) / "tokenizer.json").write_text("{}")


def small_state(step: int) -> dict:
    return {"step": step, "tokens_seen": 10 * step, "rng_cpu": torch.get_rng_state()}


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to name what an fd is")
def test_save_flushes_every_file_and_folder_before_the_rename(tmp_path, monkeypatch):
    log: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        log.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        return real_fsync(fd)

    def replace(src, dst):
        log.append(("replace", f"{src} -> {dst}"))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    final = ckpt.save_checkpoint(tmp_path, 5, FakeModel(), FakeTokenizer(), small_state(5))
    renames = [i for i, (kind, _) in enumerate(log) if kind == "replace"]
    assert len(renames) == 1
    rename = renames[0]
    tmp = log[rename][1].split(" -> ")[0]
    synced_before = [path for kind, path in log[:rename] if kind == "fsync"]
    for name in ("model.safetensors", "tokenizer.json", ckpt.TRAINER_STATE, ckpt.TRAINER_TENSORS, ckpt.MARKER):
        assert f"{tmp}/{name}" in synced_before, name
    # The marker is flushed after every other file, then the folder that holds them all.
    assert synced_before.index(f"{tmp}/{ckpt.MARKER}") == len(synced_before) - 2 and synced_before[-1] == tmp
    assert ("fsync", str(tmp_path / "checkpoints")) in log[rename:]
    assert ckpt.verify_checkpoint(final) is None


def test_a_failed_save_leaves_no_temp_folder_and_keeps_the_previous_checkpoint(tmp_path):
    ckpt.save_checkpoint(tmp_path, 2, FakeModel(), FakeTokenizer(), small_state(2))
    with pytest.raises(ckpt.CheckpointWriteError, match=r"could not write checkpoint .*step-4: \[Errno 28\] No space left"):
        ckpt.save_checkpoint(tmp_path, 4, FakeModel(fail=True), FakeTokenizer(), small_state(4))
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["step-2"]
    assert ckpt.latest_resumable(tmp_path) == (2, tmp_path / "checkpoints" / "step-2")
    assert ckpt.load_trainer_state(tmp_path / "checkpoints" / "step-2")["tokens_seen"] == 20


def test_saving_a_step_again_replaces_it_and_an_interrupted_swap_is_undone(tmp_path):
    root = tmp_path / "checkpoints"
    ckpt.save_checkpoint(tmp_path, 3, FakeModel(), FakeTokenizer(), small_state(3))
    ckpt.save_checkpoint(tmp_path, 3, FakeModel(), FakeTokenizer(), {**small_state(3), "tokens_seen": 99})
    assert sorted(p.name for p in root.iterdir()) == ["step-3"]
    assert ckpt.load_trainer_state(root / "step-3")["tokens_seen"] == 99
    # A crash between the two renames of a replacement leaves only the old folder, aside; one after them leaves
    # the old folder next to the new one. Temporary folders of a save and of pruning are only leftovers.
    os.replace(root / "step-3", root / ".old-step-3-77")
    ckpt.save_checkpoint(tmp_path, 5, FakeModel(), FakeTokenizer(), small_state(5))
    shutil.copytree(root / "step-5", root / ".old-step-5-78")
    (root / ".tmp-step-6-77").mkdir()
    (root / ".del-step-1-77").mkdir()
    cleared = ckpt.remove_unfinished(tmp_path)
    assert cleared == [".del-step-1-77", ".old-step-3-77", ".old-step-5-78", ".tmp-step-6-77"]
    assert sorted(p.name for p in root.iterdir()) == ["step-3", "step-5"]
    assert ckpt.verify_checkpoint(root / "step-3") is None
    assert ckpt.load_trainer_state(root / "step-3")["tokens_seen"] == 99


def test_pruning_renames_a_checkpoint_away_before_deleting_it(tmp_path, monkeypatch):
    for step in (1, 2, 3):
        ckpt.save_checkpoint(tmp_path, step, FakeModel(), FakeTokenizer(), small_state(step))
    seen: list[list[str]] = []
    real_rmtree = shutil.rmtree
    monkeypatch.setattr(shutil, "rmtree", lambda path, **kw: (seen.append(sorted(os.listdir(path.parent))),
                                                             real_rmtree(path, **kw)))
    ckpt.prune_checkpoints(tmp_path, keep=1, protect={3})
    assert seen[0] == [f".del-step-1-{os.getpid()}", "step-2", "step-3"]
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["step-2", "step-3"]


# ------------------------------------------------------------------ events.jsonl
@pytest.mark.parametrize("torn", [b'{"v":1,"seq":2,"time":1.0,"type":"tr', b'{"v":1,"seq":2,"type":"log","message":"caf\xc3'],
                         ids=["mid-line", "mid-character"])
def test_a_resumed_run_started_is_not_glued_to_a_torn_last_line(tmp_path, torn):
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"v":1,"seq":0,"time":1.0,"type":"run_started"}\n{"v":1,"seq":1,"time":1.0,"type":"train"}\n' + torn)
    writer = EventWriter(path)
    writer.emit("run_started", step=3, resumed_from="checkpoints/step-2")
    writer.close()
    lines = path.read_bytes().split(b"\n")
    assert lines[2] == torn and lines[-1] == b""
    resumed = json.loads(lines[3])
    assert resumed["type"] == "run_started" and resumed["seq"] == 2 and resumed["resumed_from"] == "checkpoints/step-2"


def test_an_event_after_a_failed_write_starts_a_new_line(tmp_path):
    writer = EventWriter(tmp_path / "events.jsonl")
    writer.emit("log", level="info", message="one")
    real = writer._fh

    class HalfWrite:
        def write(self, text):
            real.write(text[:10])
            real.flush()
            raise OSError(errno.ENOSPC, "No space left on device")

        def flush(self):
            pass

    writer._fh = HalfWrite()
    writer.emit("log", level="info", message="lost")
    writer._fh = real
    writer.emit("log", level="info", message="two")
    writer.close()
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()
              if line.strip() and line.endswith("}")]
    assert [(e["seq"], e["message"]) for e in events] == [(0, "one"), (1, "two")]
