"""The model-family fixtures: publishers' tokenizers and chat templates beside tiny random weights.

Built by `npm run fixtures:families` into .cache/model-families/ (listed in test/fixtures/model-families.json);
skipped when they are not there. For each family: the folder loads offline, a conversation renders with the
family's end-of-turn marker right after each assistant answer, that marker is one token the generation
config stops on, and the model runs a forward pass over the rendering.
"""

from __future__ import annotations

import json
import math

import pytest
import torch

from .conftest import REPO

MANIFEST = REPO / "test" / "fixtures" / "model-families.json"
FAMILIES = json.loads(MANIFEST.read_text())["families"]
FAMILIES_DIR = REPO / ".cache" / "model-families"

SYSTEM = "You answer in one short sentence."
QUESTIONS = ["What is the capital of France?", "How many people live there?"]
ANSWERS = ["Paris is the capital of France.", "About two million people live in Paris."]

pytestmark = pytest.mark.skipif(
    not FAMILIES_DIR.is_dir(),
    reason=f"{FAMILIES_DIR.relative_to(REPO)} is missing: run `npm run fixtures:families` to build the model-family fixtures",
)


def conversation(entry: dict) -> list[dict]:
    messages = [{"role": "system", "content": SYSTEM}] if entry["supports_system"] else []
    for question, answer in zip(QUESTIONS, ANSWERS):
        messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
    return messages


@pytest.fixture(scope="module", params=FAMILIES, ids=[f["family"] for f in FAMILIES])
def family(request):
    entry = request.param
    folder = REPO / entry["dir"]
    if not (folder / "config.json").is_file():
        pytest.skip(f"{entry['dir']} is missing: run `npm run fixtures:families`")
    from transformers import AutoTokenizer

    return entry, folder, AutoTokenizer.from_pretrained(folder, local_files_only=True)


def test_end_of_turn_follows_each_assistant_answer(family):
    entry, _, tokenizer = family
    text = tokenizer.apply_chat_template(conversation(entry), tokenize=False)
    for question in QUESTIONS:
        assert question in text
    position = 0
    for answer in ANSWERS:
        position = text.index(answer, position) + len(answer)
        assert text[position:].startswith(entry["end_of_turn"]), (
            f"{entry['family']}: expected {entry['end_of_turn']!r} after {answer!r}, got {text[position:position + 30]!r}"
        )


def test_system_prompt_is_rendered(family):
    entry, _, tokenizer = family
    if not entry["supports_system"]:
        pytest.skip(f"{entry['family']} has no system prompt")
    # Up to the last question: some templates (Mistral v0.3) place the system text before the last user turn only.
    prompt = conversation(entry)[:-1]
    text = tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
    assert SYSTEM in text


def test_end_of_turn_is_one_token_that_stops_generation(family):
    entry, folder, tokenizer = family
    from transformers import GenerationConfig

    ids = tokenizer(entry["end_of_turn"], add_special_tokens=False)["input_ids"]
    assert len(ids) == 1, f"{entry['family']}: {entry['end_of_turn']!r} tokenizes to {ids}"
    eos = GenerationConfig.from_pretrained(folder, local_files_only=True).eos_token_id
    assert ids[0] in (eos if isinstance(eos, list) else [eos])


def test_forward_pass_over_the_rendering(family):
    entry, folder, tokenizer = family
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True)
    ids = tokenizer.apply_chat_template(conversation(entry), tokenize=True, return_dict=True, return_tensors="pt")
    input_ids = ids["input_ids"]
    assert int(input_ids.max()) < model.config.vocab_size
    with torch.no_grad():
        out = model(input_ids=input_ids, labels=input_ids)
    assert out.logits.shape == (1, input_ids.shape[1], model.config.vocab_size)
    # Random weights predict close to uniformly: the loss sits near log(vocab size).
    assert math.isfinite(out.loss.item())
    assert abs(out.loss.item() - math.log(model.config.vocab_size)) < 1.0
