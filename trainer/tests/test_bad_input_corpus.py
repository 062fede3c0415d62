"""The bad-input corpus, trainer side (test/bad-input/README.md): every `py-…` case through its entry point, in this
process where it can be (a few through the real command line), each checked for its one expected answer, an
unchanged input, no traceback or hang, and a README row that says what it produced. `ts-…` cases run in the unit
tests (test/unit/badInput.unit.test.ts)."""

from __future__ import annotations

import functools
import json
import os

import pytest

from .bad_input_corpus import README, failures, load_cases, readme_rows, run_case

ALL = load_cases()
CASES = [c for c in ALL if c["entry"].startswith("py-")]
REPORT = os.environ.get("BAD_INPUT_REPORT")  # set by test/bad-input/update-readme.mjs
_results: dict[str, tuple[str, str]] = {}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    from transformers import AutoTokenizer

    from .conftest import MODEL

    # Loaded on first use only: a run of the config cases alone never pays for it.
    tokenizer = functools.lru_cache(maxsize=1)(lambda: AutoTokenizer.from_pretrained(MODEL, local_files_only=True))
    yield {"tmp_root": tmp_path_factory.mktemp("bad-input").resolve(), "tokenizer": tokenizer}
    if REPORT:
        with open(REPORT, "w", encoding="utf-8") as fh:
            json.dump({id_: {"kind": kind, "message": message} for id_, (kind, message) in _results.items()}, fh)


def _param(case):
    marks = [pytest.mark.xfail(strict=True, reason=case["xfail"])] if "xfail" in case else []
    return pytest.param(case, id=case["id"], marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_case(case, env):
    outcome, input_changed = run_case(case, env)
    _results[case["id"]] = (outcome.kind, outcome.message)
    assert failures(case, outcome, input_changed) == []


@pytest.mark.skipif(bool(REPORT), reason="the README is being written from this run")
def test_the_readme_lists_every_case_with_what_it_produces(env):
    rows = readme_rows(README.read_text(encoding="utf-8"))
    assert sorted(rows) == sorted(c["id"] for c in ALL), "the README lists other cases than cases/*.json"
    # Cases not run in this session (e.g. `-k` picked a few) are left to the run that has them.
    stale = [id_ for id_, result in _results.items() if rows.get(id_) != result]
    assert stale == [], "README rows that no longer say what the case produces: node test/bad-input/update-readme.mjs"
