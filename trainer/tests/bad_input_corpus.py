"""The Python half of the bad-input corpus (test/bad-input/): its cases, the trainer's entry points they are handed
to, and the README table. The TypeScript half (test/unit/badInput/) reads the same files by the same rules."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .conftest import MODEL, REPO

CORPUS = REPO / "test" / "bad-input"
INPUTS = CORPUS / "inputs"
README = CORPUS / "README.md"
CATEGORIES = ("config", "dataset", "events", "judge", "tokenizer", "webview")
DEFAULT_TIMEOUT_S = 10
# A `path:line[:col]: ` prefix: a message that says where.
LOCATED = re.compile(r"^\S+:\d+(?::\d+)?: ")


def load_cases() -> list[dict[str, Any]]:
    cases = []
    for category in CATEGORIES:
        for case in json.loads((CORPUS / "cases" / f"{category}.json").read_text(encoding="utf-8")):
            cases.append({**case, "category": category})
    return cases


@dataclass
class Outcome:
    kind: str
    message: str


def normalise(text: str, tmp_root: Path) -> str:
    """Paths as the README shows them: relative to inputs/ (or to the temporary folder of made inputs)."""
    out = text.replace(f"{INPUTS}{os.sep}", "").replace(f"{tmp_root}{os.sep}", "").replace(str(REPO), "<repo>")
    # One line, and no control characters for the README to swallow.
    out = re.sub(r"\r?\n", " ⏎ ", out)
    return re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", lambda c: f"\\u{ord(c.group()):04x}", out).strip()


def digest(target: Path) -> str:
    """Of a file or of every file under a folder, to show an entry point changed nothing it read."""
    hash_ = hashlib.sha256()
    paths = sorted(p for p in target.rglob("*") if p.is_file()) if target.is_dir() else [target] if target.exists() else []
    for path in paths:
        hash_.update(str(path.relative_to(target) if target.is_dir() else "").encode() + path.read_bytes())
    return hash_.hexdigest()


def readme_rows(text: str) -> dict[str, tuple[str, str]]:
    """id -> (result, message) cells of the README table, unescaped."""
    rows = {}
    for line in text.splitlines():
        if not re.match(r"\| \d+ \| `", line):
            continue
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line[1:-1])]
        rows[cells[1].strip("`")] = (_unfence(cells[4]), _unfence(cells[5]))
    return rows


def _unfence(cell: str) -> str:
    fenced = re.match(r"^(`+) ?(.*?) ?\1$", cell)
    return fenced.group(2) if fenced else cell


class CaseTimeout(Exception):
    """The case ran past its deadline: counted as a hang."""


@contextmanager
def deadline(seconds: float):
    """Interrupts the Python code of a case that runs too long (the tests run in the main thread)."""
    def expire(signum, frame):
        raise CaseTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# ------------------------------------------------------------------ entry points
def _issues(kind: str, messages: list[str]) -> Outcome:
    if not messages:
        return Outcome("ok", "")
    if len(messages) == 1:
        return Outcome(kind, messages[0])
    return Outcome(f"{kind} ({len(messages)} messages)", " | ".join(messages))


def validate(path: Path, case: dict, env: dict) -> Outcome:
    from sft_studio.config import ConfigError, load_config

    try:
        load_config(path, case.get("overrides", []))
    except ConfigError as exc:
        return _issues("ConfigError", [str(i) for i in exc.issues])
    return Outcome("ok", "")


def _cli(args: list[str], case: dict) -> Outcome:
    done = subprocess.run([sys.executable, "-m", "sft_studio", *args], capture_output=True, text=True,
                          timeout=case.get("timeout_s", DEFAULT_TIMEOUT_S), cwd=REPO)
    output = done.stdout + done.stderr
    lines = [line for line in output.splitlines() if line.strip()]
    kind = f"exit {done.returncode}"
    if "Traceback (most recent call last)" in output:
        kind += ", traceback"
    located = sum(1 for line in lines if LOCATED.match(line))
    if located > 1:
        kind += f", {located} messages"
    return Outcome(kind, "\n".join(lines))


def cli_validate(path: Path, case: dict, env: dict) -> Outcome:
    return _cli(["validate", str(path)], case)


def cli_dry_run(path: Path, case: dict, env: dict) -> Outcome:
    return _cli(["train", "--dry-run", str(path)], case)


def data(path: Path, case: dict, env: dict) -> Outcome:
    from sft_studio.config import RunConfig
    from sft_studio.data.dataset import DataError, load_splits

    cfg = RunConfig(model_name_or_path=str(MODEL), train_file=str(path), **case.get("fields", {}))
    try:
        splits = load_splits(cfg, env["tokenizer"]())
    except DataError as exc:
        # A data error is one message and a hint saying what to do; without the hint it is not the whole answer.
        return Outcome("DataError" if exc.hint else "DataError without a hint", str(exc))
    return Outcome("ok", f"{len(splits.train)} examples, {splits.train_stats.tokens} tokens")


def events(path: Path, case: dict, env: dict) -> Outcome:
    """A resumed run's EventWriter appending to an events.jsonl a killed run left behind."""
    from sft_studio.run.events import EventWriter

    work = env["tmp_root"] / case["input"]
    work.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, work)
    before = work.read_bytes()
    writer = EventWriter(work)
    writer.emit("log", message="resumed")
    writer.close()
    after = work.read_bytes()
    kept = after.startswith(before)
    last = after.rstrip(b"\n").rsplit(b"\n", 1)[-1]
    try:
        event = json.loads(last)
    except ValueError:
        return Outcome("appended to a torn line", last.decode("utf-8", "replace"))
    lines = after.count(b"\n")
    return Outcome("appended", f"seq {event['seq']} on line {lines} of its own; the {len(before)} bytes before it "
                               f"{'unchanged' if kept else 'CHANGED'}")


def tokenizer(path: Path, case: dict, env: dict) -> Outcome:
    from sft_studio.config import RunConfig
    from sft_studio.model.load import load_tokenizer

    tok = load_tokenizer(RunConfig(model_name_or_path=str(path), train_file="unused.jsonl"))
    ids = tok(case.get("encode", "hello world"), add_special_tokens=False)["input_ids"]
    return Outcome("ok", f"encodes to {len(ids)} ids")


ENTRIES: dict[str, Callable[[Path, dict, dict], Outcome]] = {
    "py-validate": validate,
    "py-cli-validate": cli_validate,
    "py-cli-dry-run": cli_dry_run,
    "py-data": data,
    "py-events": events,
    "py-tokenizer": tokenizer,
}


# ------------------------------------------------------------------ made inputs
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "config.json")


def make_tokenizer_folder(folder: Path, spec: dict) -> None:
    """A copy of the example model's tokenizer files, spoilt as the spec says."""
    if spec.get("missing"):
        return
    folder.mkdir(parents=True, exist_ok=True)
    for name in TOKENIZER_FILES:
        if name not in spec.get("remove", []):
            shutil.copyfile(MODEL / name, folder / name)
    for name, size in spec.get("truncate", {}).items():
        (folder / name).write_bytes((folder / name).read_bytes()[:size])
    for name, keys in spec.get("patch", {}).items():
        (folder / name).write_text(json.dumps({**json.loads((folder / name).read_text()), **keys}))


def _csv_long_field(path: Path) -> None:
    path.write_text("instruction,output\nName a colour.,Blue.\nSummarise this.," + "lorem ipsum " * 12_000 + "\n")


def _jsonl_4mb_torn_line(path: Path) -> None:
    path.write_text('{"instruction": "Name a colour.", "output": "Blue."}\n{"instruction": "' + "x" * (4 << 20))


GENERATORS: dict[str, Callable[[Path], None]] = {
    "csv-long-field": _csv_long_field,
    "jsonl-4mb-torn-line": _jsonl_4mb_torn_line,
    "directory": lambda path: path.mkdir(parents=True, exist_ok=True),
}


def run_case(case: dict, env: dict) -> tuple[Outcome, bool]:
    """The case's outcome (message normalised) and whether its input changed."""
    tmp_root: Path = env["tmp_root"]
    made = "generate" in case or "tokenizer" in case
    path = (tmp_root if made else INPUTS) / case["input"]
    if "generate" in case:
        path.parent.mkdir(parents=True, exist_ok=True)
        GENERATORS[case["generate"]](path)
    if "tokenizer" in case:
        make_tokenizer_folder(path, case["tokenizer"])
    before = digest(path)
    try:
        with deadline(case.get("timeout_s", DEFAULT_TIMEOUT_S)):
            outcome = ENTRIES[case["entry"]](path, case, env)
    except CaseTimeout:
        outcome = Outcome(f"hung (no answer in {case.get('timeout_s', DEFAULT_TIMEOUT_S)} s)", "")
    except subprocess.TimeoutExpired:
        outcome = Outcome(f"hung (no answer in {case.get('timeout_s', DEFAULT_TIMEOUT_S)} s)", "")
    except Exception as exc:  # anything but the entry point's own error is the traceback the case is about
        outcome = Outcome(type(exc).__name__, str(exc))
    return Outcome(outcome.kind, normalise(outcome.message, tmp_root)), digest(path) != before


def failures(case: dict, outcome: Outcome, input_changed: bool) -> list[str]:
    """What is wrong with a case's outcome; empty when it did what the case expects."""
    found = []
    expect = case["expect"]
    if outcome.kind != expect["kind"]:
        found.append(f"answered {outcome.kind!r}, expected {expect['kind']!r}")
    if "message" in expect and not re.search(expect["message"], outcome.message):
        found.append(f"message {outcome.message!r} does not match /{expect['message']}/")
    if input_changed:
        found.append("the entry point changed its input")
    return found
