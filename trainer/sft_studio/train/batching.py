"""Micro-batches: which examples go together (order, length grouping) and how they are laid out
(padded rows, or one padding-free row with restarting position_ids).

Padding-free relies on the model building a block-causal mask from position_ids; that only happens
when no attention_mask is passed and the KV cache is off, so the collate output says exactly which
keyword arguments to give the forward call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..data.classify import ClassExample, classification_outputs
from ..data.dataset import IGNORE_INDEX, Example
from ..model.fused_loss import lm_loss_sum

# Length grouping sorts within chunks of this many micro-batches (the value HF's LengthGroupedSampler uses).
LENGTH_GROUP_CHUNK = 50


@dataclass
class Batch:
    model_inputs: dict[str, torch.Tensor]
    labels: torch.Tensor
    tokens: int
    """Non-padding tokens in the batch."""
    target_tokens: int
    """Targets that count in the loss: label tokens after the causal shift, or examples for classification."""
    classification: bool = False

    def to(self, device: torch.device) -> "Batch":
        return Batch({k: v.to(device, non_blocking=True) for k, v in self.model_inputs.items()},
                     self.labels.to(device, non_blocking=True), self.tokens, self.target_tokens, self.classification)

    def loss_sum(self, model: Any, fused: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Forward pass; summed loss over the batch's targets and the number of correct argmax predictions.

        `fused` asks for the chunked output-projection + cross-entropy of a causal LM (model/fused_loss.py)."""
        if self.classification:
            loss_sum, predictions = classification_outputs(model, self.model_inputs, self.labels)
            return loss_sum, (predictions == self.labels).sum()
        return lm_loss_sum(model, self.model_inputs, self.labels, fused)


def _count_targets(labels: torch.Tensor) -> int:
    return int((labels[..., 1:] != IGNORE_INDEX).sum())


def _padded_ids(rows: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for row, r in enumerate(rows):
        ids[row, :len(r)] = torch.tensor(r)
        mask[row, :len(r)] = 1
    return ids, mask


def collate_padded(examples: list[Example], pad_id: int) -> Batch:
    ids, mask = _padded_ids([e.input_ids for e in examples], pad_id)
    labels = torch.full_like(ids, IGNORE_INDEX)
    for row, e in enumerate(examples):
        labels[row, :len(e.labels)] = torch.tensor(e.labels)
    return Batch({"input_ids": ids, "attention_mask": mask}, labels,
                 sum(len(e.input_ids) for e in examples), _count_targets(labels))


def collate_padding_free(examples: list[Example]) -> Batch:
    ids: list[int] = []
    labels: list[int] = []
    positions: list[int] = []
    for e in examples:
        ids += e.input_ids
        start = 0
        for length in e.segment_lengths():
            # The first token of each example must not be predicted from the previous example's last token.
            labels += [IGNORE_INDEX] + e.labels[start + 1:start + length]
            positions += list(range(length))
            start += length
    label_tensor = torch.tensor([labels], dtype=torch.long)
    return Batch({"input_ids": torch.tensor([ids], dtype=torch.long),
                  "position_ids": torch.tensor([positions], dtype=torch.long)},
                 label_tensor, len(ids), _count_targets(label_tensor))


def collate_classification(examples: list[ClassExample], pad_id: int) -> Batch:
    # Right padding: the head reads the last non-padding position of each row.
    ids, mask = _padded_ids([e.input_ids for e in examples], pad_id)
    return Batch({"input_ids": ids, "attention_mask": mask}, torch.tensor([e.label for e in examples]),
                 int(mask.sum()), len(examples), classification=True)


def collate(examples: list[Any], pad_id: int, padding_free: bool) -> Batch:
    if isinstance(examples[0], ClassExample):
        return collate_classification(examples, pad_id)
    # A packed bin holds several examples that must not see each other: only the padding-free layout keeps them apart.
    if padding_free or any(len(e.segments) > 1 for e in examples):
        return collate_padding_free(examples)
    return collate_padded(examples, pad_id)


def microbatch_order(num_examples: int, batch_size: int, seed: int, epoch: int,
                     lengths: list[int] | None = None) -> list[list[int]]:
    """Shuffled example indices cut into micro-batches; the same (seed, epoch) gives the same order.

    With `lengths` (group_by_length), the shuffled order is cut into chunks of LENGTH_GROUP_CHUNK
    micro-batches and each chunk is sorted longest first, so a micro-batch holds similar lengths.
    """
    generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
    order = torch.randperm(num_examples, generator=generator).tolist()
    if lengths is not None:
        chunk = LENGTH_GROUP_CHUNK * batch_size
        order = [i for start in range(0, num_examples, chunk)
                 for i in sorted(order[start:start + chunk], key=lambda i: -lengths[i])]
    return [order[i:i + batch_size] for i in range(0, num_examples, batch_size)]


def epoch_microbatches(units: list[Any], batch_size: int, cfg: Any, epoch: int) -> list[list[int]]:
    """The micro-batches (indices into `units`) of one epoch, as the config's sampling asks."""
    lengths = [len(u.input_ids) for u in units] if cfg.group_by_length else None
    return microbatch_order(len(units), batch_size, cfg.seed, epoch, lengths)


def layout_efficiency(units: list[Any], microbatches: list[list[int]], padding_free: bool, row_capacity: int) -> float:
    """Share of the token slots of these micro-batches that hold real tokens.

    Padded rows: real tokens / (rows x widest row). Padding-free rows: 1. Packed bins (segments):
    real tokens / (bins x row_capacity), i.e. how full best-fit-decreasing got the bins.
    """
    real = slots = 0
    for mb in microbatches:
        rows = [units[i] for i in mb]
        tokens = sum(len(u.input_ids) for u in rows)
        real += tokens
        if any(getattr(u, "segments", None) for u in rows):
            slots += len(rows) * row_capacity
        elif padding_free and not isinstance(rows[0], ClassExample):
            slots += tokens
        else:
            slots += len(rows) * max(len(u.input_ids) for u in rows)
    return real / max(1, slots)
