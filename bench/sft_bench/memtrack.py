"""Peak bytes of live tensor storage, counted the same way whatever code allocates them.

On CPU, RSS mixes in allocator caches, the Python heap and freed-but-kept pages, so it cannot compare
two training loops fairly. This mode sees every tensor an ATen op returns (forward, backward and
optimizer alike), counts each storage once while it is alive, and subtracts it when the storage is
freed. Tensors created before the mode (the loaded weights) are added with `add_module`.
"""

from __future__ import annotations

import weakref
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves


class LiveTensorBytes(TorchDispatchMode):
    def __init__(self, device_type: str = "cpu"):
        super().__init__()
        self.device_type = device_type
        self.live = 0
        self.peak = 0
        self._sizes: dict[int, int] = {}

    def _forget(self, key: int) -> None:
        self.live -= self._sizes.pop(key, 0)

    def add(self, tensor: torch.Tensor) -> None:
        if not isinstance(tensor, torch.Tensor) or tensor.device.type != self.device_type:
            return
        storage = tensor.untyped_storage()
        key = id(storage)
        if key in self._sizes:
            return
        size = storage.nbytes()
        self._sizes[key] = size
        self.live += size
        self.peak = max(self.peak, self.live)
        # The storage's Python object lives exactly as long as the storage, so its finaliser marks the free.
        weakref.finalize(storage, self._forget, key)

    def add_module(self, module: torch.nn.Module) -> None:
        for tensor in list(module.parameters()) + list(module.buffers()):
            self.add(tensor)

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        out = func(*args, **(kwargs or {}))
        for leaf in tree_leaves(out):
            self.add(leaf)
        return out
