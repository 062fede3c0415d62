"""`train CONFIG --dry-run`: what a run would see and need, without training or loading weights.

The dataset numbers follow the counting rules in data/dataset.py (training split after subsample, before
packing); `train_sources` says what each training file contributed. The model is built on the meta device from its config, then frozen / wrapped with LoRA as
the run would do, so the trainable-parameter count is the run's own. The memory estimate replays a
step of the run's largest micro-batches (peak.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from ..config import RunConfig
from ..data.classify import auto_model_class
from ..data.dataset import IGNORE_INDEX, load_splits
from ..data.packing import pack_for_training
from ..model import lora
from ..model.load import count_parameters, freeze, load_tokenizer
from ..train.batching import epoch_microbatches, layout_efficiency
from .inputs import MemoryEstimate, MicroBatch, Parameters, Shape, Training
from .peak import estimate_memory


def meta_model(cfg: RunConfig) -> tuple[Any, Any]:
    """The run's model on the meta device (no weights), frozen and LoRA-wrapped as the run would have it."""
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


def device_type(cfg: RunConfig) -> str:
    return "cuda" if cfg.device == "cuda" or (cfg.device == "auto" and torch.cuda.is_available()) else "cpu"


def _targets(unit: Any) -> int:
    """Positions that carry a label after the causal shift, counted per example as the collate functions do."""
    labels = getattr(unit, "labels", None)
    if not isinstance(labels, list):
        return 1  # classification: one target per example
    count, start = 0, 0
    for length in unit.segment_lengths():
        shifted = labels[start + 1:start + length]
        count += len(shifted) - shifted.count(IGNORE_INDEX)
        start += length
    return count


def microbatch_shape(units: list[Any], cfg: RunConfig) -> MicroBatch:
    """The layout `collate` gives these examples: padded rows, or one padding-free row."""
    causal = cfg.task == "causal_lm"
    lengths = [len(u.input_ids) for u in units]
    free = causal and (cfg.padding_free or any(len(getattr(u, "segments", [])) > 1 for u in units))
    varlen = cfg.varlen_attention and cfg.attn_implementation == "sdpa"
    if free:
        segments = sum(len(u.segment_lengths()) for u in units)
        return MicroBatch(tokens=sum(lengths), rows=1, targets=sum(_targets(u) for u in units), padding_free=True,
                          segments=segments, masked=segments > 1 and not varlen)
    return MicroBatch(tokens=len(units) * max(lengths), rows=len(units), targets=sum(_targets(u) for u in units),
                      masked=len(set(lengths)) > 1)


@dataclass
class BatchPlan:
    """The micro-batches of one epoch as the run would cut them, and the ones that bound its memory."""

    units: list[Any]
    microbatches: list[list[int]]
    candidates: list[MicroBatch]
    """The largest micro-batch on one device by token slots, by loss targets and by attention-mask size."""
    largest_tokens: int
    steps_per_epoch: int


def plan_batches(cfg: RunConfig, train_units: list[Any]) -> BatchPlan:
    units = pack_for_training(train_units, cfg)
    world_size = cfg.nproc_per_node * cfg.nnodes
    microbatches = epoch_microbatches(units, cfg.per_device_train_batch_size * world_size, cfg, 0)
    size = cfg.per_device_train_batch_size
    shapes = [microbatch_shape([units[i] for i in mb[j:j + size]], cfg)
              for mb in microbatches for j in range(0, len(mb), size)]
    keys = (lambda m: m.tokens, lambda m: m.targets, lambda m: m.rows * (m.tokens // m.rows) ** 2 * m.masked)
    candidates = list({id(c): c for c in (max(shapes, key=k) for k in keys)}.values())
    steps_per_epoch = max(1, math.ceil(len(microbatches) / cfg.gradient_accumulation_steps))
    return BatchPlan(units, microbatches, candidates, max(m.tokens for m in shapes), steps_per_epoch)


def estimate_for(cfg: RunConfig, model: Any, model_config: Any, candidates: list[MicroBatch],
                 device: str) -> MemoryEstimate:
    """The largest peak over the candidate micro-batches."""
    shape = Shape.from_config(model_config)
    run = Training.from_config(cfg, device)
    params = Parameters.from_model(model, shape, run.param_bytes)
    return max((estimate_memory(shape, params, run, batch) for batch in candidates), key=lambda e: e.total)


def dry_run(cfg: RunConfig) -> dict[str, Any]:
    tokenizer = load_tokenizer(cfg)
    splits = load_splits(cfg, tokenizer)
    stats = splits.train_stats
    plan = plan_batches(cfg, splits.train)
    world_size = cfg.nproc_per_node * cfg.nnodes
    padding_free = cfg.padding_free and cfg.task == "causal_lm"
    total_steps = cfg.max_steps if cfg.max_steps > 0 else math.ceil(cfg.num_train_epochs * plan.steps_per_epoch)
    model, model_config = meta_model(cfg)
    total, trainable = count_parameters(model)
    memory = estimate_for(cfg, model, model_config, plan.candidates, device_type(cfg))
    return {
        "examples": stats.examples,
        "tokens": stats.tokens,
        "truncated_examples": stats.truncated_examples,
        "truncated_percent": 100.0 * stats.truncated_examples / max(1, stats.examples),
        "trained_tokens": stats.trained_tokens,
        "dropped_examples": stats.dropped_examples,
        "first_dropped": stats.first_dropped,
        "validation_examples": len(splits.validation),
        "train_sources": splits.by_source(),
        "train_rows": len(plan.units),
        "packing_efficiency": layout_efficiency(plan.units, plan.microbatches, padding_free, cfg.max_length),
        "num_parameters": total,
        "trainable_parameters": trainable,
        "world_size": world_size,
        "steps_per_epoch": plan.steps_per_epoch,
        "total_steps": total_steps,
        "largest_microbatch_tokens": plan.largest_tokens,
        "estimated_peak_memory_bytes": memory.total,
        "estimated_memory": memory.to_dict(),
        "estimated_memory_peak_phase": memory.phase,
    }


def describe(report: dict[str, Any]) -> list[str]:
    """The report as lines for a terminal."""
    gib = 1024 ** 3
    mem = report["estimated_memory"]
    sources = report.get("train_sources", [])
    mix = [f"  from {s['path']}: {s['examples']:,} (weight {s['weight']:g}, {s['rows']:,} rows read)"
           for s in sources] if len(sources) > 1 else []
    return [
        f"training examples     {report['examples']:,} ({report['validation_examples']:,} for validation)",
        *mix,
        f"tokens                {report['tokens']:,} ({report['trained_tokens']:,} trained)",
        f"truncated             {report['truncated_examples']:,} ({report['truncated_percent']:.1f}%)",
        f"dropped (overlong)    {report['dropped_examples']:,}"
        + (f" (first: {report['first_dropped']})" if report["first_dropped"] else ""),
        f"rows / efficiency     {report['train_rows']:,} rows, {100 * report['packing_efficiency']:.1f}% of token slots used",
        f"parameters            {report['trainable_parameters']:,} of {report['num_parameters']:,} trainable",
        f"steps                 {report['steps_per_epoch']:,} per epoch, {report['total_steps']:,} in total "
        f"(world size {report['world_size']})",
        f"peak memory (est.)    {report['estimated_peak_memory_bytes'] / gib:.3f} GiB per device at "
        f"{report['estimated_memory_peak_phase']}: weights {mem['weights'] / gib:.3f}, gradients "
        f"{mem['gradients'] / gib:.3f}, optimizer {mem['optimizer'] / gib:.3f}, activations "
        f"{mem['activations'] / gib:.3f}, logits {mem['logits'] / gib:.3f}, buffers {mem['buffers'] / gib:.3f}",
    ]
