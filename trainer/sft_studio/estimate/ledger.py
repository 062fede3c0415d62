"""The bookkeeping of the replay: a ledger of live bytes per part that remembers its peak, the tape of what one
decoder layer's forward pass leaves for its backward pass, and the state every phase of the step shares (the
run's facts, the dtypes, fsdp's sharding) with the rules for a parameter's gradient and fsdp's gathered layers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .inputs import PARTS, MicroBatch, Parameters, Shape, Training


class Ledger:
    """Live bytes per part; remembers the largest total, the parts at that moment and the phase."""

    def __init__(self) -> None:
        self.live = dict.fromkeys(PARTS, 0)
        self.total = 0
        self.peak = -1
        self.at_peak = dict(self.live)
        self.phase = ""
        self.peak_phase = ""

    def add(self, part: str, nbytes: float) -> None:
        nbytes = int(nbytes)
        self.live[part] += nbytes
        self.total += nbytes
        if self.total > self.peak:
            self.peak, self.at_peak, self.peak_phase = self.total, dict(self.live), self.phase

    def sub(self, part: str, nbytes: float) -> None:
        nbytes = int(nbytes)
        self.live[part] -= nbytes
        self.total -= nbytes

    def spike(self, part: str, nbytes: float) -> None:
        """A tensor that lives for one operation."""
        self.add(part, nbytes)
        self.sub(part, nbytes)


@dataclass
class Tape:
    """What one decoder layer's forward pass left for its backward pass."""

    saved: dict[str, int] = field(default_factory=dict)
    """Tensors autograd keeps, by name (a tensor kept by two operations counts once)."""
    copies: dict[str, int] = field(default_factory=dict)
    """Autocast's 16-bit weight copies kept by each projection's matmul until its backward."""
    cached: int = 0
    """Autocast copies of trainable weights that only the autocast cache holds (until the forward ends)."""
    transient: int = 0
    """The largest set of temporaries alive at once inside the layer's forward pass."""
    flags: dict[str, Any] = field(default_factory=dict)

    def keep(self, name: str, nbytes: float) -> None:
        self.saved.setdefault(name, int(nbytes))

    @property
    def saved_bytes(self) -> int:
        return sum(self.saved.values())


class StepState:
    """One optimizer step in steady state (the optimizer state exists), replayed on a ledger: what every phase
    (forward.py, loss_head.py, backward.py, step.py) reads and the accounting they share."""

    def __init__(self, shape: Shape, params: Parameters, run: Training, batch: MicroBatch):
        self.s, self.p, self.run, self.b = shape, params, run, batch
        self.t = batch.tokens
        self.pb = run.param_bytes
        # Under autocast the residual stream, the norms and the rotary tables stay in the weights' dtype
        # and matmul outputs are 16-bit; without autocast everything is in the weights' dtype.
        self.cb = 2 if run.autocast else self.pb
        self.ledger = Ledger()
        self.accumulating = False
        """Gradients exist already (second micro-batch): new ones are added in place."""
        self.sharded = run.fsdp != "no" and run.world_size > 1
        self.ranks = run.world_size if self.sharded else 1
        # The fused loss needs a plain Linear head; otherwise the recipe computes the model's full logits.
        self.fused = run.fused_loss and params.plain_head

    # ------------------------------------------------------------------ gradients
    def param_grad(self, numel: int, nbytes: int, autocast_copy: bool = False) -> None:
        """A parameter's gradient. Under autocast the matmul yields it in 16 bits and the cast back to the
        weight's dtype allocates the real one. A later contribution (accumulation, the tied embedding) is
        added in place, so only its temporary exists."""
        L = self.ledger
        if autocast_copy:
            L.spike("buffers", numel * 2)
        if self.accumulating and not self.sharded:
            L.spike("gradients", numel * nbytes)
        else:
            L.add("gradients", numel * nbytes)  # (under fsdp every backward makes full-size gradients anew)

    def mask_elements(self) -> int:
        b = self.b
        width = b.tokens // max(1, b.rows)
        return b.rows * width * width

    def gathered_layers(self) -> list[int]:
        """Bytes each decoder layer's full weights take while fsdp has them gathered."""
        p = self.p
        if len(p.layer_weight_bytes) == len(p.layers):
            return list(p.layer_weight_bytes)
        per_layer = sum(lin.fan_in * lin.fan_out for lin in p.layers[0].linears.values()) if p.layers else 0
        return [per_layer * self.pb for _ in p.layers]
