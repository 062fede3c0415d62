"""What the memory estimate reads and what it reports: the decoder's shape, which parameters exist and train, the
micro-batch, how the step runs (all from the run config and a meta-device model), and the peak's parts.

The replay itself: ledger.py (the bookkeeping), forward.py, loss_head.py, backward.py and step.py (one optimizer
step); peak.py is the entry (`estimate_memory`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
PARTS = ("weights", "gradients", "optimizer", "activations", "logits", "buffers")
LINEARS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass
class MemoryEstimate:
    weights: int
    gradients: int
    optimizer: int
    activations: int
    logits: int
    buffers: int
    phase: str = ""
    """Where in the step the peak happens, e.g. "loss (forward)" or "backward, layer 1"."""

    @property
    def total(self) -> int:
        return sum(getattr(self, part) for part in PARTS)

    def to_dict(self) -> dict[str, int]:
        """The parts at the peak and their sum (every value is bytes, so consumers may add them up)."""
        return {**{part: getattr(self, part) for part in PARTS}, "total": self.total}


@dataclass(frozen=True)
class Shape:
    """The decoder's dimensions, from a Hugging Face model config."""

    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int

    @classmethod
    def from_config(cls, config: Any) -> "Shape":
        heads = config.num_attention_heads
        hidden = config.hidden_size
        return cls(hidden=hidden, layers=config.num_hidden_layers, heads=heads,
                   kv_heads=getattr(config, "num_key_value_heads", None) or heads,
                   head_dim=getattr(config, "head_dim", None) or hidden // heads,
                   intermediate=getattr(config, "intermediate_size", None) or 4 * hidden,
                   vocab=config.vocab_size)

    @property
    def q_width(self) -> int:
        return self.heads * self.head_dim

    @property
    def kv_width(self) -> int:
        return self.kv_heads * self.head_dim


@dataclass(frozen=True)
class Linear:
    fan_in: int
    fan_out: int
    trainable: bool
    """The base weight gets a gradient."""
    lora_rank: int = 0
    lora_trainable: bool = False
    lora_dropout: float = 0.0


@dataclass(frozen=True)
class Layer:
    linears: dict[str, Linear]
    input_norm_trainable: bool
    post_norm_trainable: bool

    @property
    def trainable(self) -> bool:
        return self.input_norm_trainable or self.post_norm_trainable or any(
            lin.trainable or lin.lora_trainable for lin in self.linears.values())


@dataclass(frozen=True)
class Parameters:
    """Which parameters exist and which train: read from the (meta-device) model the run would build."""

    weight_bytes: int
    grad_bytes: int
    trainable_tensors: int
    embedding_trainable: bool
    head_trainable: bool
    tied: bool
    final_norm_trainable: bool
    layers: tuple[Layer, ...]
    num_parameters: int = 0
    trainable_parameters: int = 0
    layer_weight_bytes: tuple[int, ...] = ()
    """Bytes of each decoder layer's parameters (what FSDP gathers per layer); the rest is the root."""
    plain_head: bool = True
    """The output head is a plain Linear the fused loss can use (not a LoRA- or peft-wrapped one)."""

    @classmethod
    def from_model(cls, model: Any, shape: Shape, param_bytes: int) -> "Parameters":
        from ..errors import ModelSetupError
        from ..model.fused_loss import output_projection
        from ..model.load import decoder_layers

        seen: set[int] = set()
        weight_bytes = grad_bytes = tensors = total = trainable = 0
        for name, p in model.named_parameters(remove_duplicate=False):
            if id(p) in seen:
                continue
            seen.add(id(p))
            # peft upcasts adapters of a 16-bit base model to float32 (autocast_adapter_dtype).
            size = p.numel() * (4 if "lora_" in name else param_bytes)
            weight_bytes += size
            total += p.numel()
            if p.requires_grad:
                grad_bytes += size
                tensors += 1
                trainable += p.numel()
        embedding = model.get_input_embeddings().weight
        head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
        head_params = list(head.parameters()) if head is not None else []
        decoder = model.get_decoder() if hasattr(model, "get_decoder") else None
        norm = getattr(decoder, "norm", None)
        try:
            modules = list(decoder_layers(model))
        except ModelSetupError:
            modules = []  # an architecture whose layer stack is not found: Llama-shaped layers, trained as a whole
        layers = tuple(_layer_of(module, shape) for module in modules) or tuple(
            _layer_of(model, shape) for _ in range(shape.layers))

        def layer_bytes(module: Any) -> int:
            return sum(p.numel() * (4 if "lora_" in n else param_bytes) for n, p in module.named_parameters())

        return cls(weight_bytes=weight_bytes, grad_bytes=grad_bytes, trainable_tensors=tensors,
                   embedding_trainable=embedding.requires_grad,
                   head_trainable=any(p.requires_grad for p in head_params),
                   tied=any(p is embedding for p in head_params),
                   final_norm_trainable=norm is None or any(p.requires_grad for p in norm.parameters()),
                   layers=layers, num_parameters=total, trainable_parameters=trainable,
                   layer_weight_bytes=tuple(layer_bytes(m) for m in modules),
                   plain_head=output_projection(model) is not None)


def _layer_of(module: Any, shape: Shape) -> Layer:
    """The projections of one decoder layer, found by their Llama-family names; others fall back to the shape."""
    widths = {"q_proj": (shape.hidden, shape.q_width), "k_proj": (shape.hidden, shape.kv_width),
              "v_proj": (shape.hidden, shape.kv_width), "o_proj": (shape.q_width, shape.hidden),
              "gate_proj": (shape.hidden, shape.intermediate), "up_proj": (shape.hidden, shape.intermediate),
              "down_proj": (shape.intermediate, shape.hidden)}
    any_trainable = any(p.requires_grad for p in module.parameters())
    found = {n.rsplit(".", 1)[-1]: m for n, m in module.named_modules() if n.rsplit(".", 1)[-1] in widths}
    linears = {}
    for name, (fan_in, fan_out) in widths.items():
        sub = found.get(name)
        if sub is None:
            linears[name] = Linear(fan_in, fan_out, any_trainable)
            continue
        base = getattr(sub, "base_layer", sub)
        rank, lora_trainable, dropout = 0, False, 0.0
        lora_a = getattr(sub, "lora_A", None)
        if lora_a is not None and len(lora_a):
            key = next(iter(lora_a.keys()))
            rank = lora_a[key].out_features
            lora_trainable = lora_a[key].weight.requires_grad
            dropout = float(getattr(sub.lora_dropout[key], "p", 0.0))
        linears[name] = Linear(fan_in, fan_out, base.weight.requires_grad, rank, lora_trainable, dropout)

    def norm_trainable(attr: str) -> bool:
        norm = getattr(module, attr, None)
        return any_trainable if norm is None else any(p.requires_grad for p in norm.parameters())

    return Layer(linears, norm_trainable("input_layernorm"), norm_trainable("post_attention_layernorm"))


@dataclass(frozen=True)
class MicroBatch:
    """The largest micro-batch one device holds (dry_run.py picks it from the run's own batches)."""

    tokens: int
    """Token slots, padding included."""
    rows: int
    """Rows of the batch (1 for a padding-free row)."""
    targets: int
    """Positions that carry a label after the causal shift (what the fused loss projects)."""
    padding_free: bool = False
    segments: int = 1
    """Examples in the padding-free row (per-example attention runs one SDPA call for each)."""
    masked: bool = False
    """The attention gets a mask: padded rows of unequal length, or a packed row without varlen attention."""


@dataclass(frozen=True)
class Training:
    """How the step runs, from the run config."""

    param_bytes: int
    autocast: bool
    gradient_checkpointing: bool
    fused_loss: bool
    varlen: bool
    accumulation: int
    causal_lm: bool
    cuda: bool
    num_labels: int = 2
    world_size: int = 1
    fsdp: str = "no"
    """FSDP2 mode (no, full_shard, shard_grad_op); with it every rank holds 1/world_size of the state."""

    @classmethod
    def from_config(cls, cfg: Any, device_type: str = "cpu") -> "Training":
        causal = getattr(cfg, "task", "causal_lm") == "causal_lm"
        layout_free = getattr(cfg, "padding_free", False) or getattr(cfg, "packing", False)
        return cls(param_bytes=DTYPE_BYTES[cfg.torch_dtype],
                   autocast=bool(getattr(cfg, "bf16", False) or getattr(cfg, "fp16", False)),
                   gradient_checkpointing=bool(getattr(cfg, "gradient_checkpointing", False)),
                   # The fused loss calls the decoder directly, which a compiled forward and fsdp's root would miss.
                   fused_loss=causal and bool(getattr(cfg, "fused_cross_entropy", False))
                   and not getattr(cfg, "torch_compile", False) and getattr(cfg, "fsdp", "no") == "no",
                   varlen=causal and layout_free and bool(getattr(cfg, "varlen_attention", False))
                   and getattr(cfg, "attn_implementation", "sdpa") == "sdpa",
                   accumulation=max(1, int(getattr(cfg, "gradient_accumulation_steps", 1))),
                   causal_lm=causal, cuda=device_type == "cuda", num_labels=int(getattr(cfg, "num_labels", 2)),
                   world_size=max(1, int(getattr(cfg, "nproc_per_node", 1)) * int(getattr(cfg, "nnodes", 1))),
                   fsdp=str(getattr(cfg, "fsdp", "no")))
