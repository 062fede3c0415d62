"""Peak training memory per device, estimated from the run config and the model config (no weights loaded).

peak = weights + gradients + optimizer states + activations + logits, where
- weights: every parameter in the dtype it is loaded in (torch_dtype);
- gradients: one per trainable parameter, same dtype;
- optimizer: AdamW keeps two moments per trainable parameter, in the parameter's dtype;
- activations: what autograd keeps per token of the largest micro-batch, per decoder layer
  (Llama-style block: ~8 x hidden + 3 x kv width + 4 x intermediate values), in the compute dtype
  (2 bytes under bf16/fp16 autocast). Gradient checkpointing keeps only each layer's input
  (hidden values per token) plus one layer's full set while it is recomputed;
- logits: vocab-wide logits, their fp32 copy and their gradient for the tokens the loss sees at once
  (all tokens of the micro-batch, or a 512-position chunk with fused_cross_entropy).
Framework overhead (CUDA context, allocator fragmentation, temporary buffers) is not included.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
FUSED_LOSS_CHUNK = 512


@dataclass
class MemoryEstimate:
    weights: int
    gradients: int
    optimizer: int
    activations: int
    logits: int

    @property
    def total(self) -> int:
        return self.weights + self.gradients + self.optimizer + self.activations + self.logits

    def to_dict(self) -> dict[str, int]:
        return {**asdict(self), "total": self.total}


def estimate_memory(model_config: Any, cfg: Any, total_params: int, trainable_params: int,
                    microbatch_tokens: int) -> MemoryEstimate:
    """`microbatch_tokens`: token slots (padding included) of the largest micro-batch on one device."""
    param_bytes = DTYPE_BYTES[cfg.torch_dtype]
    compute_bytes = 2 if getattr(cfg, "bf16", False) or getattr(cfg, "fp16", False) else param_bytes
    hidden = model_config.hidden_size
    layers = model_config.num_hidden_layers
    heads = model_config.num_attention_heads
    head_dim = getattr(model_config, "head_dim", None) or hidden // heads
    kv_width = getattr(model_config, "num_key_value_heads", heads) * head_dim
    intermediate = getattr(model_config, "intermediate_size", 4 * hidden)
    per_layer = 8 * hidden + 3 * kv_width + 4 * intermediate
    if getattr(cfg, "gradient_checkpointing", False):
        per_token = layers * hidden + per_layer
    else:
        per_token = layers * per_layer
    activations = microbatch_tokens * per_token * compute_bytes
    logits = 0
    if cfg.task == "causal_lm":
        loss_tokens = FUSED_LOSS_CHUNK if getattr(cfg, "fused_cross_entropy", False) else microbatch_tokens
        logits = min(loss_tokens, microbatch_tokens) * model_config.vocab_size * (compute_bytes + 4 + 4)
    return MemoryEstimate(weights=total_params * param_bytes, gradients=trainable_params * param_bytes,
                          optimizer=2 * trainable_params * param_bytes, activations=activations, logits=logits)
