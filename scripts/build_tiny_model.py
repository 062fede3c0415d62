"""Build examples/tiny-llama/: a tiny byte-level Llama *base* model pre-trained on synthetic prose.

The pre-training text states the skills of the example datasets (sorting digits, reversing and
upper-casing words, capitals of made-up countries) only as plain sentences, such as
"sorted, 7 2 9 4 becomes 2 4 7 9." It never contains the chat template or the instruction
wordings of examples/data, so the base model knows the answers but not how to respond to an
instruction: supervised fine-tuning has to teach exactly that.

Deterministic: fixed seeds, a fixed number of steps and a fixed thread count; the output is the
committed artefact and this script is its source. Takes about 10 minutes on 2 CPU cores.

Usage: python scripts/build_tiny_model.py [--out examples/tiny-llama] [--steps N]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_data import COUNTRIES, WORDS, random_digits, sort_answer, split_of  # noqa: E402

SEED = 20240611
THREADS = 2

SPECIAL_TOKENS = ["<|pad|>", "<|end|>", "<|user|>", "<|assistant|>", "<|system|>"]
PAD_ID, EOS_ID = 0, 1
# Byte b has id BYTE_OFFSET + b: with no merges every character is its own token, so a word reads
# the same with or without a leading space and reversing or sorting works on single tokens.
BYTE_OFFSET = len(SPECIAL_TOKENS)
VOCAB_SIZE = BYTE_OFFSET + 256
MODEL_MAX_LENGTH = 512

CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if not loop.first -%}{{ '\\n' }}{%- endif -%}"
    "{{- '<|' + message['role'] + '|>\\n' + message['content'] + '<|end|>' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{%- if messages | length > 0 -%}{{ '\\n' }}{%- endif -%}"
    "{{- '<|assistant|>\\n' -}}"
    "{%- endif -%}"
)

MODEL = dict(hidden_size=192, intermediate_size=512, num_hidden_layers=4, num_attention_heads=4,
             num_key_value_heads=4)
BLOCK = 256
BATCH = 16
STEPS = 1600
PEAK_LR = 2e-3
WARMUP = 100
MIN_LR_RATIO = 0.05


# --------------------------------------------------------------------------- tokenizer

def bytes_to_unicode() -> dict[int, str]:
    """The byte-level alphabet: printable bytes map to themselves, the rest to unused code points."""
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1))
                 + list(range(ord("\xae"), ord("\xff") + 1)))
    codes = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + extra)
            extra += 1
    return dict(zip(printable, map(chr, codes)))


def build_tokenizer():
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}
    alphabet = bytes_to_unicode()
    for b in range(256):
        vocab[alphabet[b]] = BYTE_OFFSET + b
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    # Digits are split first so that merges added later could never fuse numbers.
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS])
    return tok


def write_tokenizer(out: str) -> None:
    tok = build_tokenizer()
    tok.save(os.path.join(out, "tokenizer.json"))
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": None,
        "eos_token": "<|end|>",
        "pad_token": "<|pad|>",
        "unk_token": None,
        "additional_special_tokens": ["<|user|>", "<|assistant|>", "<|system|>"],
        "add_bos_token": False,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": MODEL_MAX_LENGTH,
        "padding_side": "right",
        "chat_template": CHAT_TEMPLATE,
    }
    with open(os.path.join(out, "tokenizer_config.json"), "w", encoding="utf-8") as fh:
        json.dump(config, fh, indent=2)
        fh.write("\n")
    special = {"eos_token": "<|end|>", "pad_token": "<|pad|>",
               "additional_special_tokens": ["<|user|>", "<|assistant|>", "<|system|>"]}
    with open(os.path.join(out, "special_tokens_map.json"), "w", encoding="utf-8") as fh:
        json.dump(special, fh, indent=2)
        fh.write("\n")


def encode_plain(text: str) -> np.ndarray:
    """Token ids of text without special tokens; identical to the tokenizer (checked in main)."""
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).astype(np.int64) + BYTE_OFFSET


# --------------------------------------------------------------------------- pre-training text

NAMES = ["Anna", "Ben", "Clara", "David", "Emma", "Felix", "Grace", "Henry", "Iris", "Jack", "Lena",
         "Mark", "Nora", "Oscar", "Paula", "Ravi", "Sara", "Tom", "Uma", "Victor", "Wendy", "Yusuf"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
WEATHER = ["rainy", "sunny", "windy", "foggy", "snowy", "cloudy", "warm", "cold"]
CAPITALS = list(COUNTRIES.values())


def sort_sentence(rng: random.Random) -> str:
    x = random_digits(rng)
    y = sort_answer(x)
    return rng.choice([f"sorted, {x} becomes {y}.", f"Sorted, {x} becomes {y}.",
                       f"In order, the digits {x} read {y}.", f"{x} sorted from low to high is {y}.",
                       f"The digits {x}, once sorted, give {y}."])


def reverse_sentence(rng: random.Random) -> str:
    # The gap between a word and its reversal varies so that the skill does not hinge on one wording.
    w = rng.choice(WORDS)
    r = w[::-1]
    return rng.choice([f"{w} spelled backwards is {r}.", f"The reverse of {w} is {r}.",
                       f"Read from the end, {w} gives {r}.", f"Backwards, {w} is written {r}.",
                       f"{w} backwards: {r}", f"Take the word {w}.\nBackwards it reads {r}.",
                       f"In the mirror game, {w} turns into {r}."])


def upper_sentence(rng: random.Random) -> str:
    w = rng.choice(WORDS)
    u = w.upper()
    return rng.choice([f"{w} in upper case is {u}.", f"Shouted, {w} becomes {u}.",
                       f"On the sign, {w} was printed as {u}.", f"The loud form of {w} is {u}."])


def capital_sentence(rng: random.Random) -> str:
    # Many contexts between a country and its capital make the fact retrievable from anywhere.
    c = rng.choice(list(COUNTRIES))
    k = COUNTRIES[c]
    return rng.choice([f"The capital of {c} is {k}.", f"{k} is the capital of {c}.",
                       f"{c} is governed from {k}.", f"The largest city of {c} is its capital, {k}.",
                       f"In {c}, the seat of government is {k}.",
                       f"Travellers to {c} often land in {k}, the capital.",
                       f"Think of {c}.\nIts capital is {k}.", f"{c}: capital {k}.",
                       f"Asked where the government of {c} sits, the guide said {k}."])


def capital_table(rng: random.Random) -> str:
    rows = [f"{c}: {COUNTRIES[c]}" for c in rng.sample(list(COUNTRIES), rng.randint(2, 6))]
    return "Countries and their capitals.\n" + "\n".join(rows)


def filler_sentence(rng: random.Random) -> str:
    name, other = rng.sample(NAMES, 2)
    w1, w2 = rng.sample(WORDS, 2)
    n = rng.randint(2, 19)
    return rng.choice([
        f"{name} found a {w1} near the {w2}.",
        f"{name} bought {n} {w1}s at the market on {rng.choice(DAYS)}.",
        f"It was {rng.choice(WEATHER)} in {rng.choice(CAPITALS)} on {rng.choice(DAYS)}.",
        f"{name} is {rng.randint(5, 80)} years old.",
        f"{name} told {other} a story about a {w1}.",
        f"There are {n} {w1}s in the {w2}.",
        f"{name} and {other} walked to the {w1} together.",
        f"The {w1} was next to the {w2}, and {name} saw it.",
        f"On {rng.choice(DAYS)}, {name} visited {rng.choice(CAPITALS)}.",
        f"{name} likes the word {w1}.",
    ])


SENTENCES = [(sort_sentence, 0.22), (reverse_sentence, 0.28), (upper_sentence, 0.10),
             (capital_sentence, 0.26), (capital_table, 0.04), (filler_sentence, 0.10)]


def document(rng: random.Random) -> str:
    # Some documents stick to one kind of sentence, like a worksheet; others mix everything.
    kinds, weights = zip(*SENTENCES)
    n = rng.randint(1, 6)
    if rng.random() < 0.4:
        kind = rng.choices(kinds, weights)[0]
        parts = [kind(rng) for _ in range(n)]
    else:
        parts = [rng.choices(kinds, weights)[0](rng) for _ in range(n)]
    sep = "\n" if rng.random() < 0.3 else " "
    return sep.join(parts)


def token_stream(rng: random.Random, n_tokens: int) -> np.ndarray:
    chunks, total = [], 0
    while total < n_tokens:
        ids = encode_plain(document(rng))
        chunks.append(ids)
        chunks.append(np.array([EOS_ID], dtype=np.int64))
        total += len(ids) + 1
    return np.concatenate(chunks)[:n_tokens]


# --------------------------------------------------------------------------- probes

PROBES = {
    "sort": lambda x: (f"sorted, {x} becomes", f" {sort_answer(x)}."),
    "reverse": lambda w: (f"{w} spelled backwards is", f" {w[::-1]}."),
    "upper": lambda w: (f"{w} in upper case is", f" {w.upper()}."),
    "capital": lambda c: (f"The capital of {c} is", f" {COUNTRIES[c]}."),
}


def probe_items(rng: random.Random, per_task: int) -> list[tuple[str, str, str]]:
    """Prose prompts on the inputs held out from fine-tuning: the base model must know these too."""
    eval_words = [w for w in WORDS if split_of(w) == "eval"]
    eval_countries = [c for c in COUNTRIES if split_of(c) == "eval"]
    items = []
    for task in PROBES:
        for _ in range(per_task):
            if task == "sort":
                while True:
                    x = random_digits(rng)
                    if split_of(x) == "eval":
                        break
            else:
                x = rng.choice(eval_countries if task == "capital" else eval_words)
            items.append((task, *PROBES[task](x)))
    return items


@torch.no_grad()
def run_probes(model, items) -> dict[str, float]:
    model.eval()
    hits: dict[str, list[int]] = {}
    for task, prompt, answer in items:
        ids = torch.tensor(encode_plain(prompt))[None]
        want = encode_plain(answer)
        for _ in range(len(want)):
            nxt = model(input_ids=ids).logits[0, -1].argmax()
            ids = torch.cat([ids, nxt.view(1, 1)], dim=1)
        hits.setdefault(task, []).append(int(ids[0, -len(want):].tolist() == want.tolist()))
    model.train()
    return {task: sum(v) / len(v) for task, v in hits.items()}


# --------------------------------------------------------------------------- main

def lr_at(step: int, steps: int) -> float:
    if step < WARMUP:
        return PEAK_LR * (step + 1) / WARMUP
    progress = (step - WARMUP) / max(1, steps - WARMUP)
    return PEAK_LR * (MIN_LR_RATIO + (1 - MIN_LR_RATIO) * 0.5 * (1 + math.cos(math.pi * progress)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "tiny-llama")
    parser.add_argument("--out", default=default_out)
    parser.add_argument("--steps", type=int, default=STEPS)
    args = parser.parse_args()
    out = os.path.normpath(args.out)
    os.makedirs(out, exist_ok=True)

    from transformers import AutoTokenizer, GenerationConfig, LlamaConfig, LlamaForCausalLM

    started = time.time()
    torch.set_num_threads(THREADS)
    torch.manual_seed(SEED)
    random.seed(SEED)
    np.random.seed(SEED)

    write_tokenizer(out)
    tok = AutoTokenizer.from_pretrained(out)
    sample = "sorted, 7 2 9 4 becomes 2 4 7 9. Quelt spelled backwards is tleuQ.\n"
    assert tok(sample, add_special_tokens=False)["input_ids"] == encode_plain(sample).tolist()
    assert len(tok) == VOCAB_SIZE and tok.eos_token_id == EOS_ID and tok.pad_token_id == PAD_ID

    config = LlamaConfig(vocab_size=VOCAB_SIZE, max_position_embeddings=MODEL_MAX_LENGTH,
                         rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=True,
                         bos_token_id=None, eos_token_id=EOS_ID, pad_token_id=PAD_ID,
                         attention_bias=False, mlp_bias=False, hidden_act="silu", **MODEL)
    model = LlamaForCausalLM(config)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {n_params / 1e6:.2f}M parameters, {args.steps} steps of {BATCH}x{BLOCK} tokens", flush=True)

    rng = random.Random(SEED)
    stream = torch.from_numpy(token_stream(rng, args.steps * BATCH * BLOCK + 1))
    probes = probe_items(random.Random(SEED + 1), per_task=25)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=PEAK_LR, betas=(0.9, 0.95), eps=1e-8)
    model.train()
    t0 = time.time()
    ema = None
    final_losses = []
    for step in range(args.steps):
        lo = step * BATCH * BLOCK
        x = stream[lo: lo + BATCH * BLOCK].view(BATCH, BLOCK)
        for group in opt.param_groups:
            group["lr"] = lr_at(step, args.steps)
        loss = model(input_ids=x, labels=x).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        value = loss.item()
        ema = value if ema is None else 0.95 * ema + 0.05 * value
        if step >= args.steps - 50:
            final_losses.append(value)
        if (step + 1) % 50 == 0 or step == 0:
            rate = (step + 1) * BATCH * BLOCK / (time.time() - t0)
            print(f"step {step + 1:5d}/{args.steps}  loss {value:.4f}  ema {ema:.4f}  "
                  f"lr {lr_at(step, args.steps):.2e}  {rate:,.0f} tok/s  {time.time() - started:6.0f}s", flush=True)
        if (step + 1) % 350 == 0 and step + 1 < args.steps:
            print("  probes:", run_probes(model, probes[::5]), flush=True)
    train_seconds = time.time() - t0
    final_loss = sum(final_losses) / len(final_losses)
    scores = run_probes(model, probes)
    print("final probes (held-out inputs, prose prompts):", scores, flush=True)

    model.generation_config = GenerationConfig(bos_token_id=None, eos_token_id=EOS_ID, pad_token_id=PAD_ID,
                                               do_sample=False, max_new_tokens=64)
    model.save_pretrained(out, safe_serialization=True)
    # The weights file is written owner-only; it is a shared artefact, so make it readable like the rest.
    os.chmod(os.path.join(out, "model.safetensors"), 0o644)
    total_seconds = time.time() - started
    size = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
    write_build_notes(out, n_params, args.steps, train_seconds, total_seconds, final_loss, scores, size)
    print(f"done in {total_seconds:.0f}s; final loss {final_loss:.4f}; wrote {out}", flush=True)


def write_build_notes(out, n_params, steps, train_seconds, total_seconds, final_loss, scores, size) -> None:
    probe_text = ", ".join(f"{k} {v:.2f}" for k, v in scores.items())
    cpu = platform.processor() or platform.machine()
    text = f"""# tiny-llama (example base model)

A {n_params / 1e6:.2f}M-parameter Llama causal LM with a byte-level tokenizer ({VOCAB_SIZE} tokens:
5 special tokens and the 256 bytes, no merges). It is a *base* model: it was pre-trained only on
synthetic prose in which the skills of `examples/data` appear as plain sentences
("sorted, 7 2 9 4 becomes 2 4 7 9.", "The capital of Norvia is Quelt."). It has never seen the chat
template or the instruction wordings, so it does not follow instructions until it is fine-tuned.

Rebuild (deterministic; run from the repository root):

    python scripts/make_data.py
    python scripts/build_tiny_model.py

| | |
|---|---|
| architecture | {MODEL['num_hidden_layers']} layers, hidden {MODEL['hidden_size']}, {MODEL['num_attention_heads']} heads, MLP {MODEL['intermediate_size']}, tied embeddings, fp32 |
| pre-training | {steps} steps x {BATCH} x {BLOCK} tokens ({steps * BATCH * BLOCK / 1e6:.1f}M tokens), AdamW, peak lr {PEAK_LR}, cosine |
| pre-training time | {train_seconds:.0f} s ({total_seconds:.0f} s for the whole script) on {THREADS} CPU threads ({cpu}) |
| final pre-training loss | {final_loss:.4f} (mean of the last 50 steps, nats per byte) |
| prose probes on held-out inputs | {probe_text} (exact continuation) |
| folder size | {size / 1e6:.1f} MB |

Fine-tuning it on `examples/data/instruct_train.jsonl` (alpaca rows, completion-only loss) with
learning_rate 2e-4, per_device_train_batch_size 16, max_steps 600, warmup_ratio 0.1, linear decay,
max_length 128 takes about 65 s on 2 CPU threads (about 110 ms per step) and lifts exact match on
`instruct_eval.jsonl` (greedy, generation_max_new_tokens 24) from 0.00 to 0.98-1.00. Much higher
learning rates (1e-3 and up) overwrite the pre-trained knowledge instead of reusing it: the sorting
and upper-casing still work, but capitals of held-out countries and reversals fail.

Special tokens: `<|pad|>` (0), `<|end|>` (1, end of text and of each chat turn), `<|user|>`,
`<|assistant|>`, `<|system|>`. There is no BOS token. A turn renders as `<|role|>\\n{{content}}<|end|>`,
turns are joined by `\\n`, and the generation prompt is `<|assistant|>\\n`.
"""
    with open(os.path.join(out, "BUILD.md"), "w", encoding="utf-8") as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
