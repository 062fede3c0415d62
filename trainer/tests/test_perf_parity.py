"""The fast paths give the plain paths' numbers: fused loss, per-example attention, live-tensor accounting."""

from __future__ import annotations

import pytest
import torch
from sft_bench.memtrack import LiveTensorBytes

from sft_studio.data.dataset import IGNORE_INDEX
from sft_studio.model.fused_loss import lm_loss_sum, output_projection
from sft_studio.model.varlen_attention import ATTENTION_NAME, segment_lengths, use_varlen_attention

LENGTHS = [5, 23, 9, 40, 2]


def tiny_llama(**overrides):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    fields = dict(vocab_size=300, hidden_size=48, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, tie_word_embeddings=True, attn_implementation="sdpa")
    fields.update(overrides)
    return LlamaForCausalLM(LlamaConfig(**fields)).train()


def examples():
    generator = torch.Generator().manual_seed(1)
    out = []
    for n in LENGTHS:
        ids = torch.randint(0, 300, (n,), generator=generator)
        labels = ids.clone()
        labels[: n // 2] = IGNORE_INDEX  # a prompt half that carries no loss
        out.append((ids, labels))
    return out


def padded_batch():
    width = max(LENGTHS)
    ids = torch.zeros(len(LENGTHS), width, dtype=torch.long)
    labels = torch.full_like(ids, IGNORE_INDEX)
    mask = torch.zeros_like(ids)
    for row, (i, l) in enumerate(examples()):
        ids[row, :len(i)], labels[row, :len(l)], mask[row, :len(i)] = i, l, 1
    return {"input_ids": ids, "attention_mask": mask}, labels


def padding_free_row():
    ids = torch.cat([i for i, _ in examples()])[None]
    labels = torch.cat([torch.cat([torch.tensor([IGNORE_INDEX]), l[1:]]) for _, l in examples()])[None]
    positions = torch.cat([torch.arange(n) for n in LENGTHS])[None]
    return {"input_ids": ids, "position_ids": positions}, labels


def loss_and_grads(model, inputs, labels, fused, chunk=512):
    model.zero_grad(set_to_none=True)
    loss, correct = lm_loss_sum(model, inputs, labels, fused=fused, chunk=chunk)
    (loss * 0.37).backward()  # a scaled loss, as under gradient accumulation
    grads = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
    return float(loss.detach()), int(correct), grads


def rel(a, b):
    return float((a - b).norm() / b.norm())


@pytest.mark.parametrize("layout", [padded_batch, padding_free_row])
@pytest.mark.parametrize("chunk", [7, 512])
def test_fused_loss_equals_full_logits(layout, chunk):
    model = tiny_llama()
    inputs, labels = layout()
    plain = loss_and_grads(model, inputs, labels, fused=False)
    fused = loss_and_grads(model, inputs, labels, fused=True, chunk=chunk)
    assert abs(fused[0] - plain[0]) / plain[0] <= 1e-6
    assert fused[1] == plain[1]
    assert rel(fused[2], plain[2]) <= 1e-5
    # A wrong gradient scale (e.g. ignoring the 0.37) must be visible at this tolerance.
    assert rel(fused[2] * 1.01, plain[2]) > 1e-3


def test_fused_loss_with_frozen_untied_head():
    model = tiny_llama(tie_word_embeddings=False)
    model.lm_head.weight.requires_grad_(False)
    inputs, labels = padding_free_row()
    plain = loss_and_grads(model, inputs, labels, fused=False)
    fused = loss_and_grads(model, inputs, labels, fused=True, chunk=16)
    assert abs(fused[0] - plain[0]) / plain[0] <= 1e-6 and rel(fused[2], plain[2]) <= 1e-5
    assert model.lm_head.weight.grad is None


def test_heads_the_fused_path_cannot_take_fall_back():
    model = tiny_llama()
    assert output_projection(model) is model.lm_head
    model.config.final_logit_softcapping = 30.0
    assert output_projection(model) is None
    biased = tiny_llama(tie_word_embeddings=False)
    biased.lm_head = torch.nn.Linear(48, 300, bias=True)
    assert output_projection(biased) is None


def test_segment_lengths():
    assert segment_lengths(torch.tensor([[0, 1, 2, 0, 1, 0]])) == [3, 2, 1]
    assert segment_lengths(torch.tensor([[0, 1], [0, 1]])) is None
    assert segment_lengths(torch.tensor([[3, 4, 0]])) is None


def test_segment_lengths_read_once_per_tensor_and_again_when_it_changes(monkeypatch):
    """Every layer of a forward asks with the same position_ids: the host reads them (a GPU sync) once."""
    reads = []
    real_nonzero = torch.Tensor.nonzero
    monkeypatch.setattr(torch.Tensor, "nonzero", lambda self, *a, **k: reads.append(1) or real_nonzero(self, *a, **k))
    positions = torch.tensor([[0, 1, 2, 0, 1, 0]])
    assert [segment_lengths(positions) for _ in range(24)] == [[3, 2, 1]] * 24
    assert len(reads) == 1
    positions[0, 4] = 0  # changed in place: its version moves on, the lengths are read again
    assert segment_lengths(positions) == [3, 1, 1, 1]
    assert segment_lengths(torch.tensor([[0, 1, 2, 0, 1, 0]])) == [3, 2, 1]  # another tensor, equal or not
    assert len(reads) == 3


def test_varlen_attention_equals_sdpa():
    reference = tiny_llama()
    inputs, labels = padding_free_row()
    expected = loss_and_grads(reference, inputs, labels, fused=False)
    padded_inputs, _ = padded_batch()
    with torch.no_grad():
        expected_padded = reference(**padded_inputs).logits
    model = tiny_llama()
    assert use_varlen_attention(model) and model.config._attn_implementation == ATTENTION_NAME
    got = loss_and_grads(model, inputs, labels, fused=False)
    assert abs(got[0] - expected[0]) / expected[0] <= 1e-6
    assert rel(got[2], expected[2]) <= 1e-5
    # The per-example path must differ from attention across the whole row (what a missing mask would do).
    with torch.no_grad():
        leaky = reference(input_ids=inputs["input_ids"]).logits
        exact = model(**inputs).logits
    assert (leaky - exact).abs().max() > 1e-3
    # Padded batches (evaluation, generation) go through the masked fallback with the same results.
    with torch.no_grad():
        got_padded = model(**padded_inputs).logits
    keep = padded_inputs["attention_mask"].bool()
    assert (got_padded - expected_padded)[keep].abs().max() <= 1e-5


def test_varlen_attention_generates_like_sdpa_with_left_padding():
    reference, model = tiny_llama(), tiny_llama()
    use_varlen_attention(model)
    ids = torch.tensor([[0, 0, 5, 6, 7], [1, 2, 3, 4, 5]])
    mask = torch.tensor([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]])
    kwargs = dict(attention_mask=mask, max_new_tokens=6, do_sample=False, pad_token_id=0)
    expected = reference.eval().generate(ids, **kwargs)
    assert torch.equal(model.eval().generate(ids, **kwargs), expected)


def test_sliding_window_models_keep_sdpa():
    model = tiny_llama()
    model.config.sliding_window = 16
    assert not use_varlen_attention(model)
    assert model.config._attn_implementation == "sdpa"


def test_live_tensor_bytes_counts_allocations_and_frees():
    tracker = LiveTensorBytes()
    weights = torch.nn.Linear(256, 256, bias=False)
    tracker.add_module(weights)
    assert tracker.live == 256 * 256 * 4
    with tracker:
        a = torch.ones(1000, 250)  # 1,000,000 bytes
        b = a.view(250, 1000)  # a view shares the storage: counted once
        c = a * 2  # another 1,000,000
        del a, b
        peak_before_free = tracker.peak
        del c
    assert peak_before_free == 256 * 256 * 4 + 2_000_000
    assert tracker.live == 256 * 256 * 4
    assert tracker.peak == peak_before_free


def test_fused_loss_in_bf16_matches_full_logits_within_bf16_rounding():
    """bf16 activations take the weight-gradient product on tensor cores (bf16 matmul, fp32 accumulation)."""
    model = tiny_llama().to(torch.bfloat16)
    inputs, labels = padding_free_row()
    plain = loss_and_grads(model, inputs, labels, fused=False)
    fused = loss_and_grads(model, inputs, labels, fused=True, chunk=7)
    assert abs(fused[0] - plain[0]) / plain[0] <= 1e-2
    head = model.lm_head.weight.grad
    assert head is not None and head.dtype == torch.bfloat16
    assert rel(fused[2].float(), plain[2].float()) <= 2e-2
    # A dropped chunk (1/6 of the labelled positions here) would be far outside that tolerance.
    assert rel(fused[2].float() * 0.8, plain[2].float()) > 0.1


def test_per_example_attention_keeps_cuda_off_planned_kernels():
    """On CUDA the per-example calls may use flash, memory-efficient or math kernels, never cuDNN's attention
    (a plan per new length); elsewhere nothing changes. Checked through the backend flags, so it runs on CPU."""
    from contextlib import nullcontext

    from sft_studio.model.varlen_attention import _planless_kernels

    assert isinstance(_planless_kernels(torch.device("cpu")), nullcontext)
    before = torch.backends.cuda.cudnn_sdp_enabled()
    with _planless_kernels(torch.device("cuda")):
        assert not torch.backends.cuda.cudnn_sdp_enabled()
        assert torch.backends.cuda.flash_sdp_enabled() and torch.backends.cuda.mem_efficient_sdp_enabled()
        assert torch.backends.cuda.math_sdp_enabled()
    assert torch.backends.cuda.cudnn_sdp_enabled() == before
