"""Models from the Hugging Face Hub: `model_name_or_path: org/name` becomes a local snapshot folder.

A value that names an existing folder (relative to the config file) is that folder. Otherwise, if it
looks like a Hub id (`org/name`), the files a run needs (config, tokenizer, chat template, generation
config, safetensors weights, and `*.py` only with `trust_remote_code`) are fetched once with
`huggingface_hub.snapshot_download` into the Hugging Face cache (HF_HOME / HF_HUB_CACHE), with the token
from HF_TOKEN. Every loader then reads the snapshot folder with `local_files_only=True`.

Progress is measured on disk, not through huggingface_hub's progress bars: the file list with sizes comes
from one API call, and a thread reads how far each file's blob (`blobs/<etag>.incomplete`) has grown.
Reports come at most every POLL_SECONDS plus one at the end.

huggingface_hub is imported inside the functions, so validating a config stays cheap.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Optional

from ..errors import HubError

HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$", re.ASCII)
POLL_SECONDS = 0.3
# A torchrun worker loads the commit its launcher fetched (set by `train` just before it relaunches).
COMMIT_ENV = "SFT_STUDIO_MODEL_COMMIT"

CONFIG_PATTERNS = ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                   "special_tokens_map.json", "added_tokens.json", "vocab.json", "vocab.txt", "merges.txt",
                   "tokenizer.model", "*.tiktoken", "chat_template.jinja", "chat_template.json"]
WEIGHT_PATTERNS = ["*.safetensors", "*.safetensors.index.json"]
SET_TOKEN = "the palette command 'SFT Studio: Set Hugging Face Token' (or HF_TOKEN in the environment)"


def is_hub_id(value: str) -> bool:
    """`org/name` with letters, digits, '_', '.', '-'; never a path that starts with ./, ../ or /."""
    return bool(HUB_ID.match(value)) and not value.startswith(("./", "../", "/"))


def model_kind(value: str, base: Path) -> str | None:
    """"folder" when `value` (relative to `base`) is an existing folder, else "hub" for a Hub id, else None."""
    if (base / value).resolve().is_dir():
        return "folder"
    return "hub" if is_hub_id(value) else None


@dataclass(frozen=True)
class ModelSource:
    """Where a run's model is read from: a local folder, and for a Hub model the id, revision and commit."""

    folder: str
    repo_id: Optional[str] = None
    revision: Optional[str] = None
    commit: Optional[str] = None


@dataclass(frozen=True)
class DownloadProgress:
    model: str
    file: str
    bytes_done: int
    bytes_total: int
    files_done: int
    files_total: int

    def fields(self) -> dict[str, Any]:
        """The `download` event's fields."""
        return {"model": self.model, "file": self.file, "bytes_done": self.bytes_done,
                "bytes_total": self.bytes_total, "files_done": self.files_done, "files_total": self.files_total}

    def text(self) -> str:
        """`downloading model 45% (1.2/2.6 GB)`, the words the Runs view and the dashboard use."""
        percent = int(100 * self.bytes_done / self.bytes_total) if self.bytes_total else 100
        return f"downloading model {percent}% ({format_bytes(self.bytes_done, self.bytes_total)})"


def format_bytes(done: int, total: int) -> str:
    """`1.2/2.6 GB`: both numbers in the unit of the total (kB, MB or GB, powers of 1000)."""
    unit, size = next(((u, s) for u, s in (("GB", 1e9), ("MB", 1e6)) if total >= s), ("kB", 1e3))
    return f"{done / size:.1f}/{total / size:.1f} {unit}"


Progress = Callable[[DownloadProgress], None]


def source_for(cfg: Any) -> ModelSource | None:
    """A config whose model is a folder (load_config made it absolute) as a source; None for a Hub id."""
    path = Path(cfg.model_name_or_path)
    folder = path.is_dir() and (path.is_absolute() or not is_hub_id(cfg.model_name_or_path))
    return ModelSource(str(path)) if folder else None


def loading_config(cfg: Any, source: ModelSource) -> Any:
    """The config the loaders get: the same fields, with the model read from the source's local folder."""
    return replace(cfg, model_name_or_path=source.folder)


def resolve(cfg: Any, *, commit: str | None = None, weights: bool = True, local_only: bool = False,
            progress: Progress | None = None) -> ModelSource:
    """The config's model as a local folder, fetching a Hub model into the cache when needed."""
    local = source_for(cfg)
    if local is not None:
        return local
    if not is_hub_id(cfg.model_name_or_path):
        raise HubError(f"`{cfg.model_name_or_path}` is not a folder and not a Hub id",
                       "Point `model_name_or_path` at a local model folder (relative to the config file) or write "
                       "a Hub id such as Qwen/Qwen2.5-0.5B-Instruct.")
    return fetch(cfg.model_name_or_path, cfg.model_revision, commit=commit, weights=weights,
                 trust_remote_code=cfg.trust_remote_code, local_only=local_only, progress=progress)


def allow_patterns(weights: bool, trust_remote_code: bool) -> list[str]:
    return CONFIG_PATTERNS + (WEIGHT_PATTERNS if weights else []) + (["*.py"] if trust_remote_code else [])


def fetch(repo_id: str, revision: str = "main", *, commit: str | None = None, weights: bool = True,
          trust_remote_code: bool = False, local_only: bool = False,
          progress: Progress | None = None) -> ModelSource:
    """Snapshot `repo_id` at `commit` (a pinned run) or `revision` into the HF cache; HubError when impossible."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.utils import disable_progress_bars

    disable_progress_bars()  # this module reports progress itself, as events and one terminal line
    patterns = allow_patterns(weights, trust_remote_code)
    wanted = commit or revision
    token = os.environ.get("HF_TOKEN") or None
    plan = None if local_only or _offline() else _plan(repo_id, wanted, patterns, token)
    monitor = _Monitor(repo_id, plan, progress) if plan and progress else None
    try:
        if monitor:
            monitor.start()
        folder = snapshot_download(repo_id, revision=wanted, allow_patterns=patterns, token=token,
                                   local_files_only=local_only)
    except Exception as exc:  # noqa: BLE001 - every Hub failure becomes one message with a fix
        raise _explain(exc, repo_id, wanted) from None
    finally:
        if monitor:
            monitor.stop()
    _check_snapshot(Path(folder), repo_id, wanted, weights)
    if monitor:
        monitor.finish()
    return ModelSource(folder, repo_id, revision, Path(folder).name)


def cached_folder(name_or_path: str) -> str:
    """A folder for `name_or_path` without touching the network: itself, or a cached Hub snapshot of it."""
    if Path(name_or_path).is_dir() or not is_hub_id(name_or_path):
        return name_or_path
    try:
        return fetch(name_or_path, weights=True, local_only=True).folder
    except HubError:
        return name_or_path


def _offline() -> bool:
    from huggingface_hub import constants

    return constants.is_offline_mode()


def _cache_folder(repo_id: str) -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE) / ("models--" + repo_id.replace("/", "--"))


@dataclass(frozen=True)
class _PlannedFile:
    name: str
    size: int
    blob: Optional[str]
    """The cache blob the file is stored under (its ETag: the LFS sha256, else the git blob id)."""


@dataclass(frozen=True)
class _Plan:
    commit: str
    files: list[_PlannedFile]


def _plan(repo_id: str, revision: str, patterns: list[str], token: str | None) -> _Plan | None:
    """The files still to fetch with their sizes, or None when the Hub cannot say (snapshot_download then decides)."""
    from huggingface_hub import HfApi
    from huggingface_hub.utils import filter_repo_objects

    try:
        info = HfApi().model_info(repo_id, revision=revision, files_metadata=True, token=token)
    except Exception:  # noqa: BLE001 - snapshot_download makes the same call and explains the failure
        return None
    snapshot = _cache_folder(repo_id) / "snapshots" / str(info.sha)
    files = []
    for sibling in filter_repo_objects(info.siblings or [], allow_patterns=patterns, key=lambda s: s.rfilename):
        if (snapshot / sibling.rfilename).exists():
            continue
        lfs = sibling.lfs
        files.append(_PlannedFile(sibling.rfilename, int(lfs.size if lfs else sibling.size or 0),
                                  lfs.sha256 if lfs else sibling.blob_id))
    return _Plan(str(info.sha), files) if files else None


class _Monitor:
    """Reads how far each planned file has come in the cache and reports it on a thread."""

    def __init__(self, repo_id: str, plan: _Plan, report: Progress):
        self.repo_id = repo_id
        self.plan = plan
        self.report = report
        self.blobs = _cache_folder(repo_id) / "blobs"
        self.snapshot = _cache_folder(repo_id) / "snapshots" / plan.commit
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sft-download-progress", daemon=True)
        self._last: tuple[int, int] | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def finish(self) -> None:
        total = sum(f.size for f in self.plan.files)
        count = len(self.plan.files)
        self.report(DownloadProgress(self.repo_id, self.plan.files[-1].name, total, total, count, count))

    def _run(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            current = self.measure()
            if (current.bytes_done, current.files_done) != self._last:
                self._last = (current.bytes_done, current.files_done)
                self.report(current)

    def measure(self) -> DownloadProgress:
        sizes = [(f, self._bytes_of(f)) for f in self.plan.files]
        pending = [(f, size) for f, size in sizes if not (size >= f.size and self._complete(f))]
        # The file shown: one being written, else the next to start, else the last one.
        active = next((f for f, size in pending if size > 0), pending[0][0] if pending else self.plan.files[-1])
        total = sum(f.size for f in self.plan.files)
        return DownloadProgress(self.repo_id, active.name, min(sum(size for _, size in sizes), total), total,
                                len(sizes) - len(pending), len(sizes))

    def _complete(self, f: _PlannedFile) -> bool:
        return (self.snapshot / f.name).exists() or (f.blob is not None and (self.blobs / f.blob).exists())

    def _bytes_of(self, f: _PlannedFile) -> int:
        if self._complete(f):
            return f.size
        if f.blob is None:
            return 0
        try:
            return min(f.size, (self.blobs / f"{f.blob}.incomplete").stat().st_size)
        except OSError:
            return 0


def _check_snapshot(folder: Path, repo_id: str, revision: str, weights: bool) -> None:
    if not (folder / "config.json").is_file():
        raise HubError(f"the Hub model `{repo_id}` (revision {revision}) has no config.json",
                       "Use a Transformers model repository: `model_name_or_path` must name a repo with config.json "
                       "and safetensors weights.")
    if weights and not any(folder.rglob("*.safetensors")):
        raise HubError(f"the Hub model `{repo_id}` (revision {revision}) has no safetensors weights",
                       "SFT Studio loads only *.safetensors; choose a repository (or revision) that has them, or "
                       "convert the weights and point `model_name_or_path` at that folder.")


def _explain(exc: Exception, repo_id: str, revision: str) -> HubError:
    """huggingface_hub's exception as one message and the fix."""
    from huggingface_hub import constants
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    page = f"{constants.ENDPOINT}/{repo_id}"
    if isinstance(exc, GatedRepoError):
        return HubError(f"`{repo_id}` is a gated model: downloading it needs an accepted licence and a token",
                        f"Accept the licence on {page} while logged in, create a read token at "
                        f"{constants.ENDPOINT}/settings/tokens and set it with {SET_TOKEN}; then start again.")
    if isinstance(exc, RevisionNotFoundError):
        return HubError(f"revision `{revision}` of `{repo_id}` was not found on the Hub",
                        f"Set `model_revision` to a branch, tag or commit that exists on {page} (default main).")
    if isinstance(exc, RepositoryNotFoundError):
        return HubError(f"model `{repo_id}` was not found on the Hub (or it is private and no valid token was sent)",
                        f"Check the id in `model_name_or_path` (org/name as on the model page); for a private model "
                        f"set a token with {SET_TOKEN}.")
    if isinstance(exc, HfHubHTTPError) and exc.response is not None and exc.response.status_code in (401, 403):
        return HubError(f"the Hub refused access to `{repo_id}` ({exc.response.status_code})",
                        f"Set a valid read token with {SET_TOKEN}; for a gated model accept its licence on {page}.")
    if isinstance(exc, LocalEntryNotFoundError) or isinstance(exc, (ConnectionError, TimeoutError)):
        where = constants.HF_HUB_CACHE
        return HubError(f"cannot download `{repo_id}` (revision {revision}): the Hub is not reachable and the model "
                        f"is not (completely) in the cache {where}",
                        f"Connect to the network and start again (or pre-fetch it: python -m sft_studio download "
                        f"{repo_id}); to train offline, fetch it once, then set HF_HUB_OFFLINE=1.")
    if isinstance(exc, HfHubHTTPError):
        return HubError(f"the Hub answered with an error for `{repo_id}`: {str(exc).splitlines()[0]}",
                        "Try again later; if it persists, check HF_ENDPOINT and your network's proxy settings.")
    return HubError(f"downloading `{repo_id}` failed: {type(exc).__name__}: {exc}",
                    "Check the network and the free disk space of the Hugging Face cache, then start again.")


class ProgressLine:
    """Download progress on the terminal (stderr): one line rewritten in place, or a line per second in a log."""

    def __init__(self, stream: Any = None):
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._printed = 0.0

    def __call__(self, p: DownloadProgress) -> None:
        final = p.bytes_done >= p.bytes_total and p.files_done == p.files_total
        line = f"{p.model}: {p.text()}, {p.files_done}/{p.files_total} files, {p.file}"
        if self.tty:
            self.stream.write(f"\r{line}\x1b[K" + ("\n" if final else ""))
        elif final or time.monotonic() - self._printed >= 1.0:
            self._printed = time.monotonic()
            self.stream.write(line + "\n")
        self.stream.flush()


def reporters(*sinks: Optional[Progress]) -> Progress:
    """One progress callback feeding several sinks (the terminal line, the event log)."""
    chosen = [s for s in sinks if s is not None]

    def report(p: DownloadProgress) -> None:
        for sink in chosen:
            sink(p)

    return report


__all__ = ["HUB_ID", "COMMIT_ENV", "ModelSource", "DownloadProgress", "HubError", "ProgressLine", "is_hub_id",
           "model_kind", "resolve", "fetch", "cached_folder", "loading_config", "format_bytes", "reporters"]
