"""AdamW without decay on biases and norm weights, and learning-rate schedules with warmup."""

from __future__ import annotations

import math

import torch

from ..config import RunConfig


def no_decay(name: str, param: torch.nn.Parameter) -> bool:
    """Biases and norm weights: vectors whose decay pulls the model towards zero scale for no benefit."""
    return param.ndim < 2 or name.endswith(".bias") or "norm" in name.lower()


def build_optimizer(model: torch.nn.Module, cfg: RunConfig, device: torch.device) -> torch.optim.Optimizer:
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    groups = [{"params": [p for n, p in named if not no_decay(n, p)], "weight_decay": cfg.weight_decay},
              {"params": [p for n, p in named if no_decay(n, p)], "weight_decay": 0.0}]
    # The fused kernel does the whole update in one pass (CUDA, and CPU since PyTorch 2.4); foreach elsewhere.
    fused = device.type in ("cuda", "cpu")
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=cfg.learning_rate,
                             betas=(cfg.adam_beta1, cfg.adam_beta2), eps=cfg.adam_epsilon,
                             fused=fused or None, foreach=None if fused else True)


def warmup_steps(cfg: RunConfig, total_steps: int) -> int:
    if cfg.lr_scheduler_type == "constant":
        return 0
    return cfg.warmup_steps if cfg.warmup_steps > 0 else math.ceil(cfg.warmup_ratio * total_steps)


def lr_factor(step: int, total_steps: int, warmup: int, kind: str, floor: float = 0.0) -> float:
    """Multiplier of the peak learning rate for the update that follows `step` completed steps.

    `floor` (min_lr_rate) is where linear and cosine decay end, as a fraction of the peak.
    """
    if warmup > 0 and step < warmup:
        return (step + 1) / (warmup + 1) if kind != "constant" else 1.0
    if kind in ("constant", "constant_with_warmup"):
        return 1.0
    progress = (step - warmup) / max(1, total_steps - warmup)
    if kind == "linear":
        decay = max(0.0, 1.0 - progress)
    else:
        decay = 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
    return floor + (1.0 - floor) * decay


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: RunConfig, total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    warmup = warmup_steps(cfg, total_steps)
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, total_steps, warmup, cfg.lr_scheduler_type, cfg.min_lr_rate))
