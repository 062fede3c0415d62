"""Token-level cross-entropy as a *sum*, so callers can normalise by the tokens of a whole step."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..data.dataset import IGNORE_INDEX


def shifted_ce_sum(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum of next-token cross-entropy over labelled positions, and the count of correct argmax predictions."""
    logits = logits[..., :-1, :].float()
    targets = labels[..., 1:]
    loss_sum = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1),
                               ignore_index=IGNORE_INDEX, reduction="sum")
    with torch.no_grad():
        valid = targets != IGNORE_INDEX
        correct = ((logits.argmax(dim=-1) == targets) & valid).sum()
    return loss_sum, correct
