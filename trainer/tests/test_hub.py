"""Hub models without the internet: a local stand-in for the Hub (hub_server.py) serves the bundled tiny model.

A run config naming `org/tiny` trains through it, with schema-valid `download` events; a gated repo, a missing
repo or revision and an unreachable Hub each end in one clear config error; the cached model trains again with
the server gone and HF_HUB_OFFLINE=1; the token travels as `Authorization: Bearer <HF_TOKEN>`.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from sft_studio.model.hub import CONFIG_PATTERNS, DownloadProgress, format_bytes, is_hub_id

from .conftest import DATA, MODEL, REPO, read_events, write_config
from .hub_server import FakeHub, model_repo

TOKEN = "hf_test_token_123"
EVENTS_SCHEMA = json.loads((REPO / "schema" / "events.schema.json").read_text())
# The tiny model's files plus two a run must not fetch: a README-like file and model code.
TINY = model_repo(MODEL, {"modeling_tiny.py": b"raise SystemExit('remote code ran')\n"})
FETCHED = sorted(n for n in TINY.files if n.endswith(".safetensors") or n in CONFIG_PATTERNS)


def trainer(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HF_") and k != "SFT_STUDIO_MODEL_COMMIT"}
    return subprocess.run([sys.executable, "-m", "sft_studio", *argv], capture_output=True, text=True, timeout=300,
                          env={**clean, "NO_PROXY": "127.0.0.1", **env})


def hub_config(folder: Path, model: str = "org/tiny", **fields) -> Path:
    return write_config(folder, model_name_or_path=model, max_length=64, per_device_train_batch_size=4,
                        learning_rate=1e-3, max_steps=3, dataset_format="alpaca", **fields)


def validate(events: list[dict]) -> None:
    for event in events:
        jsonschema.validate(event, EVENTS_SCHEMA)


def closed_port_endpoint() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def only_error(run_dir: Path) -> dict:
    events = read_events(run_dir)
    validate(events)
    errors = [e for e in events if e["type"] == "error"]
    assert len(errors) == 1 and errors[0]["kind"] == "config", events
    assert events[-1]["type"] == "run_finished" and events[-1]["status"] == "failed"
    assert json.loads((run_dir / "status.json").read_text())["state"] == "failed"
    return errors[0]


@pytest.fixture(scope="module")
def cached(tmp_path_factory):
    """One run of `org/tiny` through the stand-in Hub; later tests reuse its HF_HOME with the server gone."""
    home = tmp_path_factory.mktemp("hf-home")
    folder = tmp_path_factory.mktemp("hub-run")
    config = hub_config(folder)
    with FakeHub({"org/tiny": TINY}) as hub:
        hub.state.slow_files = 0.15  # one file body at a time, so the progress is seen growing
        done = trainer({"HF_ENDPOINT": hub.endpoint, "HF_HOME": str(home), "HF_TOKEN": TOKEN},
                       "train", str(config), "--output-dir", str(folder / "run"))
        seen = list(zip(hub.state.requests, hub.state.authorizations))
    return {"home": home, "config": config, "run": folder / "run", "done": done, "seen": seen, "folder": folder}


def test_a_hub_id_trains_three_steps_through_the_hub(cached):
    done, run = cached["done"], cached["run"]
    assert done.returncode == 0, done.stderr
    events = read_events(run)
    validate(events)
    assert [e["step"] for e in events if e["type"] == "train"] == [1, 2, 3]
    assert events[-1]["type"] == "run_finished" and events[-1]["status"] == "completed"
    resolved = json.loads((run / "config.resolved.json").read_text())
    assert (resolved["model_name_or_path"], resolved["model_revision"], resolved["model_commit"]) \
        == ("org/tiny", "main", TINY.commit)
    started = next(e for e in events if e["type"] == "run_started")
    assert started["model_commit"] == TINY.commit and started["config"]["model_name_or_path"] == "org/tiny"
    snapshot = cached["home"] / "hub" / "models--org--tiny" / "snapshots" / TINY.commit
    # Only what a run needs: no README-like files, no model code without trust_remote_code.
    assert sorted(p.name for p in snapshot.iterdir()) == FETCHED
    assert "modeling_tiny.py" in TINY.files and "BUILD.md" in TINY.files


def test_download_events_grow_to_the_total_at_a_bounded_rate(cached):
    events = read_events(cached["run"])
    downloads = [e for e in events if e["type"] == "download"]
    total = sum(len(TINY.files[n]) for n in FETCHED)
    assert len(downloads) >= 3
    assert all(e["model"] == "org/tiny" and e["bytes_total"] == total and e["files_total"] == len(FETCHED)
               for e in downloads)
    done = [e["bytes_done"] for e in downloads]
    assert done == sorted(done) and done[0] < total and done[-1] == total
    assert [e["files_done"] for e in downloads][-1] == len(FETCHED)
    assert all(e["file"] in FETCHED for e in downloads)
    # At most about four a second: the polls are 0.3 s apart; only the closing event may follow sooner.
    gaps = [b["time"] - a["time"] for a, b in zip(downloads[:-2], downloads[1:-1])]
    assert all(g >= 0.25 for g in gaps), gaps
    # All before the run starts, and in the same sequence as the run's other events.
    assert events.index(downloads[-1]) < next(i for i, e in enumerate(events) if e["type"] == "run_started")
    assert [e["seq"] for e in events] == list(range(len(events)))
    assert "downloading model 100% (7.3/7.3 MB)" in cached["done"].stderr


def test_every_hub_request_carries_the_token(cached):
    hub_calls = [(r, a) for r, a in cached["seen"] if "/api/models/" in r or "/resolve/" in r]
    assert len(hub_calls) >= 2 + 2 * len(FETCHED)  # repo info (ours and snapshot_download's), tree, HEAD + GET
    assert {a for _, a in hub_calls} == {f"Bearer {TOKEN}"}
    assert not any("modeling_tiny.py" in r or "BUILD.md" in r for r, _ in hub_calls)


def test_the_cached_model_trains_offline_with_the_server_gone(cached, tmp_path):
    env = {"HF_HOME": str(cached["home"]), "HF_HUB_OFFLINE": "1", "HF_ENDPOINT": closed_port_endpoint()}
    done = trainer(env, "train", str(cached["config"]), "--output-dir", str(tmp_path / "offline"))
    assert done.returncode == 0, done.stderr
    events = read_events(tmp_path / "offline")
    validate(events)
    assert not [e for e in events if e["type"] == "download"]
    assert json.loads((tmp_path / "offline" / "config.resolved.json").read_text())["model_commit"] == TINY.commit
    assert events[-1]["status"] == "completed"
    # Resume loads the commit the run recorded, from the cache.
    resumed = trainer(env, "train", "--resume", str(tmp_path / "offline"))
    assert resumed.returncode == 0, resumed.stderr
    again = read_events(tmp_path / "offline")
    assert [e.get("model_commit") for e in again if e["type"] == "run_started"] == [TINY.commit, TINY.commit]


def test_a_gated_repo_says_to_set_a_token_and_accept_the_licence(tmp_path):
    gated = model_repo(MODEL, commit_seed="gated")
    gated.gated_token = "the-right-token"
    config = hub_config(tmp_path, "org/gated")
    with FakeHub({"org/gated": gated}) as hub:
        env = {"HF_ENDPOINT": hub.endpoint, "HF_HOME": str(tmp_path / "home")}
        done = trainer(env, "train", str(config), "--output-dir", str(tmp_path / "run"))
        assert done.returncode == 2
        error = only_error(tmp_path / "run")
        assert error["message"] == "`org/gated` is a gated model: downloading it needs an accepted licence and a token"
        assert "Accept the licence on " + hub.endpoint + "/org/gated" in error["hint"]
        assert "SFT Studio: Set Hugging Face Token" in error["hint"]
        assert "error (config): `org/gated` is a gated model" in done.stderr
        # With the token the same repo downloads, and the token is what the Hub saw.
        fetched = trainer({**env, "HF_TOKEN": "the-right-token"}, "download", "org/gated", "--json")
        assert fetched.returncode == 0, fetched.stderr
        report = json.loads(fetched.stdout.strip().splitlines()[-1])
        assert report["commit"] == gated.commit and report["files_fetched"] == len(FETCHED)
        resolves = [a for r, a in zip(hub.state.requests, hub.state.authorizations) if "/resolve/" in r]
        assert resolves[-1] == "Bearer the-right-token"


@pytest.mark.parametrize("model, fields, message, hint", [
    ("org/missing", {}, "model `org/missing` was not found on the Hub (or it is private and no valid token was sent)",
     "Check the id in `model_name_or_path`"),
    ("org/tiny", {"model_revision": "v9"}, "revision `v9` of `org/tiny` was not found on the Hub",
     "Set `model_revision` to a branch, tag or commit that exists"),
])
def test_a_missing_repo_or_revision_says_what_to_check(tmp_path, model, fields, message, hint):
    config = hub_config(tmp_path, model, **fields)
    with FakeHub({"org/tiny": TINY}) as hub:
        done = trainer({"HF_ENDPOINT": hub.endpoint, "HF_HOME": str(tmp_path / "home")},
                       "train", str(config), "--output-dir", str(tmp_path / "run"))
    assert done.returncode == 2
    error = only_error(tmp_path / "run")
    assert error["message"] == message and error["hint"].startswith(hint)


@pytest.mark.parametrize("offline", [False, True])
def test_no_network_and_nothing_cached_names_the_ways_out(tmp_path, offline):
    env = {"HF_ENDPOINT": closed_port_endpoint(), "HF_HOME": str(tmp_path / "home"),
           **({"HF_HUB_OFFLINE": "1"} if offline else {})}
    done = trainer(env, "train", str(hub_config(tmp_path)), "--output-dir", str(tmp_path / "run"))
    assert done.returncode == 2
    error = only_error(tmp_path / "run")
    assert error["message"].startswith("cannot download `org/tiny` (revision main): the Hub is not reachable")
    assert "python -m sft_studio download org/tiny" in error["hint"] and "HF_HUB_OFFLINE=1" in error["hint"]


def test_download_command_prefetches_once_and_code_only_when_trusted(tmp_path):
    with FakeHub({"org/tiny": TINY}) as hub:
        env = {"HF_ENDPOINT": hub.endpoint, "HF_HOME": str(tmp_path / "home")}
        first = trainer(env, "download", "org/tiny", "--json")
        again = trainer(env, "download", "org/tiny", "--revision", TINY.commit, "--json")
        code = trainer(env, "download", "org/tiny", "--trust-remote-code", "--json")
        bad = trainer(env, "download", "./org/tiny", "--json")
    reports = [json.loads(r.stdout.strip().splitlines()[-1]) for r in (first, again, code, bad)]
    assert [r.returncode for r in (first, again, code, bad)] == [0, 0, 0, 2]
    assert reports[0]["files_fetched"] == len(FETCHED) and reports[0]["commit"] == TINY.commit
    assert reports[0]["bytes_fetched"] == sum(len(TINY.files[n]) for n in FETCHED)
    assert reports[1]["files_fetched"] == 0 and reports[1]["path"] == reports[0]["path"]
    assert reports[2]["files_fetched"] == 1 and (Path(reports[2]["path"]) / "modeling_tiny.py").is_file()
    assert reports[3] == {"error": "`./org/tiny` is not a Hub id",
                          "hint": "Pass a Hub id such as Qwen/Qwen2.5-0.5B-Instruct (org/name)."}


def test_dry_run_of_a_hub_model_fetches_no_weights(tmp_path):
    with FakeHub({"org/tiny": TINY}) as hub:
        done = trainer({"HF_ENDPOINT": hub.endpoint, "HF_HOME": str(tmp_path / "home")},
                       "train", str(hub_config(tmp_path)), "--dry-run", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["num_parameters"] == 1_821_312
    snapshot = tmp_path / "home" / "hub" / "models--org--tiny" / "snapshots" / TINY.commit
    assert sorted(p.name for p in snapshot.iterdir()) == [n for n in FETCHED if not n.endswith(".safetensors")]


def test_progress_words_and_units():
    p = DownloadProgress("org/x", "model.safetensors", 1_200_000_000, 2_600_000_000, 3, 7)
    assert p.text() == "downloading model 46% (1.2/2.6 GB)"
    assert format_bytes(3_600_000, 7_296_982) == "3.6/7.3 MB" and format_bytes(100, 900) == "0.1/0.9 kB"
    assert is_hub_id("Qwen/Qwen2.5-0.5B-Instruct") and not is_hub_id("../a/b") and not is_hub_id(str(DATA))
