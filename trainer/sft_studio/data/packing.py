"""Packing: turn tokenized examples into rows of at most max_length tokens.

- bfd (best-fit decreasing): whole examples go into bins, longest first, each into the fullest bin
  that still has room. A bin keeps its examples' lengths as segments, so it is laid out padding-free
  (position_ids restart per example, no attention across examples): packing decides which examples
  share a row, the layout keeps them apart.
- wrapped (classic fixed blocks): every example concatenated in order and cut every max_length tokens;
  an example may be split across blocks and attends to the ones before it in its block.
"""

from __future__ import annotations

import bisect
from typing import Any

from .dataset import Example


def pack_bfd(examples: list[Example], capacity: int) -> list[Example]:
    order = sorted(range(len(examples)), key=lambda i: -len(examples[i].input_ids))
    bins: list[list[int]] = []
    # Free space of every open bin, kept sorted, so the best fit is one bisect away.
    free: list[tuple[int, int]] = []
    for index in order:
        length = len(examples[index].input_ids)
        slot = bisect.bisect_left(free, (length, -1))
        if slot < len(free):
            space, bin_id = free.pop(slot)
        else:
            space, bin_id = capacity, len(bins)
            bins.append([])
        bins[bin_id].append(index)
        if space - length > 0:
            bisect.insort(free, (space - length, bin_id))
    return [_concat([examples[i] for i in members]) for members in bins]


def _concat(members: list[Example]) -> Example:
    ids: list[int] = []
    labels: list[int] = []
    for e in members:
        ids += e.input_ids
        labels += e.labels
    return Example(ids, labels, any(e.truncated for e in members), [len(e.input_ids) for e in members])


def pack_wrapped(examples: list[Example], block: int) -> list[Example]:
    """Fixed blocks of `block` tokens; the remainder becomes a last, shorter block (no token is dropped)."""
    ids = [t for e in examples for t in e.input_ids]
    labels = [t for e in examples for t in e.labels]
    return [Example(ids[i:i + block], labels[i:i + block]) for i in range(0, len(ids), block)]


def pack_for_training(examples: list[Any], cfg: Any) -> list[Any]:
    """The training units the config asks for: the examples themselves, or packed rows."""
    if not cfg.packing:
        return examples
    if cfg.packing_strategy == "wrapped":
        return pack_wrapped(examples, cfg.max_length)
    return pack_bfd(examples, cfg.max_length)
