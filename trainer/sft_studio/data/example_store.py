"""A dataset's examples kept compactly for the whole run, handed out as ordinary Examples one at a time.

An Example spells out input_ids and labels as Python lists: 16 bytes per token for the two lists, about 20x the
size of an Alpaca-style .json file with a byte-level tokenizer. The store keeps every example's ids in typed
arrays (2 bytes per token while the ids fit in 16 bits, 4 after that) and its labels as the token ranges that are
trained (conversation.Encoded), so holding a dataset costs about its token count times two. `Examples` is the
sequence the recipe, batching, packing and evaluation index: item i is built when asked for, equal to the Example
the encoder would have returned.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from typing import Any, Iterable

from .conversation import Encoded

# Ids go into chunks of about this many tokens, so growing the store never copies more than one chunk.
_CHUNK_TOKENS = 1 << 20


class ExampleStore:
    """Encoded examples appended one by one; `add` returns the example's slot."""

    def __init__(self) -> None:
        self._typecode = "H"
        self._chunks: list[array] = []
        self._filled = 0  # tokens in the last chunk
        self._chunk = array("i")
        self._start = array("i")
        self._length = array("i")
        self._trained = array("i")
        self._truncated = bytearray()
        self._range_at = array("i", [0])
        self._ranges = array("i")

    def add(self, encoded: Encoded) -> int:
        ids = array(self._typecode)
        try:
            ids.fromlist(encoded.ids)
        except OverflowError:  # an id past 65535: the store moves to 32-bit ids
            self._widen()
            ids = array(self._typecode, encoded.ids)
        if not self._chunks or self._filled + len(ids) > len(self._chunks[-1]):
            # Chunks are allocated once at their full size: an array grown step by step leaves the freed
            # smaller copies behind in the heap, which would cost as much again as the ids themselves.
            self._chunks.append(array(self._typecode, bytes(max(_CHUNK_TOKENS, len(ids)) * ids.itemsize)))
            self._filled = 0
        memoryview(self._chunks[-1])[self._filled:self._filled + len(ids)] = ids
        self._chunk.append(len(self._chunks) - 1)
        self._start.append(self._filled)
        self._filled += len(ids)
        self._length.append(len(ids))
        self._trained.append(_covered(encoded.ranges))
        self._truncated.append(encoded.truncated)
        for start_end in encoded.ranges:
            self._ranges.extend(start_end)
        self._range_at.append(len(self._ranges))
        return len(self._length) - 1

    def _widen(self) -> None:
        self._typecode = "i"
        self._chunks = [array("i", chunk) for chunk in self._chunks]

    def encoded(self, slot: int) -> Encoded:
        start = self._start[slot]
        ids = self._chunks[self._chunk[slot]][start:start + self._length[slot]].tolist()
        flat = self._ranges[self._range_at[slot]:self._range_at[slot + 1]]
        return Encoded(ids, list(zip(flat[::2], flat[1::2])), bool(self._truncated[slot]))

    def view(self, slots: Iterable[int]) -> "Examples":
        return Examples(self, array("i", slots))

    def length(self, slot: int) -> int:
        return self._length[slot]

    def trained(self, slot: int) -> int:
        return self._trained[slot]

    def truncated(self, slot: int) -> bool:
        return bool(self._truncated[slot])


def _covered(ranges: list[tuple[int, int]]) -> int:
    """Positions inside at least one range: the trained tokens (labels that are not IGNORE_INDEX)."""
    covered, reach = 0, 0
    for start, end in sorted(ranges):
        start = max(start, reach)
        if end > start:
            covered += end - start
            reach = end
    return covered


class Examples(Sequence):
    """Examples of a store in training order (a slot may come more than once: train_files weights)."""

    def __init__(self, store: ExampleStore, slots: array):
        self.store = store
        self.slots = slots

    def __len__(self) -> int:
        return len(self.slots)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):  # a batch: built once, as the list it always was
            return [self.store.encoded(slot).example() for slot in self.slots[index]]
        return self.store.encoded(self.slots[index]).example()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, (str, bytes)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]  # compared by value, like the list it stands for


class ObjectStore:
    """ExampleStore's interface over examples kept as they are (sequence classification's ClassExamples)."""

    def __init__(self) -> None:
        self._items: list[Any] = []

    def add(self, example: Any) -> int:
        self._items.append(example)
        return len(self._items) - 1

    def view(self, slots: Iterable[int]) -> list[Any]:
        return [self._items[slot] for slot in slots]

    def length(self, slot: int) -> int:
        return len(self._items[slot].input_ids)

    def trained(self, slot: int) -> int:
        return self._items[slot].trained_tokens

    def truncated(self, slot: int) -> bool:
        return bool(self._items[slot].truncated)
