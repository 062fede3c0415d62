"""The replay's forward pass through one decoder layer: what the layer keeps for its backward pass (its tape), the
autocast weight copies, and the temporaries alive at once inside it."""

from __future__ import annotations

from .inputs import Layer
from .ledger import StepState, Tape


class LayerForward(StepState):
    def layer_forward(self, layer: Layer, x_rg: bool) -> Tape:
        """What the layer keeps; `x_rg`: its input requires grad (something before it trains)."""
        s, t, pb, cb, run = self.s, self.t, self.pb, self.cb, self.run
        ac = run.autocast
        tape = Tape()

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
