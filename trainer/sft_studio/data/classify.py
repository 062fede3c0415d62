"""Sequence classification: rows with a text (and optionally a text pair) and an integer label.

Encoding: tokenizers that define a separator token (encoder models) build the pair themselves
(`[CLS] a [SEP] b [SEP]`); others get the ids of `a + "\n" + b`, then EOS. The pair is joined with a
newline, not EOS, because a decoder pre-trained on EOS-separated documents learns not to look back
across EOS, and the second text must be compared with the first. A decoder model's classification
head reads the last non-padding position, so ending every example with EOS gives it the same token to
read from.

Truncation to max_length keeps that ending: the texts are cut, never the separator or EOS, and a pair
is cut longest-first (a token off the end of whichever text is longer, until it fits), as Hugging Face
tokenizers do for pairs; cutting the joined ids from the right would drop the EOS the head reads and,
with a long first text, the whole second one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from ..errors import DataError
from .readers import Row


@dataclass
class ClassExample:
    input_ids: list[int]
    label: int
    truncated: bool = False

    @property
    def trained_tokens(self) -> int:
        """One target per example: its label."""
        return 1


def auto_model_class(cfg: Any) -> tuple[Any, dict[str, Any]]:
    """The transformers Auto class for the config's task, with the keyword arguments it needs."""
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    if cfg.task == "sequence_classification":
        return AutoModelForSequenceClassification, {"num_labels": cfg.num_labels}
    return AutoModelForCausalLM, {}


class ClassificationEncoder:
    def __init__(self, tokenizer: Any, max_length: int, num_labels: int):
        self.tok = tokenizer
        self.max_length = max_length
        self.num_labels = num_labels
        self.end_id = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.pad_token_id

    def encode_row(self, row: Row) -> ClassExample:
        text = self._text(row, "text", required=True)
        pair = self._text(row, "text_pair", required=False)
        return self.encode(text, pair, self._label(row))

    def encode(self, text: str, pair: str | None, label: int) -> ClassExample:
        if self.tok.sep_token_id is not None:
            full = self.tok(text, pair, add_special_tokens=True)["input_ids"]
            if len(full) <= self.max_length:
                return ClassExample(list(full), label)
            ids = self.tok(text, pair, add_special_tokens=True, truncation="longest_first",
                           max_length=self.max_length)["input_ids"]
            return ClassExample(list(ids), label, True)
        if pair is None:
            ids = list(self.tok(text, add_special_tokens=False)["input_ids"])
            keep = max(0, self.max_length - 1)
            return ClassExample(ids[:keep] + [self.end_id], label, len(ids) > keep)
        first, sep, second = self._split_pair(text, pair)
        budget = max(0, self.max_length - len(sep) - 1)
        truncated = len(first) + len(second) > budget
        while len(first) + len(second) > budget:
            (first if len(first) >= len(second) else second).pop()
        return ClassExample(first + sep + second + [self.end_id], label, truncated)

    def _split_pair(self, text: str, pair: str) -> tuple[list[int], list[int], list[int]]:
        """The ids of `text + "\n" + pair`, split into the first text's, the separator's and the second's.

        The joined text is encoded once, so the ids are those of the whole string; character offsets say
        which ids belong to which text (ids that span the newline count as separator and are never cut)."""
        joined = f"{text}\n{pair}"
        try:
            encoded = self.tok(joined, add_special_tokens=False, return_offsets_mapping=True)
        except NotImplementedError:  # slow tokenizers have no offsets: encode the parts on their own
            return tuple(list(self.tok(s, add_special_tokens=False)["input_ids"]) for s in (text, "\n", pair))
        ids, spans = list(encoded["input_ids"]), encoded["offset_mapping"]
        n_first = sum(1 for _, end in spans if end <= len(text))
        n_second = sum(1 for start, _ in spans if start > len(text))
        return ids[:n_first], ids[n_first:len(ids) - n_second], ids[len(ids) - n_second:]

    @staticmethod
    def _text(row: Row, name: str, required: bool) -> str | None:
        value = row.get(name)
        if value is None:
            if required:
                raise row.missing(name)
            return None
        if not isinstance(value, str):
            raise DataError(f"{row.where}: field `{row.column(name)}` must be a string, got {type(value).__name__}")
        return value

    def _label(self, row: Row) -> int:
        value = row.get("label")
        if value is None:
            raise row.missing("label")
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)  # CSV cells are text
        if isinstance(value, bool) or not isinstance(value, int):
            raise DataError(f"{row.where}: field `{row.column('label')}` must be a whole number, got {value!r}",
                            f"Write labels as class indices 0..{self.num_labels - 1}.")
        if not 0 <= value < self.num_labels:
            raise DataError(f"{row.where}: label {value} is outside 0..{self.num_labels - 1} (num_labels: {self.num_labels})",
                            "Raise `num_labels` in the config or fix the label.")
        return value


def classification_outputs(model: Any, inputs: dict[str, torch.Tensor], labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed cross-entropy over the batch's examples, and the predicted class of each."""
    logits = model(**inputs).logits.float()
    return F.cross_entropy(logits, labels, reduction="sum"), logits.argmax(dim=-1)


def accuracy_and_f1(predictions: list[int], labels: list[int], num_labels: int) -> dict[str, float]:
    """Accuracy, and F1 of class 1 for two classes (as GLUE reports it) or macro F1 for more."""
    accuracy = sum(p == t for p, t in zip(predictions, labels)) / max(1, len(labels))

    def f1(cls: int) -> float:
        tp = sum(p == cls and t == cls for p, t in zip(predictions, labels))
        fp = sum(p == cls and t != cls for p, t in zip(predictions, labels))
        fn = sum(p != cls and t == cls for p, t in zip(predictions, labels))
        return 2 * tp / (2 * tp + fp + fn) if tp else 0.0

    score = f1(1) if num_labels == 2 else sum(f1(c) for c in range(num_labels)) / num_labels
    return {"accuracy": accuracy, "f1": score}
