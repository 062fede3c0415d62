"""Peak training memory per device, predicted from the run config and the model's shape (no weights loaded).

The peak of a training step is not the sum of everything a step ever allocates: the activations a
forward pass saves are freed layer by layer in the backward pass while the gradients appear, and the
loss's logits live for a moment only. So the estimate replays one optimizer step as a ledger of the
tensors PyTorch allocates and frees (ledger.py), in the order the recipe's forward (forward.py), loss
(loss_head.py), backward (backward.py) and optimizer step (step.py) create them, and reports the largest
total and what made it up at that moment (this module is the entry; inputs.py holds what it reads):

- weights: every parameter, in `torch_dtype` (LoRA adapters in float32: peft keeps them there);
- optimizer: AdamW's two moments per trainable parameter, in the parameter's dtype;
- gradients: the `.grad` tensors alive at the peak (all of them from the second micro-batch of an
  accumulated step on, none during the first forward pass: `zero_grad(set_to_none=True)` freed them);
- activations: what autograd saved for the backward pass (or, with gradient checkpointing, each
  decoder layer's input plus one recomputed layer);
- logits: the loss head's tensors: vocabulary-wide logits, their float32 copy, log-softmax and its
  gradient, or the fused loss's chunk logits and its saved gradients;
- buffers: short-lived tensors: autocast's 16-bit weight copies, attention masks, rotary tables, the
  gradients flowing backward through a layer, dropout noise, the batch itself.

The ledger follows the Llama-style decoder (RMSNorm, q/k/v/o projections with rotary embeddings, SDPA,
gated MLP) that the trainer's models share, with the trainer's own paths: padded or padding-free rows,
per-example (varlen) attention, the fused cross-entropy, LoRA, frozen layers, autocast, gradient
accumulation and FSDP sharding. Sizes are live tensor bytes, the quantity `LiveTensorBytes`
(bench/sft_bench/memtrack.py) measures (bench/README.md, "Memory estimator", validates the prediction against it). A CUDA process also holds its context and the caching allocator's slack, which
are not tensors and are not included.
"""

from __future__ import annotations

from .inputs import MemoryEstimate, MicroBatch, Parameters, Shape, Training
from .step import Step


def estimate_memory(shape: Shape, params: Parameters, run: Training, batch: MicroBatch) -> MemoryEstimate:
    """Peak live tensor bytes of one optimizer step on one device, and what is alive at that moment."""
    return Step(shape, params, run, batch).replay()
