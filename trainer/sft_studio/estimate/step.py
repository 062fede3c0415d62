"""The replay of one whole optimizer step: micro-batches in order (the second of an accumulated step with the
gradients of the first alive), each a forward pass through every layer, the loss, and the backward pass back to
the embeddings, with fsdp's gathers, reduce-scatters and reshards; then the optimizer step."""

from __future__ import annotations

from .backward import LayerBackward
from .forward import LayerForward
from .inputs import PARTS, Layer, MemoryEstimate
from .ledger import Tape
from .loss_head import LossHead

INT64 = 8


class Step(LayerForward, LayerBackward, LossHead):
    """One optimizer step replayed phase by phase (forward.py, loss_head.py, backward.py) on one ledger."""

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
        tapes: list[tuple[Layer, Tape, int]] = []
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
