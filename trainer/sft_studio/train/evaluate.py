"""Evaluation on the validation split: token-weighted loss, perplexity and token accuracy for a causal
LM; loss, accuracy and F1 for sequence classification."""

from __future__ import annotations

import math
from typing import Any

import torch

from ..data.classify import ClassExample, accuracy_and_f1, classification_outputs
from .batching import collate


@torch.no_grad()
def evaluate_split(model: torch.nn.Module, examples: list[Any], batch_size: int, pad_id: int,
                   device: torch.device, padding_free: bool) -> dict[str, float]:
    was_training = model.training
    model.eval()
    loss_sum = 0.0
    correct = 0
    targets = 0
    predictions: list[int] = []
    try:
        for start in range(0, len(examples), batch_size):
            batch = collate(examples[start:start + batch_size], pad_id, padding_free).to(device)
            if batch.classification:
                batch_loss, batch_predictions = classification_outputs(model, batch.model_inputs, batch.labels)
                predictions += batch_predictions.tolist()
            else:
                batch_loss, batch_correct = batch.loss_sum(model)
                correct += int(batch_correct)
            loss_sum += float(batch_loss)
            targets += batch.target_tokens
    finally:
        model.train(was_training)
    loss = loss_sum / max(1, targets)
    if isinstance(examples[0], ClassExample):
        num_labels = int(getattr(getattr(model, "config", None), "num_labels", 2))
        scores = accuracy_and_f1(predictions, [e.label for e in examples], num_labels)
        # An example's only target is its label, so token accuracy and accuracy are the same share.
        return {"loss": loss, "token_accuracy": scores["accuracy"], **scores}
    return {"loss": loss, "perplexity": math.exp(min(loss, 50.0)), "token_accuracy": correct / max(1, targets)}
