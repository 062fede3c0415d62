"""Packing and sampling: best-fit-decreasing bins, fixed blocks, length grouping, and the numerical
equivalence of a BFD-packed padding-free batch with the padded batch of the same examples."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from sft_studio.data.dataset import IGNORE_INDEX, ConversationTokenizer, Example, load_examples
from sft_studio.data.packing import pack_bfd, pack_wrapped
from sft_studio.train.batching import collate, epoch_microbatches, layout_efficiency, microbatch_order

from .conftest import DATA, MODEL
from .test_numerics import loss_and_grads, rel


def ex(length: int, start: int = 0) -> Example:
    ids = list(range(start, start + length))
    return Example(ids, [IGNORE_INDEX] + ids[1:])


def test_bfd_puts_each_example_in_the_fullest_bin_that_fits():
    examples = [ex(n, 100 * i) for i, n in enumerate([5, 7, 3, 4, 1, 6])]
    bins = pack_bfd(examples, 10)
    # Decreasing: 7 -> A, 6 -> B, 5 -> C, 4 -> B (fits 4, best), 3 -> A (fits 3, best), 1 -> C (5 left, only fit).
    assert [b.segments for b in bins] == [[7, 3], [6, 4], [5, 1]]
    assert bins[0].input_ids == examples[1].input_ids + examples[2].input_ids
    assert bins[0].labels == examples[1].labels + examples[2].labels


def test_bfd_keeps_every_example_once_and_respects_capacity(tokenizer):
    conv = ConversationTokenizer(tokenizer, 128, completion_only=True)
    examples, stats = load_examples(str(DATA / "instruct_val.jsonl"), "alpaca", conv)
    bins = pack_bfd(examples, 512)
    assert all(len(b.input_ids) <= 512 and sum(b.segments) == len(b.input_ids) for b in bins)
    packed = sorted(tuple(b.input_ids[s - n:s]) for b in bins
                    for s, n in zip(torch.tensor(b.segments).cumsum(0).tolist(), b.segments))
    assert packed == sorted(tuple(e.input_ids) for e in examples)
    assert sum(b.trained_tokens for b in bins) == stats.trained_tokens
    # A lower bound on the bins any packing needs; BFD on short examples gets within one bin of it.
    assert len(bins) <= -(-stats.tokens // 512) + 1


def test_wrapped_blocks_cut_the_stream_every_max_length():
    examples = [ex(n, 100 * i) for i, n in enumerate([5, 7, 3, 4])]
    blocks = pack_wrapped(examples, 8)
    assert [len(b.input_ids) for b in blocks] == [8, 8, 3]
    assert sum((b.input_ids for b in blocks), []) == sum((e.input_ids for e in examples), [])
    assert sum((b.labels for b in blocks), []) == sum((e.labels for e in examples), [])
    assert all(not b.segments for b in blocks)


def test_length_grouping_sorts_within_chunks_and_keeps_every_index():
    lengths = [(i * 37) % 101 for i in range(400)]
    plain = microbatch_order(400, 4, seed=3, epoch=0)
    grouped = microbatch_order(400, 4, seed=3, epoch=0, lengths=lengths)
    assert grouped == microbatch_order(400, 4, seed=3, epoch=0, lengths=lengths)
    assert sorted(sum(grouped, [])) == list(range(400))
    chunk = sum(grouped[:50], [])
    assert chunk == sorted(sum(plain[:50], []), key=lambda i: -lengths[i])
    units = [ex(n + 1) for n in lengths]
    assert layout_efficiency(units, grouped, False, 0) > layout_efficiency(units, plain, False, 0) + 0.2


def test_padding_free_changes_layout_not_composition():
    cfg = SimpleNamespace(group_by_length=False, seed=1, per_device_train_batch_size=4)
    units = [ex(n) for n in range(3, 40)]
    order = epoch_microbatches(units, 4, cfg, 0)
    padded = [collate([units[i] for i in mb], 0, padding_free=False) for mb in order]
    flat = [collate([units[i] for i in mb], 0, padding_free=True) for mb in order]
    for a, b in zip(padded, flat):
        assert a.tokens == b.tokens and a.target_tokens == b.target_tokens
        assert a.labels[a.labels != IGNORE_INDEX].tolist() == b.labels[b.labels != IGNORE_INDEX].tolist()


def test_bfd_bins_are_laid_out_padding_free():
    bins = pack_bfd([ex(5), ex(3)], 10)
    batch = collate(bins, 0, padding_free=False)
    assert batch.model_inputs["position_ids"].tolist() == [[0, 1, 2, 3, 4, 0, 1, 2]]
    assert "attention_mask" not in batch.model_inputs
    assert batch.labels.tolist()[0][5] == IGNORE_INDEX


@pytest.fixture(scope="module")
def model_and_examples(tokenizer):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(MODEL, local_files_only=True, dtype=torch.float32,
                                                 attn_implementation="sdpa")
    conv = ConversationTokenizer(tokenizer, 256, completion_only=True)
    examples, _ = load_examples(str(DATA / "chat_val.jsonl"), "messages", conv)
    examples = sorted(examples[:40], key=lambda e: len(e.input_ids))
    return model, tokenizer, examples[:6] + examples[-6:]


def test_bfd_packed_loss_and_gradients_equal_the_padded_batch(model_and_examples):
    model, tok, examples = model_and_examples
    capacity = max(len(e.input_ids) for e in examples) + 20
    bins = pack_bfd(examples, capacity)
    assert 1 < len(bins) < len(examples) and any(len(b.segments) > 1 for b in bins)
    padded = loss_and_grads(model, [collate(examples, tok.pad_token_id, padding_free=False)])
    packed = loss_and_grads(model, [collate(bins, tok.pad_token_id, padding_free=False)])
    assert rel(packed[0], padded[0]) <= 1e-5
    assert rel(packed[1], padded[1]) <= 1e-5
