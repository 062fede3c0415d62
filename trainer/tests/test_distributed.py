"""Data parallel and FSDP2 under torchrun equal one process with the same global batch; the hostfile
launcher's argv; the config errors of fsdp."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from sft_studio.config import ConfigError, RunConfig
from sft_studio.train.checkpoint import load_trainer_state
from sft_studio.train.distributed import launcher_argv, parse_hostfile, torchrun_args

from .conftest import DATA, read_events, write_config
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


def relative_difference(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> tuple[float, float]:
    """||a - b|| / ||a|| over all tensors together, and the largest of it per tensor."""
    assert sorted(a) == sorted(b)
    whole = math.sqrt(sum(float((a[k] - b[k]).double().pow(2).sum()) for k in a)) \
        / math.sqrt(sum(float(a[k].double().pow(2).sum()) for k in a))
    worst = max(float((a[k] - b[k]).double().norm() / a[k].double().norm().clamp_min(1e-30)) for k in a)
    return whole, worst


def test_fsdp_two_processes_equal_one_process_and_resume_continues_identically(tmp_path):
    """FSDP2 (full_shard, gloo) on 2 processes against 1 process with the same global batch of 4.

    7 training rows make every second step end on a micro-batch of one example, so one rank's share is
    empty and it runs its stand-in example with weight 0; evaluation and greedy generations run on both
    ranks with gathered layers; the checkpoint at step 3 is the gathered model and optimizer."""
    train = tmp_path / "train7.jsonl"
    train.write_text("".join((DATA / "instruct_train.jsonl").read_text().splitlines(keepends=True)[:7]))
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join((DATA / "instruct_eval.jsonl").read_text().splitlines(keepends=True)[:3]))
    config = small_config(tmp_path, train_file=str(train), max_steps=5, save_strategy="steps", save_steps=3,
                          eval_strategy="steps", eval_steps=5, generation_prompts_file=str(prompts),
                          generation_max_new_tokens=6, learning_rate=3e-4)
    single = tmp_path / "single"
    assert train_here(config, single, "per_device_train_batch_size=4") == 0
    sharded = tmp_path / "fsdp"
    out = subprocess.run([sys.executable, "-m", "sft_studio", "train", str(config), "--output-dir", str(sharded),
                          "--set", "nproc_per_node=2", "--set", "fsdp=full_shard", "--set", "per_device_train_batch_size=1",
                          "--set", "gradient_accumulation_steps=2"],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr

    events = read_events(sharded)
    assert [e["seq"] for e in events] == list(range(len(events)))  # rank 0 alone wrote the file
    assert events[0]["world_size"] == 2 and events[0]["config"]["fsdp"] == "full_shard"
    want, got = read_events(single), events
    for kind in ("train", "eval"):
        a = [e for e in want if e["type"] == kind]
        b = [e for e in got if e["type"] == kind]
        assert [e["step"] for e in b] == ([1, 2, 3, 4, 5] if kind == "train" else [0, 5])
        for x, y in zip(a, b):
            assert y["loss"] == pytest.approx(x["loss"], rel=1e-5, abs=0)
            if kind == "train":
                assert y["grad_norm"] == pytest.approx(x["grad_norm"], rel=1e-5, abs=0)
                assert y["tokens"] == x["tokens"]

    def completions(evs: list[dict]) -> list[tuple]:
        return [(e["step"], e["prompt_id"], e["completion"]) for e in evs if e["type"] == "generation"]

    assert len(completions(got)) == 6 and completions(got) == completions(want)

    # The checkpoint has the unsharded layout: the same weight names (tied head saved once) and the same
    # optimizer state with full tensors under the same integer keys.
    def step5(run: Path) -> Path:
        return run / "checkpoints" / "step-5"

    whole, worst = relative_difference(load_file(step5(single) / "model.safetensors"),
                                       load_file(step5(sharded) / "model.safetensors"))
    assert whole <= 1e-5 and worst <= 1e-5, (whole, worst)
    assert sorted(p.name for p in step5(sharded).iterdir()) == sorted(p.name for p in step5(single).iterdir())
    opt_a = load_trainer_state(step5(single))["optimizer"]
    opt_b = load_trainer_state(step5(sharded))["optimizer"]
    assert opt_b["param_groups"] == opt_a["param_groups"]
    for index, entry in opt_a["state"].items():
        assert {k: v.shape for k, v in opt_b["state"][index].items()} == {k: v.shape for k, v in entry.items()}
    assert events[-1]["type"] == "run_finished" and events[-1]["status"] == "completed"

    # `train --resume` relaunches torchrun with fsdp, reshards the step-3 checkpoint and continues bit for bit.
    copy = tmp_path / "copy"
    cut = copy_as_of(sharded, 3, copy)
    out = subprocess.run([sys.executable, "-m", "sft_studio", "train", "--resume", str(copy)],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    resumed = read_events(copy)[cut:]
    assert resumed[0]["type"] == "run_started" and resumed[0]["resumed_from"] == "checkpoints/step-3"
    after = [(e["step"], e["loss"], e["grad_norm"]) for e in resumed if e["type"] == "train"]
    assert after == [(e["step"], e["loss"], e["grad_norm"]) for e in got if e["type"] == "train"][3:]
    w1, w2 = load_file(step5(sharded) / "model.safetensors"), load_file(step5(copy) / "model.safetensors")
    assert all(torch.equal(w1[k], w2[k]) for k in w1)
    assert completions(resumed) == [c for c in completions(got) if c[0] == 5]


@pytest.mark.parametrize("extra, expected", [
    ({}, "`fsdp: full_shard` shards the model over several processes; set `nproc_per_node: 2` or more "
         "(or a `hostfile`), or remove `fsdp` to train in one process"),
    ({"nproc_per_node": 2, "use_lora": True},
     "`fsdp` cannot shard a LoRA model; LoRA trains few parameters, so use data parallel (`fsdp: no` with "
     "nproc_per_node > 1), or train the full model with `fsdp` (`use_lora: false`)"),
    ({"nproc_per_node": 2, "fp16": True},
     "`fp16`'s gradient scaler cannot see the other processes' gradient shards; use `bf16: true` with `fsdp` "
     "(no scaler needed), or `fsdp: no`"),
    ({"nproc_per_node": 2, "torch_compile": True},
     "`torch_compile` is not supported with `fsdp`; set `torch_compile: false` or `fsdp: no`"),
])
def test_fsdp_config_errors_say_what_to_do(tmp_path, extra, expected):
    from sft_studio.config import load_config

    config = write_config(tmp_path, fsdp="full_shard", **extra)
    with pytest.raises(ConfigError) as err:
        load_config(config)
    assert [i.message for i in err.value.issues] == [expected]
    assert err.value.issues[0].line == 4  # the `fsdp` line
    plain = write_config(tmp_path)
    plain.write_text(plain.read_text() + "fsdp: no\n")
    assert load_config(plain)[0].fsdp == "no"  # a bare YAML `no` is the string, as for eval_strategy


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

