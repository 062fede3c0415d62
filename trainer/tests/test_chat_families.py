"""Masks on real chat templates: the publishers' tokenizer files of every major family (fetched by
`npm run fixtures:families` into .cache/model-families, see test/fixtures/model-families.json).

For single-turn, multi-turn and system-prompt conversations the trained tokens decode to exactly the
assistant contents followed by the family's end-of-turn marker, and nothing else is trained; the token
layout equals the whole conversation tokenized at once (what the model sees at inference); a short run on
each family's tiny random model lowers the loss.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from sft_studio.data.chat_templates import apply_template_choice
from sft_studio.data.conversation import IGNORE_INDEX, ConversationTokenizer
from sft_studio.data.readers import DataError

from .conftest import REPO

MANIFEST = REPO / "test" / "fixtures" / "model-families.json"
FAMILIES = json.loads(MANIFEST.read_text())["families"] if MANIFEST.is_file() else []
EMPTY_THINK = "<think>\n\n</think>\n\n"

SYSTEM = {"role": "system", "content": "You are a terse assistant."}
TURNS = [
    {"role": "user", "content": "What is the capital of Norvia?"},
    {"role": "assistant", "content": "The capital of Norvia is Quelt."},
    {"role": "user", "content": "And its river?"},
    {"role": "assistant", "content": "The Vell runs through it."},
    {"role": "user", "content": "Thanks! Anything else?"},
    {"role": "assistant", "content": "Quelt has 12 bridges."},
]


def conversations(family: dict) -> dict[str, list[dict]]:
    out = {"single": TURNS[:2], "multi": TURNS}
    if family["supports_system"]:
        out["system"] = [SYSTEM] + TURNS[:4]
    return out


def family_dir(family: dict) -> Path:
    folder = REPO / family["dir"]
    if not folder.is_dir():
        pytest.skip(f"{folder} is missing: run `npm run fixtures:families` to fetch the real tokenizers")
    return folder


def load(family: dict):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(family_dir(family)), local_files_only=True)
    apply_template_choice(tok, None)
    return tok


def trained_runs(labels: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    previous = IGNORE_INDEX
    for label in labels:
        if label != IGNORE_INDEX:
            if previous == IGNORE_INDEX:
                runs.append([])
            runs[-1].append(label)
        previous = label
    return runs


def expected_spans(family: dict, messages: list[dict], kwargs: dict) -> list[str]:
    answers = [m["content"] for m in messages if m["role"] == "assistant"]
    spans = [a + family["end_of_turn"] for a in answers]
    if family["family"] == "qwen3" and not kwargs:
        # Qwen3 writes the empty think block before the last answer but not into the generation prompt
        # (thinking is on by default), so the model must produce it and it is trained.
        spans[-1] = EMPTY_THINK + spans[-1]
    return spans


CASES = [(f, kwargs) for f in FAMILIES for kwargs in ([{}, {"enable_thinking": False}] if f["family"] == "qwen3" else [{}])]


@pytest.mark.parametrize("family, kwargs", CASES, ids=[f["family"] + ("-nothink" if k else "") for f, k in CASES])
def test_trained_tokens_are_the_answers_and_their_end_of_turn(family, kwargs):
    tok = load(family)
    conv = ConversationTokenizer(tok, 4096, completion_only=True, template_kwargs=kwargs)
    assert conv.end_of_turn[0] == family["end_of_turn"]
    for name, messages in conversations(family).items():
        if family["family"] == "mistral" and name == "system":
            # The template writes the system prompt only before the last user turn: refused with the fix.
            with pytest.raises(DataError, match="leaves the system message out"):
                conv.encode(messages, "x:1")
            continue
        example = conv.encode(messages, f"{family['family']}:{name}")
        decoded = [tok.decode(run).lstrip(" ") for run in trained_runs(example.labels)]
        assert decoded == expected_spans(family, messages, kwargs), name
        # The layout is the whole conversation tokenized at once, as inference tokenizes a prompt.
        full = conv.render(messages, add_generation_prompt=False)
        assert example.input_ids == conv.encode_text(full), name


@pytest.mark.parametrize("family", FAMILIES, ids=[f["family"] for f in FAMILIES])
def test_truncation_keeps_the_end_of_turn_and_drops_rows_without_answer(family):
    tok = load(family)
    messages = [{"role": "user", "content": "Count."}, {"role": "assistant", "content": " ".join(["one two three"] * 40)}]
    full = ConversationTokenizer(tok, 4096, completion_only=True).encode(messages, "x:1")
    prompt_len = full.labels.index(next(label for label in full.labels if label != IGNORE_INDEX))
    limit = prompt_len + 10
    cut = ConversationTokenizer(tok, limit, completion_only=True).encode(messages, "x:1")
    marker = ConversationTokenizer(tok, limit, completion_only=True).end_of_turn[1]
    assert cut.truncated and len(cut.input_ids) == limit
    assert cut.input_ids[-len(marker):] == marker and cut.labels[-len(marker):] == marker
    assert cut.input_ids[:limit - len(marker)] == full.input_ids[:limit - len(marker)]
    from sft_studio.data.conversation import OverlongRow

    with pytest.raises(OverlongRow, match="no answer token is left"):
        ConversationTokenizer(tok, prompt_len, completion_only=True).encode(messages, "x:1")


@pytest.mark.parametrize("family", FAMILIES, ids=[f["family"] for f in FAMILIES])
def test_twenty_steps_lower_the_loss(family):
    from transformers import AutoModelForCausalLM

    tok = load(family)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(str(family_dir(family)), local_files_only=True, dtype=torch.float32)
    conv = ConversationTokenizer(tok, 256, completion_only=True)
    batch = [conv.encode(m, "x") for name, m in conversations(family).items()
             if not (family["family"] == "mistral" and name == "system")]
    width = max(len(e.input_ids) for e in batch)
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    ids = torch.tensor([e.input_ids + [pad] * (width - len(e.input_ids)) for e in batch])
    labels = torch.tensor([e.labels + [IGNORE_INDEX] * (width - len(e.labels)) for e in batch])
    mask = torch.tensor([[1] * len(e.input_ids) + [0] * (width - len(e.input_ids)) for e in batch])
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    # The loss at the trained positions only, as the trainer's fused loss computes it: full logits over a
    # real vocabulary (up to 262k entries) would cost far more than the tiny model itself.
    targets = labels[:, 1:]
    trained = targets != IGNORE_INDEX
    head = model.get_output_embeddings()
    for _ in range(20):
        hidden = model.get_decoder()(input_ids=ids, attention_mask=mask).last_hidden_state[:, :-1]
        loss = torch.nn.functional.cross_entropy(head(hidden[trained]).float(), targets[trained])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    # Random weights over a real vocabulary start near ln(vocab) nats; 20 steps on 3 conversations take
    # off more than a third of that.
    assert losses[-1] < 0.65 * losses[0], losses
