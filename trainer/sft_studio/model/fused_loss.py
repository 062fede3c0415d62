"""Language-model loss without the full logits tensor.

The plain path computes logits for every position, (tokens x vocab) floats, then keeps the fp32 copy,
the softmax and its gradient alive until backward: for a 32k vocabulary that is 128 KB per token,
usually the largest single allocation of a step. Here the output projection and the cross-entropy
are fused per chunk of positions, only for positions that carry a label (prompt tokens under
completion_only_loss and padding are skipped entirely, saving their share of the output-projection
FLOPs), and the gradients are computed in the same pass, so no chunk's logits outlive the chunk.
"""

from __future__ import annotations

from typing import Any

import torch

from ..data.dataset import IGNORE_INDEX
from .loss import shifted_ce_sum


class _LinearCrossEntropySum(torch.autograd.Function):
    """sum_i CE(h_i @ W^T, t_i) with dL/dh and dL/dW computed chunk by chunk in forward.

    Valid because the loss is a scalar that only gets scaled on its way back: backward multiplies the
    stored gradients by the incoming scalar.
    """

    @staticmethod
    def forward(ctx: Any, hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor,
                chunk: int) -> tuple[torch.Tensor, torch.Tensor]:
        grad_hidden = torch.empty_like(hidden) if hidden.requires_grad else None
        grad_weight = torch.zeros(weight.shape, dtype=torch.float32, device=weight.device) \
            if weight.requires_grad else None
        loss = torch.zeros((), dtype=torch.float32, device=hidden.device)
        correct = torch.zeros((), dtype=torch.long, device=hidden.device)
        for start in range(0, hidden.size(0), chunk):
            h = hidden[start:start + chunk]
            t = targets[start:start + chunk]
            logits = (h @ weight.t()).float()
            lse = torch.logsumexp(logits, dim=-1)
            loss += (lse - logits.gather(1, t[:, None]).squeeze(1)).sum()
            correct += (logits.argmax(dim=-1) == t).sum()
            # d(sum CE)/d(logits) = softmax - one_hot, computed in place over the chunk's fp32 logits.
            grad_logits = logits.sub_(lse[:, None]).exp_()
            grad_logits[torch.arange(t.size(0), device=t.device), t] -= 1.0
            if grad_hidden is not None:
                grad_hidden[start:start + chunk] = grad_logits.to(h.dtype) @ weight
            if grad_weight is not None:
                # The product in the activations' dtype (bf16 tensor cores; a float32 matmul was the largest
                # cost of the fused loss on an H200), accumulated over chunks in float32, as autograd's plain
                # path computes the head's gradient in that dtype too.
                if h.dtype == torch.float32:
                    grad_weight.addmm_(grad_logits.t(), h)
                else:
                    grad_weight += grad_logits.to(h.dtype).t() @ h
        ctx.save_for_backward(grad_hidden, grad_weight)
        ctx.weight_dtype = weight.dtype
        ctx.mark_non_differentiable(correct)
        return loss, correct

    @staticmethod
    def backward(ctx: Any, grad_loss: torch.Tensor, _grad_correct: Any) -> tuple[Any, ...]:
        grad_hidden, grad_weight = ctx.saved_tensors
        scale = grad_loss.to(torch.float32)
        dh = grad_hidden * scale.to(grad_hidden.dtype) if grad_hidden is not None else None
        dw = (grad_weight * scale).to(ctx.weight_dtype) if grad_weight is not None else None
        return dh, dw, None, None


def linear_cross_entropy_sum(hidden: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor,
                             chunk: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
    """Next-token CE summed over labelled positions, and the count of correct argmax predictions.

    hidden: final hidden states (batch, seq, dim); weight: output projection (vocab, dim); labels:
    (batch, seq) with IGNORE_INDEX where nothing is predicted. Same values as `shifted_ce_sum` on
    `hidden @ weight.T`.
    """
    targets = labels[..., 1:]
    keep = targets != IGNORE_INDEX
    selected = hidden[..., :-1, :][keep]
    loss, correct = _LinearCrossEntropySum.apply(selected, weight, targets[keep], chunk)
    return loss, correct


def output_projection(model: Any) -> torch.nn.Linear | None:
    """The plain Linear output head whose weight alone maps hidden states to logits, or None.

    None for heads the fused path would get wrong: a LoRA-wrapped or biased head, or models that
    scale or soft-cap their logits after the projection.
    """
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    config = getattr(model, "config", None)
    if type(head) is not torch.nn.Linear or head.bias is not None:
        return None
    for attr in ("final_logit_softcapping", "logit_scale", "logits_scaling", "output_multiplier_scale"):
        if getattr(config, attr, None) not in (None, 1, 1.0):
            return None
    return head


def lm_loss_sum(model: Any, model_inputs: dict[str, torch.Tensor], labels: torch.Tensor,
                fused: bool, chunk: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed next-token loss and correct-prediction count of one micro-batch.

    fused=True runs the decoder alone and `linear_cross_entropy_sum` on its hidden states when the
    model's head allows it; otherwise the model's full logits go through `shifted_ce_sum`.
    """
    head = output_projection(model) if fused else None
    if head is None:
        return shifted_ce_sum(model(**model_inputs, use_cache=False).logits, labels)
    hidden = model.get_decoder()(**model_inputs, use_cache=False).last_hidden_state
    return linear_cross_entropy_sum(hidden, head.weight, labels, chunk)
