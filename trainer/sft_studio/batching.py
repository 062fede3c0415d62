"""Micro-batch layouts: padded rows, or one padding-free row with restarting position_ids.

Padding-free relies on the model building a block-causal mask from position_ids; that only happens
when no attention_mask is passed and the KV cache is off, so the collate output says exactly which
keyword arguments to give the forward call.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .data import IGNORE_INDEX, Example


@dataclass
class Batch:
    model_inputs: dict[str, torch.Tensor]
    labels: torch.Tensor
    tokens: int
    """Non-padding tokens in the batch."""
    target_tokens: int
    """Tokens that count in the loss (after the causal shift)."""

    def to(self, device: torch.device) -> "Batch":
        return Batch({k: v.to(device, non_blocking=True) for k, v in self.model_inputs.items()},
                     self.labels.to(device, non_blocking=True), self.tokens, self.target_tokens)


def _count_targets(labels: torch.Tensor) -> int:
    return int((labels[..., 1:] != IGNORE_INDEX).sum())


def collate_padded(examples: list[Example], pad_id: int) -> Batch:
    width = max(len(e.input_ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, e in enumerate(examples):
        n = len(e.input_ids)
        ids[row, :n] = torch.tensor(e.input_ids)
        labels[row, :n] = torch.tensor(e.labels)
        mask[row, :n] = 1
    return Batch({"input_ids": ids, "attention_mask": mask}, labels,
                 sum(len(e.input_ids) for e in examples), _count_targets(labels))


def collate_padding_free(examples: list[Example]) -> Batch:
    ids: list[int] = []
    labels: list[int] = []
    positions: list[int] = []
    for e in examples:
        ids += e.input_ids
        # The first token of each example must not be predicted from the previous example's last token.
        labels += [IGNORE_INDEX] + e.labels[1:]
        positions += list(range(len(e.input_ids)))
    label_tensor = torch.tensor([labels], dtype=torch.long)
    return Batch({"input_ids": torch.tensor([ids], dtype=torch.long),
                  "position_ids": torch.tensor([positions], dtype=torch.long)},
                 label_tensor, len(ids), _count_targets(label_tensor))


def collate(examples: list[Example], pad_id: int, padding_free: bool) -> Batch:
    return collate_padding_free(examples) if padding_free else collate_padded(examples, pad_id)


def microbatch_order(num_examples: int, batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """Shuffled example indices cut into micro-batches; the same (seed, epoch) gives the same order."""
    generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
    order = torch.randperm(num_examples, generator=generator).tolist()
    return [order[i:i + batch_size] for i in range(0, num_examples, batch_size)]
