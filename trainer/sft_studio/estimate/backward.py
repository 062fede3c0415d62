"""The replay's backward pass through one decoder layer: free what the layer kept and create its gradients, in the
order autograd runs its nodes (the MLP, then attention, each RMSNorm in float32)."""

from __future__ import annotations

from typing import Any

from .inputs import Layer
from .ledger import StepState, Tape


class LayerBackward(StepState):
    def layer_backward(self, layer: Layer, tape: Tape) -> None:
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
