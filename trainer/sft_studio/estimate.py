"""Peak training memory per device, predicted from the run config and the model's shape (no weights loaded).

The peak of a training step is not the sum of everything a step ever allocates: the activations a
forward pass saves are freed layer by layer in the backward pass while the gradients appear, and the
loss's logits live for a moment only. So this module replays one optimizer step as a ledger of the
tensors PyTorch allocates and frees, in the order the recipe's forward, loss, backward and optimizer
step create them, and reports the largest total and what made it up at that moment:

- weights: every parameter, in `torch_dtype` (LoRA adapters in float32: peft keeps them there);
- optimizer: AdamW's two moments per trainable parameter, in the parameter's dtype;
- gradients: the `.grad` tensors alive at the peak (all of them from the second micro-batch of an
  accumulated step on, none during the first forward pass: `zero_grad(set_to_none=True)` freed them);
- activations: what autograd saved for the backward pass (or, with gradient checkpointing, each
  decoder layer's input plus one recomputed layer);
- logits: the loss head's tensors: vocabulary-wide logits, their float32 copy, log-softmax and its
  gradient, or the fused loss's chunk logits and its saved gradients;
- buffers: short-lived tensors: autocast's 16-bit weight copies, attention masks, rotary tables, the
  gradients flowing backward through a layer, dropout noise, the batch itself.

The ledger follows the Llama-style decoder (RMSNorm, q/k/v/o projections with rotary embeddings, SDPA,
gated MLP) that the trainer's models share, with the trainer's own paths: padded or padding-free rows,
per-example (varlen) attention, the fused cross-entropy, LoRA, frozen layers, autocast, gradient
accumulation and FSDP sharding. Sizes are live tensor bytes, the quantity `LiveTensorBytes`
(bench/sft_bench/memtrack.py) measures (bench/README.md, "Memory estimator", validates the prediction against it). A CUDA process also holds its context and the caching allocator's slack, which
are not tensors and are not included.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
FUSED_LOSS_CHUNK = 512
PARTS = ("weights", "gradients", "optimizer", "activations", "logits", "buffers")
LINEARS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
INT64 = 8


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


# ------------------------------------------------------------------------------------------ inputs
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
        from .fused_loss import output_projection
        from .errors import ModelSetupError
        from .model import decoder_layers

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


# ------------------------------------------------------------------------------------------ the ledger
class _Ledger:
    """Live bytes per part; remembers the largest total, the parts at that moment and the phase."""

    def __init__(self) -> None:
        self.live = dict.fromkeys(PARTS, 0)
        self.total = 0
        self.peak = -1
        self.at_peak = dict(self.live)
        self.phase = ""
        self.peak_phase = ""

    def add(self, part: str, nbytes: float) -> None:
        nbytes = int(nbytes)
        self.live[part] += nbytes
        self.total += nbytes
        if self.total > self.peak:
            self.peak, self.at_peak, self.peak_phase = self.total, dict(self.live), self.phase

    def sub(self, part: str, nbytes: float) -> None:
        nbytes = int(nbytes)
        self.live[part] -= nbytes
        self.total -= nbytes

    def spike(self, part: str, nbytes: float) -> None:
        """A tensor that lives for one operation."""
        self.add(part, nbytes)
        self.sub(part, nbytes)


@dataclass
class _Tape:
    """What one decoder layer's forward pass left for its backward pass."""

    saved: dict[str, int] = field(default_factory=dict)
    """Tensors autograd keeps, by name (a tensor kept by two operations counts once)."""
    copies: dict[str, int] = field(default_factory=dict)
    """Autocast's 16-bit weight copies kept by each projection's matmul until its backward."""
    cached: int = 0
    """Autocast copies of trainable weights that only the autocast cache holds (until the forward ends)."""
    transient: int = 0
    """The largest set of temporaries alive at once inside the layer's forward pass."""
    flags: dict[str, Any] = field(default_factory=dict)

    def keep(self, name: str, nbytes: float) -> None:
        self.saved.setdefault(name, int(nbytes))

    @property
    def saved_bytes(self) -> int:
        return sum(self.saved.values())


class _Step:
    """One optimizer step in steady state (the optimizer state exists), replayed on a ledger."""

    def __init__(self, shape: Shape, params: Parameters, run: Training, batch: MicroBatch):
        self.s, self.p, self.run, self.b = shape, params, run, batch
        self.t = batch.tokens
        self.pb = run.param_bytes
        # Under autocast the residual stream, the norms and the rotary tables stay in the weights' dtype
        # and matmul outputs are 16-bit; without autocast everything is in the weights' dtype.
        self.cb = 2 if run.autocast else self.pb
        self.ledger = _Ledger()
        self.accumulating = False
        """Gradients exist already (second micro-batch): new ones are added in place."""
        self.sharded = run.fsdp != "no" and run.world_size > 1
        self.ranks = run.world_size if self.sharded else 1
        # The fused loss needs a plain Linear head; otherwise the recipe computes the model's full logits.
        self.fused = run.fused_loss and params.plain_head

    # ------------------------------------------------------------------ gradients
    def param_grad(self, numel: int, nbytes: int, autocast_copy: bool = False) -> None:
        """A parameter's gradient. Under autocast the matmul yields it in 16 bits and the cast back to the
        weight's dtype allocates the real one. A later contribution (accumulation, the tied embedding) is
        added in place, so only its temporary exists."""
        L = self.ledger
        if autocast_copy:
            L.spike("buffers", numel * 2)
        if self.accumulating and not self.sharded:
            L.spike("gradients", numel * nbytes)
        else:
            L.add("gradients", numel * nbytes)  # (under fsdp every backward makes full-size gradients anew)

    # ------------------------------------------------------------------ one decoder layer, forward
    def layer_forward(self, layer: Layer, x_rg: bool) -> _Tape:
        """What the layer keeps; `x_rg`: its input requires grad (something before it trains)."""
        s, t, pb, cb, run = self.s, self.t, self.pb, self.cb, self.run
        ac = run.autocast
        tape = _Tape()

        def norm(prefix: str, x_name: str, x_rg: bool, trainable: bool) -> bool:
            # RMSNorm in float32: x.float() (a copy unless x is float32), pow, mean, rsqrt, y = x * r, then
            # weight * y.to(dtype). pow and x * r keep x (or its float32 copy) and r when x needs a gradient;
            # weight * y keeps y for the weight's gradient.
            if x_rg:
                tape.keep(x_name if pb == 4 else f"{prefix}.x", t * s.hidden * 4)
                tape.keep(f"{prefix}.r", t * 4)
            if trainable:
                tape.keep(f"{prefix}.y", t * s.hidden * pb)
            return x_rg or trainable

        def linear(name: str, x_name: str, x_bytes: int, x_rg: bool) -> bool:
            spec = layer.linears[name]
            n_w = spec.fan_in * spec.fan_out
            if spec.trainable:
                # The input, kept for the weight's gradient: under autocast this call's own 16-bit copy
                # (autocast casts activations on every call), otherwise the producer's tensor itself.
                if ac and x_bytes != 2:
                    tape.keep(f"{name}.x16", t * spec.fan_in * 2)
                else:
                    tape.keep(x_name, t * spec.fan_in * x_bytes)
            if ac:
                # Autocast's 16-bit weight copy: the matmul keeps it while the input needs a gradient. A
                # trainable weight's copy is also cached until the forward pass ends; a frozen weight is
                # cast anew on every call.
                if x_rg:
                    tape.copies[name] = n_w * 2
                elif spec.trainable:
                    tape.cached += n_w * 2
                else:
                    tape.transient = max(tape.transient, n_w * 2)
            out_rg = x_rg or spec.trainable
            if spec.lora_rank:
                r = spec.lora_rank
                # peft casts the input to the adapter's dtype (float32 adapters on a 16-bit base model).
                a_bytes = 4 if (pb != 4 and not ac) else x_bytes
                if spec.lora_dropout > 0:
                    # Dropout keeps its noise (CPU: a tensor of the input's dtype) or mask (CUDA: bool) for the
                    # input's gradient; lora_A keeps the dropped-out copy for its weight's gradient.
                    if x_rg:
                        tape.keep(f"{name}.noise", t * spec.fan_in * (1 if run.cuda else a_bytes))
                    dropped = f"{name}.dropped"
                else:
                    dropped = x_name if a_bytes == x_bytes else f"{name}.x32"
                if spec.lora_trainable:
                    if ac:
                        tape.keep(f"{name}.lora_x16", t * spec.fan_in * 2)
                    else:
                        tape.keep(dropped, t * spec.fan_in * a_bytes)
                    tape.keep(f"{name}.lora_a", t * r * (2 if ac else a_bytes))  # kept by lora_B
                    if ac:
                        tape.copies[f"{name}.lora"] = r * (spec.fan_in + spec.fan_out) * 2
                out_rg = out_rg or spec.lora_trainable
            return out_rg

        # ---- attention block: input_layernorm, q/k/v, rotary, SDPA, o_proj, residual
        n1_rg = norm("n1", "x", x_rg, layer.input_norm_trainable)  # "x": the layer input itself
        q_rg = linear("q_proj", "n1.out", pb, n1_rg)
        k_rg = linear("k_proj", "n1.out", pb, n1_rg)
        v_rg = linear("v_proj", "n1.out", pb, n1_rg)
        attn_rg = q_rg or k_rg or v_rg
        # The rotation multiplies the projections by tables in the residual's dtype, so q and k take the
        # wider dtype. SDPA keeps q, k, v (cast to 16 bits under autocast), its output and the log-sum-exp.
        rope_bytes = max(cb, pb)
        groups = s.heads // max(1, s.kv_heads)
        # Grouped-query attention: k and v are repeated to every head when a mask (or per-example attention)
        # rules out SDPA's own GQA path.
        kv_kept = s.q_width if groups > 1 and (run.varlen or self.b.masked) else s.kv_width
        if attn_rg:
            tape.keep("q", t * s.q_width * (2 if ac else rope_bytes))
            tape.keep("k", t * kv_kept * (2 if ac else rope_bytes))
            tape.keep("v", t * kv_kept * cb)
            tape.keep("attn.out", t * s.q_width * cb)
            tape.keep("attn.lse", t * s.heads * 4)
            if self.b.masked:
                # SDPA turns the boolean mask into an additive mask of the query's dtype on every call and keeps it.
                tape.keep("attn.mask", self.mask_elements() * cb)
        # q * cos, rotate_half(q), its product with sin and the sum exist at once while q rotates.
        tape.transient = max(tape.transient, t * s.q_width * (cb + 3 * rope_bytes))
        o_in = "attn.out"
        # Per-example attention (installed for padding-free and packed runs) takes every batch that comes without
        # a mask, a padded one without padding too (as one example per row set): one output per example (kept by
        # each SDPA call), concatenated, then made contiguous for o_proj; that copy is o_proj's input.
        varlen = run.varlen and not self.b.masked
        if varlen:
            o_in = "attn.contiguous"
            tape.transient = max(tape.transient, 2 * t * s.q_width * cb)
        o_rg = linear("o_proj", o_in, cb, attn_rg)
        h1_rg = x_rg or o_rg
        # ---- MLP block: post_attention_layernorm, gate/up, silu, product, down_proj, residual
        n2_rg = norm("n2", "h1", h1_rg, layer.post_norm_trainable)  # "h1": the residual after attention
        g_rg = linear("gate_proj", "n2.out", pb, n2_rg)
        u_rg = linear("up_proj", "n2.out", pb, n2_rg)
        inter = t * s.intermediate * cb
        if g_rg:
            tape.keep("mlp.gate", inter)  # silu keeps its input
        if u_rg:
            tape.keep("mlp.act", inter)  # act * up keeps act for up's gradient ...
        if g_rg:
            tape.keep("mlp.up", inter)  # ... and up for act's gradient
        prod_rg = g_rg or u_rg
        d_rg = linear("down_proj", "mlp.prod", cb, prod_rg)
        # Before the down projection returns: the MLP's input, gate, up, act, the product and the output.
        unsaved = sum(inter for name in ("mlp.gate", "mlp.act", "mlp.up", "mlp.prod") if name not in tape.saved)
        tape.transient = max(tape.transient, unsaved + t * s.hidden * cb
                             + (0 if "n2.out" in tape.saved else t * s.hidden * pb))
        tape.flags = dict(x_rg=x_rg, n1_rg=n1_rg, attn_rg=attn_rg, h1_rg=h1_rg, n2_rg=n2_rg, g_rg=g_rg,
                          u_rg=u_rg, prod_rg=prod_rg, out_rg=h1_rg or d_rg, varlen=varlen,
                          kv_kept=kv_kept, rope_bytes=rope_bytes)
        return tape

    def mask_elements(self) -> int:
        b = self.b
        width = b.tokens // max(1, b.rows)
        return b.rows * width * width

    # ------------------------------------------------------------------ one decoder layer, backward
    def layer_backward(self, layer: Layer, tape: _Tape) -> None:
        """Free what the layer kept and create its gradients, in the order autograd runs its nodes."""
        s, t, pb, cb, L = self.s, self.t, self.pb, self.cb, self.ledger
        ac = self.run.autocast
        f = tape.flags
        saved = dict(tape.saved)
        copies = dict(tape.copies)
        inter = t * s.intermediate * cb
        h_grad = t * s.hidden * pb  # a gradient of the residual stream or a norm output

        def release(*names: str) -> None:
            for name in names:
                L.sub("activations", saved.pop(name, 0))
                L.sub("buffers", copies.pop(name, 0))

        def linear_backward(name: str, x_rg: bool) -> int:
            """A projection's weight (and adapter) gradients; returns the bytes of its input gradient."""
            spec = layer.linears[name]
            if spec.trainable:
                self.param_grad(spec.fan_in * spec.fan_out, pb, autocast_copy=ac)
            if spec.lora_rank and spec.lora_trainable:
                # lora_B's and lora_A's input gradients, then the adapters' own gradients (float32 on a
                # 16-bit base model).
                L.spike("buffers", t * (spec.fan_out + spec.lora_rank) * cb)
                self.param_grad(spec.lora_rank * (spec.fan_in + spec.fan_out), 4 if pb != 4 else pb, ac)
            release(f"{name}.lora", f"{name}.lora_x16", f"{name}.lora_a", f"{name}.noise", f"{name}.dropped",
                    f"{name}.x32")
            return t * spec.fan_in * cb if x_rg else 0

        def input_grads(grad_outs: list[tuple[str, int]], x_rg: bool) -> int:
            """Input gradients of projections that share one input, summed into the input's gradient
            (under autocast each is first cast back from 16 bits to the input's dtype)."""
            total = 0
            for name, grad_out in grad_outs:
                g_x = linear_backward(name, x_rg)
                L.add("buffers", g_x)
                L.sub("buffers", grad_out)
                release(f"{name}.x16", name)
                if g_x and ac:
                    L.add("buffers", h_grad)
                    L.sub("buffers", g_x)
                    g_x = h_grad
                if total and g_x:
                    L.sub("buffers", g_x)  # added into the first one in place
                total = total or g_x
            return total

        L.add("buffers", h_grad)  # the gradient arriving at the layer's output
        # ---- MLP backward: down_proj, act * up, then up_proj before silu and gate_proj (later nodes first)
        g_prod = linear_backward("down_proj", f["prod_rg"])
        L.add("buffers", g_prod)
        release("mlp.prod", "down_proj", "down_proj.x16")
        g_act = inter if f["u_rg"] else 0
        g_up = inter if f["g_rg"] else 0
        L.add("buffers", g_act + g_up)
        L.sub("buffers", g_prod)
        release("mlp.act", "mlp.up")
        g_n2 = input_grads([("up_proj", g_up)], f["n2_rg"])
        g_gate = inter if f["g_rg"] else 0
        L.add("buffers", g_gate)  # silu backward
        L.sub("buffers", g_act)
        release("mlp.gate")
        g_gate_x = input_grads([("gate_proj", g_gate)], f["n2_rg"])
        if g_n2 and g_gate_x:
            L.sub("buffers", g_gate_x)
        g_n2 = g_n2 or g_gate_x
        release("n2.out")
        self.norm_backward("n2", g_n2, f["h1_rg"], layer.post_norm_trainable, release)
        release("h1")
        # ---- attention backward: o_proj, SDPA, rotary, q/k/v projections, input_layernorm
        g_attn = linear_backward("o_proj", f["attn_rg"])
        L.add("buffers", g_attn)
        release("attn.contiguous", "o_proj", "o_proj.x16")
        if f["attn_rg"]:
            g_q = t * s.q_width * cb
            g_kv = t * f["kv_kept"] * cb
            if f["varlen"] and self.b.segments > 1:
                # Each example's SDPA backward fills a full-size zero tensor (its slice's backward) that is then
                # added into q's, k's and v's gradient.
                L.add("buffers", g_q + 2 * g_kv)
                L.spike("buffers", g_q + 2 * g_kv)
            else:
                L.add("buffers", g_q + 2 * g_kv)
            L.sub("buffers", g_attn)
            release("q", "k", "v", "attn.out", "attn.lse", "attn.mask")
            if ac:
                # The 16-bit q and k gradients are cast back to the rotation's dtype.
                L.add("buffers", t * (s.q_width + f["kv_kept"]) * f["rope_bytes"])
                L.sub("buffers", g_q + g_kv)
                g_q = t * s.q_width * f["rope_bytes"]
                g_kv_k = t * f["kv_kept"] * f["rope_bytes"]
            else:
                g_kv_k = g_kv
            # Rotary backward: grad * cos and the rotated grad * sin, then the sum in the projections' dtype.
            L.spike("buffers", 2 * t * s.q_width * f["rope_bytes"])
            g_n1 = input_grads([("v_proj", g_kv), ("k_proj", g_kv_k), ("q_proj", g_q)], f["n1_rg"])
            release("n1.out")
            self.norm_backward("n1", g_n1, f["x_rg"], layer.input_norm_trainable, release)
        else:
            L.sub("buffers", g_attn)
        release("x")
        for name in list(saved):
            release(name)
        L.sub("buffers", sum(copies.values()))
        L.sub("buffers", h_grad)

    def norm_backward(self, prefix: str, g_out: int, x_rg: bool, trainable: bool, release: Any) -> None:
        """RMSNorm's backward: weight * y, then y = x * r and the pow/mean/rsqrt chain, in float32."""
        L, t, h = self.ledger, self.t, self.s.hidden
        if trainable:
            L.spike("buffers", t * h * 4)  # grad * y before the sum over tokens
            self.param_grad(h, self.pb)
        if x_rg:
            # grad_y, the x * r branch, the pow branch and their sum (float32) ...
            L.spike("buffers", 3 * t * h * 4)
            # ... which is added to the residual's gradient (not in place: that gradient is shared).
            L.spike("buffers", t * h * self.pb)
        L.sub("buffers", g_out)
        release(f"{prefix}.x", f"{prefix}.r", f"{prefix}.y")

    # ------------------------------------------------------------------ the loss head
    def loss_forward(self, hidden_rg: bool) -> dict[str, int]:
        """The loss's allocations from the final norm's output on; returns what stays for the backward."""
        s, t, pb, cb, L, b = self.s, self.t, self.pb, self.cb, self.ledger, self.b
        ac = self.run.autocast
        V, h = s.vocab, s.hidden
        head_w = V * h
        kept: dict[str, int] = {}
        L.phase = "loss (forward)"
        hidden = t * h * pb  # the final norm's output, referenced until the loss function returns
        L.add("logits", hidden)
        if not self.run.causal_lm:
            # Classification: a num_labels-wide score head over every position; the rows' last tokens score.
            L.spike("logits", t * self.run.num_labels * 4)
            L.sub("logits", hidden)
            return kept
        if self.fused:
            n = b.targets
            selected = n * h * pb
            L.add("logits", selected)  # hidden[keep]: the labelled positions only
            if hidden_rg:
                kept["grad_hidden"] = selected  # d(loss)/d(hidden), computed in the forward pass
            if self.p.head_trainable:
                kept["grad_weight"] = head_w * 4  # the head's float32 gradient, accumulated chunk by chunk
            L.add("logits", sum(kept.values()))
            prev = cached = 0
            for start in range(0, n, FUSED_LOSS_CHUNK):
                m = min(FUSED_LOSS_CHUNK, n - start)
                if ac:
                    # weight.t() is no leaf, so autocast casts it anew for every chunk; the 16-bit chunk logits
                    # are copied to float32 while the previous chunk's (still bound to the name) exist.
                    L.add("buffers", head_w * 2)
                    L.add("logits", m * V * 2)
                    L.sub("buffers", head_w * 2)
                    L.add("logits", m * V * 4)
                    L.sub("logits", m * V * 2)
                else:
                    L.add("logits", m * V * 4)
                L.sub("logits", prev)
                if ac:
                    # grad_logits @ weight: the chunk's gradient cast to 16 bits, and the weight's 16-bit copy,
                    # which autocast caches (a leaf) until the forward pass ends.
                    if not cached:
                        cached = head_w * 2
                        L.add("buffers", cached)
                    L.spike("logits", m * V * 2 + m * h * 2)
                else:
                    # grad_logits.to(hidden's dtype) @ weight: a copy when the hidden states are 16-bit.
                    L.spike("logits", (m * V * pb if pb != 4 else 0) + m * h * pb)
                if pb != 4:
                    L.spike("logits", m * h * 4)  # h.float() for the float32 weight-gradient accumulation
                prev = m * V * 4
            L.sub("logits", prev + selected + hidden)
            L.sub("buffers", cached)
            return kept
        # The plain path: lm_head over every slot, then shifted_ce_sum on logits[..., :-1, :].float().
        if self.p.head_trainable:
            # lm_head keeps its input for the head's gradient: under autocast a 16-bit copy, otherwise the
            # final norm's output itself, which then outlives the loss function.
            kept["head_in"] = t * h * 2 if ac else hidden
            if not ac:
                L.sub("logits", hidden)
                hidden = 0
        if ac and (hidden_rg or self.p.head_trainable):
            kept["head_w16"] = head_w * 2  # autocast's copy of the head weight, kept by the matmul
        L.add("activations", kept.get("head_in", 0))
        L.add("buffers", kept.get("head_w16", 0))
        shifted = (t - b.rows) * V * 4
        logits = t * V * cb
        L.add("logits", logits)
        # The model returns only the logits: its last hidden state goes unless lm_head kept it.
        L.sub("logits", hidden)
        hidden = 0
        if cb != 4:
            L.add("logits", shifted)  # .float(): a float32 copy, after which the 16-bit logits are unreferenced
            L.sub("logits", logits)
            logits = shifted
        elif b.rows > 1:
            L.add("logits", shifted)  # reshape of the non-contiguous shifted view copies it
            logits += shifted
        # (one float32 row: the shifted view is contiguous and reshape costs nothing)
        L.add("logits", shifted)  # cross_entropy's log_softmax, kept for its backward; nll_loss is a scalar
        kept["log_softmax"] = shifted
        # The function returns: the logits and their copies go; the norm output goes unless lm_head kept it.
        L.sub("logits", logits + hidden)
        return kept

    def loss_backward(self, kept: dict[str, int], hidden_rg: bool) -> None:
        s, t, pb, cb, L = self.s, self.t, self.pb, self.cb, self.ledger
        ac = self.run.autocast
        V, h = s.vocab, s.hidden
        head_w = V * h
        L.phase = "loss (backward)"
        if not self.run.causal_lm:
            return
        if self.fused:
            # The backward scales the saved gradients: new tensors while the saved ones still exist.
            dh, dw = kept.get("grad_hidden", 0), kept.get("grad_weight", 0)
            L.add("logits", dh + dw)
            if dw and pb != 4:
                L.spike("logits", head_w * pb)  # .to(weight dtype)
            L.sub("logits", dh + dw)  # the saved ones
            if dw:
                L.sub("logits", dw)
                self.head_grad()
            if hidden_rg:
                # hidden[..., :-1, :][keep] backward: index_put into zeros, then the slice's own zeros.
                L.add("buffers", t * h * pb)
                L.sub("logits", dh)
                L.spike("buffers", t * h * pb)
                L.sub("buffers", t * h * pb)
            else:
                L.sub("logits", dh)
            return
        shifted = kept["log_softmax"]
        # nll_loss backward, then log_softmax backward: three vocabulary-wide float32 tensors at once.
        L.add("logits", 2 * shifted)
        L.sub("logits", 3 * shifted)
        L.add("logits", shifted)
        if cb != 4:
            L.add("logits", shifted // 2)  # .float() backward: back to the logits' 16 bits
            L.sub("logits", shifted)
            shifted //= 2
        full = t * V * cb
        L.add("logits", full)  # the slice's backward: zeros for every position, then the copy
        L.sub("logits", shifted)
        if hidden_rg:
            L.spike("buffers", t * h * cb + (t * h * pb if ac else 0))
        if self.p.head_trainable:
            self.head_grad(autocast_copy=ac)
        L.sub("activations", kept.get("head_in", 0))
        L.sub("buffers", kept.get("head_w16", 0))
        L.sub("logits", full)

    def head_grad(self, autocast_copy: bool = False) -> None:
        """The output head's gradient. A head tied to a trainable embedding is one parameter used twice: its
        gradient waits in autograd's input buffer for the embedding's (until the end of the backward pass)."""
        numel = self.s.vocab * self.s.hidden
        if self.p.tied and self.p.embedding_trainable:
            if autocast_copy:
                self.ledger.spike("buffers", numel * 2)
            self.ledger.add("gradients", numel * self.pb)
        else:
            self.param_grad(numel, self.pb, autocast_copy)

    # ------------------------------------------------------------------ the whole step
    def replay(self) -> MemoryEstimate:
        p, L = self.p, self.ledger
        L.phase = "start of step"
        # Under fsdp each rank holds 1/world_size of the weights, gradients and optimizer state between steps.
        L.add("weights", p.weight_bytes // self.ranks)
        # AdamW: exp_avg and exp_avg_sq per trainable parameter, in its dtype (the fused kernel's float32 step
        # counters are 4 bytes per tensor: left out). The fused update works in place: no temporaries.
        L.add("optimizer", 2 * p.grad_bytes // self.ranks)
        self.micro_batch()
        if self.run.accumulation > 1:
            # From the second micro-batch on, the gradients of the earlier ones are alive throughout.
            self.accumulating = True
            self.micro_batch()
        L.phase = "optimizer step"
        # clip_grad_norm_: one norm per gradient, stacked; the scaling and the update are in place.
        L.spike("buffers", 8 * max(1, p.trainable_tensors))
        return MemoryEstimate(**{k: max(0, L.at_peak[k]) for k in PARTS}, phase=L.peak_phase)

    def micro_batch(self) -> None:
        s, p, t, pb, L, run, b = self.s, self.p, self.t, self.pb, self.ledger, self.run, self.b
        L.phase = "forward"
        batch = 3 * t * INT64  # input ids, labels, and the attention mask or position ids
        rope = 2 * (t if b.padding_free else t // max(1, b.rows)) * s.head_dim * pb  # cos and sin, kept by rotation
        mask = self.mask_elements() if b.masked else 0  # the boolean mask the model builds once per forward
        L.add("buffers", batch + rope + mask)
        L.add("buffers", t * s.hidden * pb)  # the embedding output: the first residual
        ckpt = run.gradient_checkpointing
        grad_flows = p.embedding_trainable
        tapes: list[tuple[Layer, _Tape, int]] = []
        cached = 0
        gather = self.gathered_layers()
        root = p.weight_bytes - sum(gather) if self.sharded else 0
        L.add("weights", root)  # fsdp: the root group (embeddings, final norm, head) stays gathered until backward ends
        full_shard = self.sharded and self.run.fsdp == "full_shard"
        for i, layer in enumerate(p.layers):
            L.phase = f"forward, layer {i + 1}"
            if self.sharded:
                # full_shard: a layer is gathered for its forward while the next one's gather is in flight;
                # shard_grad_op: a layer stays gathered from its forward to its backward.
                L.add("weights", gather[i] if i == 0 or not full_shard else 0)
                L.add("weights", gather[i + 1] if full_shard and i + 1 < len(gather) else 0)
            tape = self.layer_forward(layer, grad_flows)
            keep_input = 0
            if ckpt:
                # Non-reentrant checkpointing drops what the layer saves and keeps its input for recomputing;
                # autocast's cache still holds the 16-bit copies of the layer's trainable weights.
                L.spike("activations", t * s.hidden * pb + tape.transient)
                if tape.saved:
                    keep_input = t * s.hidden * pb
                    L.add("activations", keep_input)
                trainable_copies = sum(lin.fan_in * lin.fan_out * 2 for lin in layer.linears.values()
                                       if run.autocast and lin.trainable)
                cached += trainable_copies
                L.add("buffers", trainable_copies)
            else:
                L.add("activations", tape.saved_bytes)
                L.add("buffers", sum(tape.copies.values()))
                cached += tape.cached
                L.add("buffers", tape.cached)
                L.spike("buffers", tape.transient)
            if i == 0:
                L.sub("buffers", t * s.hidden * pb)  # the embedding output now lives on only if layer 1 kept it
            if full_shard:
                L.sub("weights", gather[i])
            tapes.append((layer, tape, keep_input))
            grad_flows = grad_flows or layer.trainable
        # The final norm keeps the last layer's output (or its float32 copy) and r, and y for its weight.
        L.phase = "final norm"
        final = 0
        if grad_flows:
            final += t * s.hidden * 4 + t * 4
        if p.final_norm_trainable:
            final += t * s.hidden * pb
        L.add("activations", final)
        hidden_rg = grad_flows or p.final_norm_trainable
        L.sub("buffers", mask)  # the model's boolean mask goes when its forward returns (SDPA kept float copies)
        kept = self.loss_forward(hidden_rg)
        L.sub("buffers", cached)  # leaving autocast clears its cache
        # ---- backward
        self.loss_backward(kept, hidden_rg)
        L.phase = "backward, final norm"
        if p.final_norm_trainable:
            self.param_grad(s.hidden, pb)
        if grad_flows:
            L.spike("buffers", 3 * t * s.hidden * 4)
        L.sub("activations", final)
        in_flight = shards = 0
        grads_before = L.live["gradients"]
        for i in range(len(tapes) - 1, -1, -1):
            layer, tape, keep_input = tapes[i]
            if not tape.saved and not layer.trainable:
                if full_shard and i + 1 == len(tapes):
                    L.sub("weights", gather[i])
                continue
            L.phase = f"backward, layer {i + 1}"
            if full_shard:
                # Gathered again for the backward (the last layer still is), with the previous layer prefetched.
                L.add("weights", gather[i] if i + 1 == len(tapes) else 0)
                L.add("weights", gather[i - 1] if i > 0 else 0)
            layer_grads = L.live["gradients"]
            if ckpt:
                # Recompute the layer: its saved tensors (its input is the checkpoint's) and the weight copies.
                L.add("activations", tape.saved_bytes - tape.saved.get("x", 0))
                L.spike("buffers", tape.transient)
                L.add("buffers", sum(tape.copies.values()))
                L.add("activations", tape.saved.get("x", 0) - keep_input)
            self.layer_backward(layer, tape)
            if self.sharded:
                # Reduce-scatter: the full gradients are copied into the collective's buffer (alive until the next
                # layer's is issued) and freed; the rank keeps its shard.
                full = L.live["gradients"] - layer_grads
                L.add("buffers", full)
                L.sub("buffers", in_flight)
                L.sub("gradients", full)
                shard = 0 if self.accumulating else full // self.ranks
                L.add("gradients", shard)
                in_flight, shards = full, shards + shard
                L.sub("weights", gather[i])
        L.phase = "backward, embeddings"
        if p.embedding_trainable:
            # The embedding's backward: a dense (vocab x hidden) gradient.
            numel = s.vocab * s.hidden
            if p.tied and p.head_trainable:
                # Summed with the waiting head gradient out of place (both and the sum exist at once); the sum
                # becomes the gradient, or is added into the existing one in place when accumulating.
                L.add("gradients", 2 * numel * pb)
                L.sub("gradients", 2 * numel * pb)
                if self.accumulating and not self.sharded:
                    L.sub("gradients", numel * pb)
            else:
                self.param_grad(numel, pb)
        if self.sharded:
            # The root's gradients are reduce-scattered last, and its weights resharded.
            full = L.live["gradients"] - grads_before - shards
            L.sub("gradients", full)
            L.add("gradients", 0 if self.accumulating else full // self.ranks)
            L.sub("buffers", in_flight)
            L.sub("weights", root)
            for i, layer in enumerate(p.layers):
                if self.run.fsdp == "shard_grad_op" and not (tapes[i][1].saved or layer.trainable):
                    L.sub("weights", gather[i])  # a layer without backward stayed gathered since its forward
        L.sub("buffers", batch + rope)

    def gathered_layers(self) -> list[int]:
        """Bytes each decoder layer's full weights take while fsdp has them gathered."""
        p = self.p
        if len(p.layer_weight_bytes) == len(p.layers):
            return list(p.layer_weight_bytes)
        per_layer = sum(lin.fan_in * lin.fan_out for lin in p.layers[0].linears.values()) if p.layers else 0
        return [per_layer * self.pb for _ in p.layers]


def estimate_memory(shape: Shape, params: Parameters, run: Training, batch: MicroBatch) -> MemoryEstimate:
    """Peak live tensor bytes of one optimizer step on one device, and what is alive at that moment."""
    return _Step(shape, params, run, batch).replay()
