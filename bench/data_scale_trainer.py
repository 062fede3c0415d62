"""The trainer's side of `node bench/data_scale.mjs`: one measurement per process, one JSON line on stdout.

    python bench/data_scale_trainer.py read FILE          read_rows alone (only readers imported): time, peak RSS
    python bench/data_scale_trainer.py prepare CONFIG     load_splits as the run calls it, with where its time goes
    python bench/data_scale_trainer.py dry-run CONFIG     `python -m sft_studio train CONFIG --dry-run --json` as a child

Peak RSS is ru_maxrss (the high-water mark of the whole process, allocator caches and interpreter included).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Iterator


def peak_rss_mib(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # KiB on Linux


def cpu_seconds() -> float:
    """CPU time of the whole process, every thread (the tokenizer's own threads included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def current_rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def read(path: str) -> dict[str, Any]:
    from sft_studio.data.readers import read_rows

    before = current_rss_mib()
    start = time.perf_counter()
    rows = read_rows(path)
    seconds = time.perf_counter() - start
    return {"rows": len(rows), "seconds": seconds, "rss_before_mib": before, "peak_rss_mib": peak_rss_mib()}


class Timed:
    """Time spent in the outermost calls of some functions (nested calls of the same group count once), per thread:
    load_splits tokenizes in a helper thread while its own thread renders the next batch, so the two overlap."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._depth = threading.local()

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            if getattr(self._depth, "n", 0):
                return fn(*args, **kwargs)
            self._depth.n = 1
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self._depth.n = 0
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
                self.calls[name] = self.calls.get(name, 0) + 1

        return timed

    def each(self, name: str, items: Iterator[Any]) -> Iterator[Any]:
        """`items`, with the time spent producing each one counted under `name`."""
        next_item = self.wrap(name, lambda: next(items, _END))
        while (item := next_item()) is not _END:
            yield item


_END = object()


class TimedBackend:
    """The Rust tokenizer with its encode* methods timed (data code may call it directly)."""

    def __init__(self, backend: Any, timed: Timed):
        self._backend = backend
        self._timed = timed

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._backend, name)
        return self._timed.wrap("tokenize", attr) if name.startswith("encode") and callable(attr) else attr


def prepare(config_path: str) -> dict[str, Any]:
    start = time.perf_counter()
    from sft_studio.config import load_config
    from sft_studio.data import dataset as data
    from sft_studio.data import encode_stream
    from sft_studio.model.load import load_tokenizer

    imported = time.perf_counter()
    cfg, _ = load_config(config_path)
    tokenizer = load_tokenizer(cfg)
    tokenizer_loaded = time.perf_counter()
    after_setup = current_rss_mib()

    timed = Timed()
    # Where load_splits spends its time: reading rows, the chat template, the tokenizer, the rest
    # (data/dataset.py / conversation.py's own Python). Wrapped on the tokenizer's class, so every path counts.
    data.read_rows = timed.wrap("read_rows", data.read_rows)
    read_rows_lazily = encode_stream.stream_rows  # a generator: its time is spent while it is iterated
    encode_stream.stream_rows = lambda *args: timed.each("read_rows", read_rows_lazily(*args))
    cls = type(tokenizer)
    members: dict[str, Any] = {
        "apply_chat_template": timed.wrap("chat_template", cls.apply_chat_template),
        "__call__": timed.wrap("tokenize", cls.__call__),
        "encode": timed.wrap("tokenize", cls.encode),
    }
    if getattr(tokenizer, "is_fast", False):
        backend = tokenizer.backend_tokenizer
        members["backend_tokenizer"] = property(lambda _self: TimedBackend(backend, timed))
    tokenizer.__class__ = type(cls.__name__, (cls,), members)
    load_start, cpu_start, thread_start = time.perf_counter(), cpu_seconds(), time.thread_time()
    splits = data.load_splits(cfg, tokenizer)
    load_seconds = time.perf_counter() - load_start
    cpu, thread_cpu = cpu_seconds() - cpu_start, time.thread_time() - thread_start
    stats = splits.train_stats
    accounted = sum(timed.seconds.values())
    # "other": the rest of load_splits' own thread; the tokenizer runs beside it in a helper thread.
    return {
        "import_seconds": imported - start,
        "tokenizer_load_seconds": tokenizer_loaded - imported,
        "load_splits_seconds": load_seconds,
        "load_splits_cpu_seconds": cpu,
        "load_splits_main_thread_cpu_seconds": thread_cpu,
        "breakdown_seconds": {**timed.seconds, "other": load_seconds - accounted + timed.seconds.get("tokenize", 0.0)},
        "calls": timed.calls,
        "rss_after_setup_mib": after_setup,
        "peak_rss_mib": peak_rss_mib(),
        "totals": {"examples": stats.examples, "tokens": stats.tokens, "truncated_examples": stats.truncated_examples,
                   "trained_tokens": stats.trained_tokens},
    }


def dry_run(config_path: str) -> dict[str, Any]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "sft_studio", "train", config_path, "--dry-run", "--json"],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"the dry run failed:\n{done.stderr[-4000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return {"seconds": seconds, "peak_rss_mib": peak_rss_mib(resource.RUSAGE_CHILDREN),
            "totals": {k: report[k] for k in ("examples", "tokens", "truncated_examples", "trained_tokens")}}


if __name__ == "__main__":
    what, target = sys.argv[1], sys.argv[2]
    result = {"read": read, "prepare": prepare, "dry-run": dry_run}[what](target)
    print(json.dumps(result))
