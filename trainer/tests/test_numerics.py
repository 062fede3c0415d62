"""Numerical equivalences the loop relies on: layouts and accumulation do not change the maths."""

from __future__ import annotations

import pytest
import torch

from sft_studio.data.dataset import ConversationTokenizer, load_examples
from sft_studio.model.loss import shifted_ce_sum
from sft_studio.train.batching import collate

from .conftest import DATA, MODEL


@pytest.fixture(scope="module")
def setup(tokenizer):
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(MODEL, local_files_only=True, dtype=torch.float32,
                                                 attn_implementation="sdpa")
    conv = ConversationTokenizer(tokenizer, 256, completion_only=True)
    examples, _ = load_examples(str(DATA / "instruct_val.jsonl"), "alpaca", conv)
    # Uneven lengths on purpose: sort by length and take from both ends.
    examples = sorted(examples, key=lambda e: len(e.input_ids))
    return model, tokenizer, examples[:4] + examples[-4:]


def loss_and_grads(model, batches):
    model.zero_grad(set_to_none=True)
    total = sum(b.target_tokens for b in batches)
    value = 0.0
    for b in batches:
        loss_sum, _ = shifted_ce_sum(model(**b.model_inputs, use_cache=False).logits, b.labels)
        (loss_sum / total).backward()
        value += float(loss_sum)
    grads = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
    return value / total, grads


def rel(a, b):
    return float((a - b).norm() / b.norm()) if isinstance(a, torch.Tensor) else abs(a - b) / abs(b)


def test_padding_free_equals_padded(setup):
    model, tok, examples = setup
    padded = loss_and_grads(model, [collate(examples, tok.pad_token_id, padding_free=False)])
    packed = loss_and_grads(model, [collate(examples, tok.pad_token_id, padding_free=True)])
    assert rel(packed[0], padded[0]) <= 1e-5
    assert rel(packed[1], padded[1]) <= 1e-5


def test_accumulation_equals_one_big_batch(setup):
    model, tok, examples = setup
    big = loss_and_grads(model, [collate(examples, tok.pad_token_id, padding_free=False)])
    micro = loss_and_grads(model, [collate(examples[i:i + 2], tok.pad_token_id, padding_free=False)
                                   for i in range(0, len(examples), 2)])
    assert rel(micro[0], big[0]) <= 1e-5
    assert rel(micro[1], big[1]) <= 1e-5
    # A mean of micro-batch means would differ with uneven lengths; make sure the test can tell.
    means = []
    for i in range(0, len(examples), 2):
        b = collate(examples[i:i + 2], tok.pad_token_id, padding_free=False)
        s, _ = shifted_ce_sum(model(**b.model_inputs, use_cache=False).logits, b.labels)
        means.append(float(s) / b.target_tokens)
    assert rel(sum(means) / len(means), big[0]) > 1e-4
