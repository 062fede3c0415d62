"""Data parallel under torchrun equals one process with the same global batch; the hostfile launcher's argv."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from sft_studio.config import ConfigError, RunConfig
from sft_studio.distributed import launcher_argv, parse_hostfile, torchrun_args

from .conftest import read_events
from .inprocess import copy_as_of, small_config, train_here


def test_two_processes_equal_one_process_with_the_same_global_batch(tmp_path):
    config = small_config(tmp_path, max_steps=5, save_strategy="steps", save_steps=3)
    single = tmp_path / "single"
    # One process, micro-batches of 4: the reference.
    assert train_here(config, single, "per_device_train_batch_size=4") == 0
    # Two gloo processes, micro-batches of 1 each, accumulated twice: the same 4 examples per step.
    double = tmp_path / "double"
    out = subprocess.run([sys.executable, "-m", "sft_studio", "train", str(config), "--output-dir", str(double),
                          "--set", "nproc_per_node=2", "--set", "per_device_train_batch_size=1",
                          "--set", "gradient_accumulation_steps=2"],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "--standalone --nproc_per_node=2 -m sft_studio train" in out.stdout

    events = read_events(double)
    assert [e["seq"] for e in events] == list(range(len(events)))  # rank 0 alone wrote the file
    assert [e["type"] for e in events].count("run_started") == 1 and events[0]["world_size"] == 2
    want = [e for e in read_events(single) if e["type"] == "train"]
    got = [e for e in events if e["type"] == "train"]
    assert [e["step"] for e in got] == [1, 2, 3, 4, 5]
    for a, b in zip(got, want):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-5, abs=0)
        assert a["grad_norm"] == pytest.approx(b["grad_norm"], rel=1e-5, abs=0)
        assert a["tokens"] == b["tokens"]
    w1 = load_file(single / "checkpoints" / "step-5" / "model.safetensors")
    w2 = load_file(double / "checkpoints" / "step-5" / "model.safetensors")
    # Adam divides by the gradient's own size, so an element whose gradient is ~0 moves by up to +-lr on a
    # float-noise sign: a handful of elements may differ by a fraction of one step (lr = 1e-3), the rest agree.
    diffs = torch.cat([(w1[k] - w2[k]).abs().flatten() for k in w1])
    assert float((diffs > 1e-6).float().mean()) < 1e-4
    assert float(diffs.max()) < 1e-4
    assert events[-1]["type"] == "run_finished" and events[-1]["status"] == "completed"

    # `train --resume` of a data parallel run relaunches torchrun itself and continues bit for bit.
    copy = tmp_path / "copy"
    cut = copy_as_of(double, 3, copy)
    out = subprocess.run([sys.executable, "-m", "sft_studio", "train", "--resume", str(copy)],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "--standalone --nproc_per_node=2 -m sft_studio train --resume" in out.stdout
    resumed = read_events(copy)[cut:]
    assert resumed[0]["type"] == "run_started" and resumed[0]["resumed_from"] == "checkpoints/step-3"
    after = {e["step"]: e["loss"] for e in resumed if e["type"] == "train"}
    assert list(after) == [4, 5]
    for e in got[3:]:
        assert after[e["step"]] == pytest.approx(e["loss"], rel=1e-6, abs=0)


def test_hostfile_becomes_torchrun_rendezvous_arguments(tmp_path):
    hostfile = tmp_path / "hostfile"
    hostfile.write_text("# two machines, four GPUs each\nworker-1 slots=4\n\nworker-2 slots=4  # second\n")
    hosts = parse_hostfile(str(hostfile))
    assert hosts == [("worker-1", 4), ("worker-2", 4)]
    assert torchrun_args(1, hosts, 29511, "demo") == [
        "--nnodes=2", "--nproc_per_node=4", "--rdzv_backend=c10d", "--rdzv_endpoint=worker-1:29511", "--rdzv_id=demo"]
    assert torchrun_args(2, None, 29500, "demo") == ["--standalone", "--nproc_per_node=2"]
    cfg = RunConfig(model_name_or_path="m", train_file="t.jsonl", run_name="demo", hostfile=str(hostfile))
    argv = launcher_argv(cfg, ["train", "c.sft.yaml", "--output-dir", "/runs/r"])
    assert argv == [sys.executable, "-m", "torch.distributed.run", "--nnodes=2", "--nproc_per_node=4",
                    "--rdzv_backend=c10d", "--rdzv_endpoint=worker-1:29500", "--rdzv_id=demo",
                    "-m", "sft_studio", "train", "c.sft.yaml", "--output-dir", "/runs/r"]


@pytest.mark.parametrize("text, expected", [
    ("worker-1 slots=4\n  worker-2 slots=four\n",
     [":2:3: expected `host slots=N` (N >= 1), got 'worker-2 slots=four'; write e.g. `worker-1 slots=8`"]),
    ("worker-1 slots=4\nworker-2 slots=2\n",
     [":1:1: every host must have the same slots (torchrun starts the same number of processes on each machine), got [2, 4]"]),
    ("# nobody\n", [":1:1: the hostfile lists no hosts; add one `host slots=N` line per machine"]),
])
def test_bad_hostfiles_are_reported_at_their_line(tmp_path, text, expected):
    hostfile = tmp_path / "hostfile"
    hostfile.write_text(text)
    with pytest.raises(ConfigError) as err:
        parse_hostfile(str(hostfile))
    assert [str(i) for i in err.value.issues] == [str(hostfile) + e for e in expected]

