"""Evaluation: token-weighted loss, perplexity and token accuracy on the validation split."""

from __future__ import annotations

import math

import torch

from .batching import collate
from .data import Example
from .loss import shifted_ce_sum


@torch.no_grad()
def evaluate_loss(model: torch.nn.Module, examples: list[Example], batch_size: int, pad_id: int,
                  device: torch.device, padding_free: bool) -> dict[str, float]:
    was_training = model.training
    model.eval()
    loss_sum = 0.0
    correct = 0
    targets = 0
    for start in range(0, len(examples), batch_size):
        batch = collate(examples[start:start + batch_size], pad_id, padding_free).to(device)
        logits = model(**batch.model_inputs, use_cache=False).logits
        batch_loss, batch_correct = shifted_ce_sum(logits, batch.labels)
        loss_sum += float(batch_loss)
        correct += int(batch_correct)
        targets += batch.target_tokens
    model.train(was_training)
    loss = loss_sum / max(1, targets)
    return {"loss": loss, "perplexity": math.exp(min(loss, 50.0)), "token_accuracy": correct / max(1, targets)}
