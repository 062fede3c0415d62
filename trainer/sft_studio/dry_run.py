"""`train CONFIG --dry-run`: what a run would see and need, without training or loading weights.

The dataset numbers follow the counting rules in data.py (training split after subsample, before
packing). The model is built on the meta device from its config, then frozen / wrapped with LoRA as
the run would do, so the trainable-parameter count is the run's own.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from . import lora
from .batching import epoch_microbatches, layout_efficiency
from .classify import auto_model_class
from .config import RunConfig
from .data import load_splits
from .estimate import estimate_memory
from .model import count_parameters, freeze, load_tokenizer
from .packing import pack_for_training


def _meta_model(cfg: RunConfig) -> tuple[Any, Any]:
    from transformers import AutoConfig

    auto_class, task_kwargs = auto_model_class(cfg)
    extra = {"trust_remote_code": True} if cfg.trust_remote_code else {}
    model_config = AutoConfig.from_pretrained(cfg.model_name_or_path, local_files_only=True, **task_kwargs, **extra)
    with torch.device("meta"):
        model = auto_class.from_config(model_config, **extra)
    if cfg.use_lora:
        model = lora.attach_adapter(model, cfg, None)
    freeze(model, cfg)
    return model, model_config


def dry_run(cfg: RunConfig) -> dict[str, Any]:
    tokenizer = load_tokenizer(cfg)
    splits = load_splits(cfg, tokenizer)
    stats = splits.train_stats
    units = pack_for_training(splits.train, cfg)
    world_size = cfg.nproc_per_node * cfg.nnodes
    microbatches = epoch_microbatches(units, cfg.per_device_train_batch_size * world_size, cfg, 0)
    padding_free = cfg.padding_free and cfg.task == "causal_lm"
    # The largest micro-batch one device holds: its token slots, padding included, bound the activations.
    per_device = [mb[i:i + cfg.per_device_train_batch_size]
                  for mb in microbatches for i in range(0, len(mb), cfg.per_device_train_batch_size)]
    largest = max(sum(len(units[i].input_ids) for i in mb) if padding_free or cfg.packing
                  else len(mb) * max(len(units[i].input_ids) for i in mb) for mb in per_device)
    steps_per_epoch = max(1, math.ceil(len(microbatches) / cfg.gradient_accumulation_steps))
    total_steps = cfg.max_steps if cfg.max_steps > 0 else math.ceil(cfg.num_train_epochs * steps_per_epoch)
    model, model_config = _meta_model(cfg)
    total, trainable = count_parameters(model)
    memory = estimate_memory(model_config, cfg, total, trainable, largest)
    return {
        "examples": stats.examples,
        "tokens": stats.tokens,
        "truncated_examples": stats.truncated_examples,
        "truncated_percent": 100.0 * stats.truncated_examples / max(1, stats.examples),
        "trained_tokens": stats.trained_tokens,
        "validation_examples": len(splits.validation),
        "train_rows": len(units),
        "packing_efficiency": layout_efficiency(units, microbatches, padding_free, cfg.max_length),
        "num_parameters": total,
        "trainable_parameters": trainable,
        "world_size": world_size,
        "steps_per_epoch": steps_per_epoch,
        "total_steps": total_steps,
        "largest_microbatch_tokens": largest,
        "estimated_peak_memory_bytes": memory.total,
        "estimated_memory": memory.to_dict(),
    }


def describe(report: dict[str, Any]) -> list[str]:
    """The report as lines for a terminal."""
    gib = 1024 ** 3
    mem = report["estimated_memory"]
    return [
        f"training examples     {report['examples']:,} ({report['validation_examples']:,} for validation)",
        f"tokens                {report['tokens']:,} ({report['trained_tokens']:,} trained)",
        f"truncated             {report['truncated_examples']:,} ({report['truncated_percent']:.1f}%)",
        f"rows / efficiency     {report['train_rows']:,} rows, {100 * report['packing_efficiency']:.1f}% of token slots used",
        f"parameters            {report['trainable_parameters']:,} of {report['num_parameters']:,} trainable",
        f"steps                 {report['steps_per_epoch']:,} per epoch, {report['total_steps']:,} in total "
        f"(world size {report['world_size']})",
        f"peak memory (est.)    {report['estimated_peak_memory_bytes'] / gib:.3f} GiB per device: weights "
        f"{mem['weights'] / gib:.3f}, gradients {mem['gradients'] / gib:.3f}, optimizer {mem['optimizer'] / gib:.3f}, "
        f"activations {mem['activations'] / gib:.3f}, logits {mem['logits'] / gib:.3f}",
    ]
