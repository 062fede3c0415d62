"""Attention for padding-free rows that costs sum(len_i^2), not (sum len_i)^2.

With SDPA, transformers turns a padding-free row into one dense block-causal mask over the whole row,
so attention computes (and masks away) every cross-example score, and PyTorch's CPU and GPU kernels
fall back to the masked paths. Here each example of the row gets its own causal SDPA call, so no
mask is built, no cross-example score is computed, and each call can take the fast `is_causal` path.

Registered under ATTENTION_NAME; anything that is not a padding-free training row (padded batches,
generation with a KV cache) is handed to the stock SDPA function with the 4D mask it expects.

On CUDA the per-example calls are kept off cuDNN's attention: it plans an execution graph per new shape,
and with every example a new length that planning ran on the CPU for each call (1.8 ms per call on an
H200: 4,608 calls took 8.3 s of a 26 s profile, bench/results/cuda-2026-12-04.json, section profile).
The flash and memory-efficient kernels take any length without planning.

The examples' lengths are read from the GPU once per forward, not once per layer: each read waits for the
GPU to catch up (the second H200 profile: either fast path alone still halves the step's speed).
"""

from __future__ import annotations

import weakref
from contextlib import nullcontext
from typing import Any, ContextManager

import torch
import torch.nn.functional as F

ATTENTION_NAME = "sft_varlen_sdpa"


# The last position_ids seen (a weak reference, its in-place version) and their lengths: every layer of one
# forward gets the same tensor object, and reading it on the host waits for the GPU.
_last_lengths: tuple[weakref.ref, int, list[int] | None] | None = None


def segment_lengths(position_ids: torch.Tensor) -> list[int] | None:
    """Lengths of the examples in a single padding-free row (positions restart at 0), or None if not one."""
    global _last_lengths
    if position_ids.dim() != 2 or position_ids.size(0) != 1:
        return None
    compiling = torch.compiler.is_compiling()  # no module state inside a compiled graph
    if not compiling and _last_lengths is not None and _last_lengths[0]() is position_ids \
            and _last_lengths[1] == position_ids._version:
        return _last_lengths[2]
    starts = (position_ids[0] == 0).nonzero().flatten().tolist()
    if not starts or starts[0] != 0:
        lengths = None
    else:
        bounds = starts + [position_ids.size(1)]
        lengths = [b - a for a, b in zip(bounds, bounds[1:])]
    if not compiling:
        _last_lengths = (weakref.ref(position_ids), position_ids._version, lengths)
    return lengths


def _padding_mask_4d(mask_2d: torch.Tensor, q_len: int) -> torch.Tensor:
    """Causal + padding boolean mask (batch, 1, q, kv) from a 2D keep-mask, queries at the end of kv."""
    kv_len = mask_2d.size(-1)
    q_pos = torch.arange(kv_len - q_len, kv_len, device=mask_2d.device)[:, None]
    k_pos = torch.arange(kv_len, device=mask_2d.device)[None, :]
    mask = (k_pos <= q_pos)[None, None] & mask_2d.bool()[:, None, None, :]
    # A query with no visible key (a left-padding position) would give NaN, and NaN values leak
    # through later layers' zero attention weights; let such rows see everything instead.
    return mask | ~mask.any(dim=-1, keepdim=True)


def _planless_kernels(device: torch.device) -> ContextManager[Any]:
    """SDPA backends that need no per-shape plan (flash, memory-efficient, math) on CUDA; no change elsewhere."""
    if device.type != "cuda" or torch.compiler.is_compiling():
        return nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel

    return sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH])


def _repeat_kv(states: torch.Tensor, groups: int) -> torch.Tensor:
    return states if groups == 1 else states.repeat_interleave(groups, dim=1)


def varlen_sdpa_forward(module: torch.nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                        attention_mask: torch.Tensor | None, dropout: float = 0.0, scaling: float | None = None,
                        **kwargs: Any) -> tuple[torch.Tensor, None]:
    """transformers attention-interface signature: (batch, heads, seq, dim) in, (batch, seq, heads, dim) out."""
    groups = query.size(1) // key.size(1)
    key, value = _repeat_kv(key, groups), _repeat_kv(value, groups)
    position_ids = kwargs.get("position_ids")
    lengths = segment_lengths(position_ids) if attention_mask is None and position_ids is not None \
        and query.size(2) == key.size(2) else None
    if lengths is not None:
        outputs, start = [], 0
        with _planless_kernels(query.device):
            for n in lengths:
                end = start + n
                outputs.append(F.scaled_dot_product_attention(query[:, :, start:end], key[:, :, start:end],
                                                              value[:, :, start:end], dropout_p=dropout,
                                                              is_causal=n > 1, scale=scaling))
                start = end
        out = torch.cat(outputs, dim=2)
    elif attention_mask is None:
        out = F.scaled_dot_product_attention(query, key, value, dropout_p=dropout,
                                             is_causal=query.size(2) > 1 and query.size(2) == key.size(2),
                                             scale=scaling)
    else:
        mask = attention_mask if attention_mask.dim() == 4 else _padding_mask_4d(attention_mask, query.size(2))
        out = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, dropout_p=dropout, scale=scaling)
    return out.transpose(1, 2).contiguous(), None


def use_varlen_attention(model: Any) -> bool:
    """Switch a transformers model to the per-example attention; False if the architecture cannot take it.

    Sliding-window layers would need their window applied per example, so such models stay on SDPA.
    """
    from transformers import AttentionInterface

    config = model.config
    if getattr(config, "sliding_window", None) and getattr(config, "use_sliding_window", True):
        return False
    AttentionInterface.register(ATTENTION_NAME, varlen_sdpa_forward)
    model.set_attn_implementation(ATTENTION_NAME)
    return True
