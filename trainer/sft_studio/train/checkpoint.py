"""Checkpoints: written to a temporary folder, flushed to disk, marked complete, then renamed.

`checkpoints/step-N` counts as a checkpoint only when its `complete.json` verifies: written last, after every
other file and folder was fsynced, it lists each file's size and SHA-256. A crash, a full disk or a power cut
at any point leaves either no `step-N` at all or one whose marker does not verify, and resuming takes the
newest checkpoint that does (saying why it passed over a newer one).

Trainer state is JSON plus safetensors, never a pickle: a run folder may come from anywhere (a cloned repo, a
shared drive), and resuming it must not run code that a file brought along.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path, PurePosixPath
from typing import Any, Callable

import torch

from ..errors import CheckpointError, CheckpointWriteError
from ..model import lora
from ..run import faults

CHECKPOINTS = "checkpoints"
TRAINER_STATE = "trainer_state.json"
TRAINER_TENSORS = "trainer_state.safetensors"
LEGACY_TRAINER_STATE = "trainer_state.pt"
MARKER = "complete.json"
MARKER_FORMAT = 1
STATE_FORMAT = 1
# Folders of an unfinished save, of a replaced step, and of a pruned one; `step-N` never matches them.
TEMP_PREFIX, OLD_PREFIX, DELETED_PREFIX = ".tmp-", ".old-", ".del-"


def checkpoint_name(step: int) -> str:
    return f"step-{step}"


# ------------------------------------------------------------------ write
def save_checkpoint(run_dir: Path, step: int, model: Any, tokenizer: Any, trainer_state: dict[str, Any],
                    merge_lora: bool = False, state_dict: dict[str, torch.Tensor] | None = None) -> Path:
    """Model (or LoRA adapter) + tokenizer in Hugging Face layout, plus what resuming needs (optimizer, scheduler,
    gradient scaler, RNG, position); with `merge_lora` also the adapter merged into a full model in `merged/`.
    `state_dict` replaces the model's own weights (the gathered full weights of a sharded model).
    Raises CheckpointWriteError, with nothing left behind, when the files cannot be written."""
    root = run_dir / CHECKPOINTS
    final = root / checkpoint_name(step)
    tmp = root / f"{TEMP_PREFIX}{checkpoint_name(step)}-{os.getpid()}"
    try:
        root.mkdir(parents=True, exist_ok=True)
        if tmp.exists():
            shutil.rmtree(tmp)
        model.save_pretrained(tmp, safe_serialization=True, **({"state_dict": state_dict} if state_dict is not None else {}))
        faults.point("checkpoint-model", step)
        tokenizer.save_pretrained(tmp)
        save_trainer_state(tmp, trainer_state)
        faults.point("checkpoint-state", step)
        if merge_lora:
            lora.save_merged(model, tokenizer, tmp / lora.MERGED)
        write_marker(tmp, step)
        faults.point("checkpoint-marker", step)
        _publish(root, tmp, final, step)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, Exception):
            raise CheckpointWriteError(f"could not write checkpoint {final}: {exc}") from exc
        raise
    faults.point("checkpoint-renamed", step)
    return final


def _publish(root: Path, tmp: Path, final: Path, step: int) -> None:
    if final.exists():
        # Same step saved twice (e.g. "save now" then the final save): replace it as a whole. A crash between the
        # two renames leaves only `.old-step-N-*`, which remove_unfinished puts back.
        old = root / f"{OLD_PREFIX}{final.name}-{os.getpid()}"
        os.replace(final, old)
        faults.point("checkpoint-swap", step)
        os.replace(tmp, final)
        _fsync_dir(root)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)
        _fsync_dir(root)


def write_marker(folder: Path, step: int) -> None:
    """fsync every file, record its size and SHA-256 in complete.json, fsync that and every folder: after this
    returns, a power cut cannot leave the folder with a marker that verifies and contents that do not."""
    files: dict[str, dict[str, Any]] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MARKER):
        size, digest = _hash_file(path, sync=True)
        files[path.relative_to(folder).as_posix()] = {"size": size, "sha256": digest}
    for sub in sorted((p for p in folder.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        _fsync_dir(sub)
    marker = {"format": MARKER_FORMAT, "step": step, "files": files}
    with open(folder / MARKER, "w", encoding="utf-8") as fh:
        json.dump(marker, fh, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    _fsync_dir(folder)


def _hash_file(path: Path, sync: bool = False) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    buffer = bytearray(8 << 20)
    view = memoryview(buffer)
    # Windows flushes a handle only when it may write.
    with open(path, "r+b" if sync and os.name == "nt" else "rb") as fh:
        while n := fh.readinto(buffer):
            digest.update(view[:n])
            size += n
        if sync:
            os.fsync(fh.fileno())
    return size, digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    """Make a folder's entries (new files, a rename) durable; Windows has no directory handles to flush."""
    if os.name == "nt":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ------------------------------------------------------------------ find
def list_checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    root = run_dir / CHECKPOINTS
    if not root.is_dir():
        return []
    found = []
    for child in root.iterdir():
        if child.is_dir() and child.name.startswith("step-") and child.name[5:].isdigit():
            found.append((int(child.name[5:]), child))
    return sorted(found)


def remove_unfinished(run_dir: Path) -> list[str]:
    """Clear what a crashed process left in checkpoints/: temporary folders of a save and of pruning go, and a
    step that was being replaced gets its old folder back. Call before this run saves anything. Returns the
    names it removed or restored."""
    root = run_dir / CHECKPOINTS
    if not root.is_dir():
        return []
    cleared = []
    for child in sorted(root.iterdir()):
        name = child.name
        if name.startswith(OLD_PREFIX):
            step_name = name[len(OLD_PREFIX):].rsplit("-", 1)[0]
            if not (root / step_name).exists():
                os.replace(child, root / step_name)
                cleared.append(name)
                continue
        if name.startswith((TEMP_PREFIX, OLD_PREFIX, DELETED_PREFIX)):
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
            cleared.append(name)
    return cleared


def prune_checkpoints(run_dir: Path, keep: int | None, protect: set[int]) -> None:
    if keep is None:
        return
    removable = [(step, path) for step, path in list_checkpoints(run_dir) if step not in protect]
    for step, path in removable[: max(0, len(removable) - keep)]:
        # Renamed away first: a crash halfway through deleting must not leave a half `step-N`.
        doomed = path.with_name(f"{DELETED_PREFIX}{path.name}-{os.getpid()}")
        os.replace(path, doomed)
        faults.point("checkpoint-prune", step)
        shutil.rmtree(doomed, ignore_errors=True)


def verify_checkpoint(path: Path) -> str | None:
    """Why `path` cannot be resumed from, or None when its complete.json verifies (sizes, then SHA-256)."""
    marker_path = path / MARKER
    if not marker_path.is_file():
        if (path / LEGACY_TRAINER_STATE).exists():
            return (f"it holds a pickled {LEGACY_TRAINER_STATE} (an older SFT Studio's format), which is never loaded "
                    "because unpickling a file can run arbitrary code")
        return f"it has no {MARKER} (its save did not finish)"
    try:
        marker = json.loads(marker_path.read_text(encoding="utf-8"))
        files = marker["files"]
        entries = [(str(rel), int(e["size"]), str(e["sha256"])) for rel, e in files.items()]
        fmt = marker.get("format")
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return f"its {MARKER} is unreadable"
    if fmt != MARKER_FORMAT:
        return f"its {MARKER} has format {fmt!r}; this version reads format {MARKER_FORMAT}"
    for required in (TRAINER_STATE, TRAINER_TENSORS):
        if required not in files:
            return f"its {MARKER} does not list {required}"
    for rel, size, _ in entries:
        parts = PurePosixPath(rel).parts
        if not parts or PurePosixPath(rel).is_absolute() or ".." in parts:
            return f"its {MARKER} names a file outside the checkpoint: {rel!r}"
        file = path / rel
        if file.is_symlink() or not file.is_file():
            return f"{rel} is missing"
        if file.stat().st_size != size:
            return f"{rel} has {file.stat().st_size} bytes, {MARKER} says {size}"
    for rel, _, digest in entries:
        if _hash_file(path / rel)[1] != digest:
            return f"{rel} does not match its SHA-256 in {MARKER}"
    return None


def latest_resumable(run_dir: Path, warn: Callable[[str], None] | None = None) -> tuple[int, Path] | None:
    """The newest checkpoint whose complete.json verifies; `warn` hears why each newer one was passed over."""
    for step, path in reversed(list_checkpoints(run_dir)):
        problem = verify_checkpoint(path)
        if problem is None:
            return step, path
        if warn is not None:
            warn(f"{CHECKPOINTS}/{path.name} cannot be resumed from: {problem}")
    return None


# ------------------------------------------------------------------ trainer state
def save_trainer_state(folder: Path, state: dict[str, Any]) -> None:
    """The nested state as JSON, its tensors (named by their path in it) in one safetensors file."""
    from safetensors.torch import save_file

    tensors: dict[str, torch.Tensor] = {}
    structure = _encode(state, "", tensors)
    save_file(tensors, str(folder / TRAINER_TENSORS), metadata={"format": f"sft-studio-trainer-state-{STATE_FORMAT}"})
    with open(folder / TRAINER_STATE, "w", encoding="utf-8") as fh:
        json.dump({"format": STATE_FORMAT, "state": structure}, fh)


def load_trainer_state(path: Path) -> dict[str, Any]:
    """Read what save_trainer_state wrote, without unpickling anything. Raises CheckpointError."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not (path / TRAINER_STATE).is_file() and (path / LEGACY_TRAINER_STATE).exists():
        raise CheckpointError(f"{path / LEGACY_TRAINER_STATE}: a pickled trainer state (an older SFT Studio's format) "
                              "is never loaded, because unpickling a file can run arbitrary code")
    try:
        document = json.loads((path / TRAINER_STATE).read_text(encoding="utf-8"))
        if not isinstance(document, dict) or document.get("format") != STATE_FORMAT:
            raise CheckpointError(f"{path / TRAINER_STATE}: not a trainer state of format {STATE_FORMAT}")
        tensors = load_file(str(path / TRAINER_TENSORS))
        return _decode(document["state"], tensors)
    except CheckpointError:
        raise
    except (OSError, ValueError, KeyError, TypeError, RecursionError, SafetensorError) as exc:
        raise CheckpointError(f"{path}: the trainer state cannot be read ({type(exc).__name__}: {exc})") from None


_TENSOR, _TUPLE, _ITEMS = "__tensor__", "__tuple__", "__items__"


def _join(where: str, key: Any) -> str:
    return f"{where}/{key}" if where else str(key)


def _encode(value: Any, where: str, tensors: dict[str, torch.Tensor]) -> Any:
    """JSON for None, bool, int, float, str, lists and string-keyed dicts; a tagged one-key object for a tensor
    (stored in `tensors` under its path), a tuple, or a dict with other keys (the optimizer's integer ids)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, torch.Tensor):
        if where in tensors:
            raise TypeError(f"trainer state at {where}: two tensors would share this name")
        tensors[where] = value.detach().to("cpu", copy=True).contiguous()
        return {_TENSOR: where}
    if isinstance(value, tuple):
        return {_TUPLE: [_encode(v, _join(where, i), tensors) for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, _join(where, i), tensors) for i, v in enumerate(value)]
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in value):
            return {k: _encode(v, _join(where, k), tensors) for k, v in value.items()}
        if all(isinstance(k, (str, int)) and not isinstance(k, bool) for k in value):
            return {_ITEMS: [[k, _encode(v, _join(where, k), tensors)] for k, v in value.items()]}
    raise TypeError(f"trainer state at {where or '/'}: cannot store a {type(value).__name__}")


def _decode(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(value, list):
        return [_decode(v, tensors) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (tag, inner), = value.items()
        if tag == _TENSOR:
            if inner not in tensors:
                raise KeyError(f"tensor {inner!r} is not in {TRAINER_TENSORS}")
            return tensors[inner]
        if tag == _TUPLE:
            return tuple(_decode(v, tensors) for v in inner)
        if tag == _ITEMS:
            return {k: _decode(v, tensors) for k, v in inner}
    return {k: _decode(v, tensors) for k, v in value.items()}
