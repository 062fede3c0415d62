"""AdamW parameter groups and the learning-rate schedules, checked value by value."""

from __future__ import annotations

import math

import pytest
import torch

from sft_studio.config import RunConfig
from sft_studio.train.optim import build_optimizer, build_scheduler, lr_factor, no_decay


def cfg(**fields) -> RunConfig:
    return RunConfig(model_name_or_path="m", train_file="t.jsonl", **fields)


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(4, 4)
        self.norm = torch.nn.LayerNorm(4)
        self.rms_norm_weight_2d = torch.nn.Parameter(torch.ones(1, 4))  # a norm weight stored as a matrix
        self.frozen = torch.nn.Linear(4, 4)
        self.frozen.requires_grad_(False)


def test_decay_only_on_weight_matrices():
    model = Block()
    opt = build_optimizer(model, cfg(weight_decay=0.1), torch.device("cpu"))
    decayed, plain = opt.param_groups
    names = {id(p): n for n, p in model.named_parameters()}
    assert decayed["weight_decay"] == 0.1 and [names[id(p)] for p in decayed["params"]] == ["proj.weight"]
    assert plain["weight_decay"] == 0.0
    assert sorted(names[id(p)] for p in plain["params"]) == ["norm.bias", "norm.weight", "proj.bias",
                                                            "rms_norm_weight_2d"]
    assert opt.defaults["fused"] is True  # CPU has the fused AdamW kernel since PyTorch 2.4


def test_no_decay_on_the_tiny_llama(tokenizer):
    from transformers import AutoModelForCausalLM

    from .conftest import MODEL

    model = AutoModelForCausalLM.from_pretrained(MODEL, local_files_only=True)
    vectors = [n for n, p in model.named_parameters() if no_decay(n, p)]
    assert vectors and all(n.endswith("norm.weight") for n in vectors)
    assert not no_decay("model.layers.0.self_attn.q_proj.weight", model.model.layers[0].self_attn.q_proj.weight)


def lrs(kind: str, total: int, **fields) -> list[float]:
    param = torch.nn.Parameter(torch.zeros(2, 2))
    config = cfg(lr_scheduler_type=kind, learning_rate=1.0, **fields)
    opt = build_optimizer(torch.nn.ParameterList([param]), config, torch.device("cpu"))
    sched = build_scheduler(opt, config, total)
    out = []
    for _ in range(total):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_linear_with_warmup_steps():
    got = lrs("linear", 10, warmup_steps=2)
    assert got[:2] == pytest.approx([1 / 3, 2 / 3])
    assert got[2] == pytest.approx(1.0)
    assert got[2:] == pytest.approx([1 - i / 8 for i in range(8)])


def test_cosine_with_min_lr_rate_and_warmup_ratio():
    got = lrs("cosine", 20, warmup_ratio=0.1, min_lr_rate=0.1)
    assert got[:2] == pytest.approx([1 / 3, 2 / 3])  # ceil(0.1 * 20) = 2 warmup steps
    for i, value in enumerate(got[2:]):
        progress = i / 18
        assert value == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))
    assert lr_factor(20, 20, 2, "cosine", 0.1) == pytest.approx(0.1)  # ends at the floor, not at zero
    assert lr_factor(20, 20, 2, "linear", 0.25) == pytest.approx(0.25)


def test_constant_kinds():
    assert lrs("constant", 5, warmup_steps=3) == pytest.approx([1.0] * 5)  # constant ignores warmup
    assert lrs("constant_with_warmup", 6, warmup_steps=2) == pytest.approx([1 / 3, 2 / 3, 1, 1, 1, 1])
