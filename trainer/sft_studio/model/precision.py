"""Mixed precision: bf16/fp16 autocast around the forward pass, a gradient scaler for fp16, the TF32 switch.

Weights, gradients and optimizer state stay in `torch_dtype`; only the forward's matmuls run in 16 bits.
fp16 also works on CPU (PyTorch has CPU autocast and a CPU GradScaler), so it is allowed everywhere.
"""

from __future__ import annotations

import contextlib
from typing import Any, ContextManager

import torch

from ..config import RunConfig


class Precision:
    def __init__(self, cfg: RunConfig, device: torch.device):
        self.device = device
        self.autocast_dtype = torch.bfloat16 if cfg.bf16 else torch.float16 if cfg.fp16 else None
        # The scaler keeps small fp16 gradients from flushing to zero; bf16 has fp32's range and needs none.
        self.scaler = torch.amp.GradScaler(device.type) if cfg.fp16 else None
        if cfg.tf32 is not None and device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = cfg.tf32
            torch.backends.cudnn.allow_tf32 = cfg.tf32

    def autocast(self) -> ContextManager[Any]:
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    def backward(self, loss: torch.Tensor) -> None:
        (self.scaler.scale(loss) if self.scaler else loss).backward()

    def unscale(self, optimizer: torch.optim.Optimizer) -> None:
        """Bring gradients back to their true size before clipping and logging the norm."""
        if self.scaler:
            self.scaler.unscale_(optimizer)

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        """The optimizer step; with fp16 the scaler skips it when a gradient is inf/NaN and lowers its scale."""
        if not self.scaler:
            optimizer.step()
            return
        self.scaler.step(optimizer)
        self.scaler.update()

    def state_dict(self) -> dict[str, Any] | None:
        return self.scaler.state_dict() if self.scaler else None

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        if self.scaler and state:
            self.scaler.load_state_dict(state)
