"""`estimate CONFIG`: the config's peak memory per device, and what full, frozen-layer and LoRA
fine-tuning would need at each precision, with and without gradient checkpointing.

Every figure is peak.py's replay of a training step on the config's own largest micro-batches
(the dry run's machinery: the data are tokenized, no weights are loaded). Where a CUDA device is
present, its free memory is compared with the config's peak and a warning names the knobs to turn.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..config import RunConfig
from .dry_run import device_type, estimate_for, meta_model, plan_batches
from .inputs import PARTS, MemoryEstimate

PRECISIONS = {
    "fp32": {"torch_dtype": "float32", "bf16": False, "fp16": False},
    "bf16 autocast": {"torch_dtype": "float32", "bf16": True, "fp16": False},
    "fp16 autocast": {"torch_dtype": "float32", "bf16": False, "fp16": True},
    "bf16 weights": {"torch_dtype": "bfloat16", "bf16": False, "fp16": False},
}
GIB = 1024 ** 3


def modes(cfg: RunConfig, layers: int) -> dict[str, dict[str, Any]]:
    """Full fine-tuning, the first layers and the embeddings frozen, and LoRA with the config's settings."""
    frozen = cfg.freeze_layers or max(1, layers // 2)
    return {
        "full": {"use_lora": False, "freeze_layers": 0, "freeze_embeddings": False},
        f"frozen (first {frozen} layers + embeddings)": {"use_lora": False, "freeze_layers": frozen,
                                                         "freeze_embeddings": True},
        f"LoRA r={cfg.lora_r}": {"use_lora": True, "freeze_layers": 0, "freeze_embeddings": False},
    }


def precision_of(cfg: RunConfig) -> str:
    if cfg.bf16:
        return "bf16 autocast"
    if cfg.fp16:
        return "fp16 autocast"
    return "fp32" if cfg.torch_dtype == "float32" else f"{cfg.torch_dtype} weights"


def mode_of(cfg: RunConfig) -> str:
    if cfg.use_lora:
        return f"LoRA r={cfg.lora_r}"
    if cfg.freeze_layers or cfg.freeze_embeddings:
        return "frozen (" + ", ".join(filter(None, [f"first {cfg.freeze_layers} layers" if cfg.freeze_layers else "",
                                                    "embeddings" if cfg.freeze_embeddings else ""])) + ")"
    return "full"


def cuda_memory() -> dict[str, Any] | None:
    """Name, free and total bytes of the current CUDA device, or None without one."""
    import torch

    if not torch.cuda.is_available():
        return None
    free, total = torch.cuda.mem_get_info()
    return {"name": torch.cuda.get_device_name(), "free_bytes": int(free), "total_bytes": int(total)}


def memory_report(cfg: RunConfig) -> dict[str, Any]:
    from ..data.dataset import load_splits
    from ..model.load import load_tokenizer

    splits = load_splits(cfg, load_tokenizer(cfg))
    plan = plan_batches(cfg, splits.train)
    device = device_type(cfg)
    models: dict[tuple, tuple[Any, Any]] = {}

    def estimate(variant: RunConfig) -> MemoryEstimate:
        key = (variant.use_lora, variant.freeze_layers, variant.freeze_embeddings)
        if key not in models:
            models[key] = meta_model(variant)
        model, model_config = models[key]
        return estimate_for(variant, model, model_config, plan.candidates, device)

    own = estimate(cfg)
    layers = models[(cfg.use_lora, cfg.freeze_layers, cfg.freeze_embeddings)][1].num_hidden_layers
    scenarios = []
    for mode, mode_fields in modes(cfg, layers).items():
        for precision, precision_fields in PRECISIONS.items():
            variant = dataclasses.replace(cfg, **mode_fields, **precision_fields, gradient_checkpointing=False)
            plain = estimate(variant)
            checkpointed = estimate(dataclasses.replace(variant, gradient_checkpointing=True))
            scenarios.append({"mode": mode, "precision": precision, "estimate": _parts(plain),
                              "with_gradient_checkpointing": _parts(checkpointed)})
    largest = max(plan.candidates, key=lambda m: m.tokens)
    report: dict[str, Any] = {
        "model": cfg.model_name_or_path, "mode": mode_of(cfg), "precision": precision_of(cfg),
        "gradient_checkpointing": cfg.gradient_checkpointing, "device_type": device,
        "per_device_train_batch_size": cfg.per_device_train_batch_size, "max_length": cfg.max_length,
        "largest_microbatch": dataclasses.asdict(largest),
        "estimated_peak_memory_bytes": own.total, "estimate": _parts(own), "scenarios": scenarios,
        "device": cuda_memory() if device == "cuda" else None,
    }
    report["warning"] = _warning(cfg, report)
    return report


def _parts(estimate: MemoryEstimate) -> dict[str, Any]:
    return {**estimate.to_dict(), "phase": estimate.phase}


def _warning(cfg: RunConfig, report: dict[str, Any]) -> str | None:
    device = report["device"]
    if not device or report["estimated_peak_memory_bytes"] <= device["free_bytes"]:
        return None
    peak, free = report["estimated_peak_memory_bytes"], device["free_bytes"]
    own = next((s for s in report["scenarios"] if s["mode"] == report["mode"] and s["precision"] == report["precision"]),
               None)
    knobs = [f"lower per_device_train_batch_size (now {cfg.per_device_train_batch_size}; raise "
             f"gradient_accumulation_steps to keep the effective batch)",
             f"lower max_length (now {cfg.max_length})"]
    if not cfg.gradient_checkpointing:
        after = f" (peak {own['with_gradient_checkpointing']['total'] / GIB:.2f} GiB)" if own else ""
        knobs.append(f"set gradient_checkpointing: true{after}")
    if not cfg.use_lora:
        lora = next((s for s in report["scenarios"] if s["mode"].startswith("LoRA")
                     and s["precision"] == report["precision"]), None)
        knobs.append("set use_lora: true" + (f" (peak {lora['estimate']['total'] / GIB:.2f} GiB)" if lora else ""))
    if not (cfg.bf16 or cfg.fp16) and cfg.torch_dtype == "float32":
        bf16 = next((s for s in report["scenarios"] if s["mode"] == report["mode"]
                     and s["precision"] == "bf16 autocast"), None)
        knobs.append("set bf16: true" + (f" (peak {bf16['estimate']['total'] / GIB:.2f} GiB)" if bf16 else ""))
    return (f"the estimated peak {peak / GIB:.2f} GiB exceeds the {free / GIB:.2f} GiB free on {device['name']}; "
            + "; ".join(knobs))


def describe(report: dict[str, Any]) -> list[str]:
    """The report as lines for a terminal (GiB, or MiB when every figure is below 1 GiB)."""
    mb = report["largest_microbatch"]
    own = report["estimate"]
    largest = max([own["total"]] + [s["estimate"]["total"] for s in report["scenarios"]])
    unit, scale = ("GiB", GIB) if largest >= GIB else ("MiB", 1024 ** 2)

    def size(nbytes: int) -> str:
        return f"{nbytes / scale:.3f}" if unit == "GiB" else f"{nbytes / scale:.1f}"

    lines = [
        "peak memory per device (live tensor bytes; a CUDA process adds its context and allocator slack)",
        f"model                 {report['model']}",
        f"largest micro-batch   {mb['tokens']:,} token slots in {mb['rows']:,} row(s), {mb['targets']:,} loss targets",
        f"this config           {report['mode']}, {report['precision']}"
        f"{', gradient checkpointing' if report['gradient_checkpointing'] else ''}: "
        f"{size(own['total'])} {unit} at {own['phase']}",
        "                      " + ", ".join(f"{p} {size(own[p])}" for p in PARTS),
    ]
    if report["device"]:
        d = report["device"]
        lines.append(f"device                {d['name']}: {d['free_bytes'] / GIB:.2f} GiB free of "
                     f"{d['total_bytes'] / GIB:.2f} GiB")
    else:
        lines.append(f"device                {report['device_type']} (free memory is checked on CUDA devices only)")
    lines += ["", f"{unit} at the peak; activations and the peak also with gradient checkpointing (gc)", ""]
    header = ["mode", "precision", "weights", "gradients", "optimizer", "activations", "act. (gc)", "logits",
              "buffers", "peak", "peak (gc)"]
    rows = [header]
    for s in report["scenarios"]:
        e, g = s["estimate"], s["with_gradient_checkpointing"]
        rows.append([s["mode"], s["precision"],
                     *(size(e[p]) for p in ("weights", "gradients", "optimizer", "activations")),
                     size(g["activations"]), size(e["logits"]), size(e["buffers"]), size(e["total"]), size(g["total"])])
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for r in rows:
        lines.append("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    if report["warning"]:
        lines += ["", f"warning: {report['warning']}"]
    return lines
