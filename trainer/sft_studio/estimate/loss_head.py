"""The replay's loss head, forward and backward: the vocabulary-wide logits and their float32 copies of the plain
path, or the fused loss's chunk logits and the gradients it computes in the forward pass; and the output head's
gradient (tied to the embedding or not)."""

from __future__ import annotations

from .ledger import StepState

FUSED_LOSS_CHUNK = 512


class LossHead(StepState):
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
