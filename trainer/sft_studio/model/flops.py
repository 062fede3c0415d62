"""Model FLOPs of training steps, the FLOP rate they reach, and model FLOPs utilisation (MFU).

PaLM's convention (Chowdhery et al. 2022, appendix B): training costs 6N FLOPs per token for the
matmuls with the weights (2N forward, 4N backward) plus 12 * layers * heads * head_dim * T per token
for attention's two matmuls (QK^T and AV) over a sequence of T tokens, forward and backward, without
halving for the causal mask. Summed over a sequence that is 12 * layers * width * T^2, so a step costs

    6 * N * tokens + 12 * layers * width * sum(T_i^2)

where the T_i are the lengths of the sequences that attend only within themselves: each example of a
padded batch (its real length, not the padded width), each packed or padding-free example (its own
segment), or a whole block under wrapped packing (its examples attend across each other).

N counts the parameters that multiply activations: every parameter except the input embedding table,
which is a lookup. A tied output head shares that table and is counted once, as the head. Following
the convention, N is the whole model even when only LoRA adapters or some layers train (frozen weights
still cost their forward and input-gradient matmuls; only the weight-gradient matmul, a third, is
skipped), so MFU compares runs of one model whatever they train. Recomputation under gradient
checkpointing is not counted either: MFU measures useful work, not the hardware's.

Achieved FLOP/s is the model FLOPs of the steps since the previous train event (all ranks) over the
wall time between the two events; MFU divides it by the devices' peak for the matmul dtype, from the
dense (no sparsity) figures of NVIDIA's datasheets below, matched on torch.cuda.get_device_name().
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

# (pattern on the lower-cased device name, label, dense peak FLOP/s per dtype). The first match wins,
# so more specific names come first (GH200 before H200, A100 and A10G before A10, L40S and L40 before L4).
DEVICE_PEAKS: tuple[tuple[str, str, dict[str, float]], ...] = (
    (r"h100.*nvl", "H100 NVL", {"bf16": 835e12, "fp16": 835e12, "tf32": 417.5e12, "fp32": 60e12}),
    (r"h100.*pcie", "H100 PCIe", {"bf16": 756e12, "fp16": 756e12, "tf32": 378e12, "fp32": 51.2e12}),
    (r"h200.*nvl", "H200 NVL", {"bf16": 835e12, "fp16": 835e12, "tf32": 417.5e12, "fp32": 60e12}),
    (r"gh200", "GH200", {"bf16": 989.4e12, "fp16": 989.4e12, "tf32": 494.7e12, "fp32": 66.9e12}),
    (r"h200", "H200 SXM", {"bf16": 989.4e12, "fp16": 989.4e12, "tf32": 494.7e12, "fp32": 66.9e12}),
    (r"h100", "H100 SXM", {"bf16": 989.4e12, "fp16": 989.4e12, "tf32": 494.7e12, "fp32": 66.9e12}),
    (r"a100", "A100", {"bf16": 312e12, "fp16": 312e12, "tf32": 156e12, "fp32": 19.5e12}),
    # AWS's A10G trades tensor throughput for CUDA-core throughput against the A10.
    (r"\ba10g\b", "A10G", {"bf16": 70e12, "fp16": 70e12, "tf32": 35e12, "fp32": 35e12}),
    (r"\ba10\b", "A10", {"bf16": 125e12, "fp16": 125e12, "tf32": 62.5e12, "fp32": 31.2e12}),
    (r"\bl40s\b", "L40S", {"bf16": 362e12, "fp16": 362e12, "tf32": 183e12, "fp32": 91.6e12}),
    (r"\bl40\b", "L40", {"bf16": 181e12, "fp16": 181e12, "tf32": 90.5e12, "fp32": 90.5e12}),
    (r"\bl4\b", "L4", {"bf16": 121e12, "fp16": 121e12, "tf32": 60e12, "fp32": 30.3e12}),
    (r"\ba40\b", "A40", {"bf16": 149.7e12, "fp16": 149.7e12, "tf32": 74.8e12, "fp32": 37.4e12}),
    (r"rtx a6000", "RTX A6000", {"bf16": 154.8e12, "fp16": 154.8e12, "tf32": 77.4e12, "fp32": 38.7e12}),
    # GeForce cards: tensor throughput with float32 accumulation, which is what PyTorch's matmuls use.
    (r"rtx 4090", "RTX 4090", {"bf16": 165.2e12, "fp16": 165.2e12, "tf32": 82.6e12, "fp32": 82.6e12}),
    (r"rtx 3090", "RTX 3090", {"bf16": 71e12, "fp16": 71e12, "tf32": 35.6e12, "fp32": 35.6e12}),
    (r"v100", "V100", {"fp16": 125e12, "fp32": 15.7e12}),
    (r"\bt4\b", "T4", {"fp16": 65e12, "fp32": 8.1e12}),
)


def device_peak(name: str, dtype: str) -> tuple[str, float] | None:
    """(label, dense peak FLOP/s) of a CUDA device for matmuls in `dtype` (bf16, fp16, tf32, fp32).

    None for devices not in the table, and for a dtype the device has no tensor-core rate for
    (bf16 on V100 or T4 runs emulated, so a utilisation figure would mislead)."""
    lowered = name.lower()
    for pattern, label, peaks in DEVICE_PEAKS:
        if re.search(pattern, lowered):
            peak = peaks.get(dtype, peaks["fp32"] if dtype == "tf32" else None)
            return (label, peak) if peak else None
    return None


def matmul_dtype(cfg: Any, tf32_allowed: bool) -> str:
    """The dtype the step's matmuls run in: autocast's, else the weights', with TF32 for float32 when allowed."""
    if getattr(cfg, "bf16", False) or cfg.torch_dtype == "bfloat16":
        return "bf16"
    if getattr(cfg, "fp16", False) or cfg.torch_dtype == "float16":
        return "fp16"
    return "tf32" if tf32_allowed else "fp32"


@dataclass(frozen=True)
class FlopModel:
    matmul_params: int
    """N: every parameter except the input embedding table (a tied head counts once, as the head)."""
    layers: int
    attention_width: int
    """heads * head_dim (the hidden size for most models)."""

    @classmethod
    def from_model(cls, model: Any) -> "FlopModel":
        embedding = model.get_input_embeddings().weight
        head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
        tied = head is not None and getattr(head, "weight", None) is embedding
        seen: set[int] = set()
        total = 0
        for p in model.parameters():
            if id(p) not in seen:
                seen.add(id(p))
                total += p.numel()
        config = model.config
        heads = config.num_attention_heads
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
        return cls(matmul_params=total if tied else total - embedding.numel(),
                   layers=config.num_hidden_layers, attention_width=heads * head_dim)

    def flops(self, tokens: int, squared_lengths: int) -> float:
        """Model FLOPs (forward and backward) of `tokens` tokens in sequences with sum(T_i^2) = squared_lengths."""
        return 6.0 * self.matmul_params * tokens + 12.0 * self.layers * self.attention_width * squared_lengths


def sequence_lengths(units: Iterable[Any]) -> Iterable[int]:
    """Lengths of the sequences that attend within themselves: packed examples' segments, else whole rows."""
    for unit in units:
        lengths = unit.segment_lengths() if hasattr(unit, "segment_lengths") else [len(unit.input_ids)]
        yield from lengths


class FlopMeter:
    """Model FLOPs of the optimizer steps since the last report, from the batches' host-side lengths (no
    device synchronisation): `add_step` after each step, `take` when a train event is written."""

    def __init__(self, model: FlopModel, peak_per_device: float | None, world_size: int = 1):
        self.model = model
        self.peak = peak_per_device
        self.world_size = world_size
        self.pending = 0.0

    @classmethod
    def for_run(cls, model: Any, cfg: Any, device: Any, world_size: int) -> "FlopMeter":
        import torch

        peak = None
        if device.type == "cuda":
            dtype = matmul_dtype(cfg, torch.backends.cuda.matmul.allow_tf32)
            found = device_peak(torch.cuda.get_device_name(device), dtype)
            peak = found[1] if found else None
        return cls(FlopModel.from_model(model), peak, world_size)

    def add_step(self, units: Iterable[Any]) -> None:
        """One optimizer step over these examples (every rank's, so the count covers the whole run)."""
        tokens = squares = 0
        for length in sequence_lengths(units):
            tokens += length
            squares += length * length
        self.pending += self.model.flops(tokens, squares)

    def take(self, elapsed_s: float) -> dict[str, float]:
        """`flops_per_s` since the last call, and `mfu` where the device's peak is known."""
        rate = self.pending / max(elapsed_s, 1e-9)
        self.pending = 0.0
        out = {"flops_per_s": rate}
        if self.peak:
            out["mfu"] = rate / (self.peak * self.world_size)
        return out
