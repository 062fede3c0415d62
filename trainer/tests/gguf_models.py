"""Small models for the GGUF export tests, built here: no model hub.

- `tiny`: the embedded examples/tiny-llama (trained; a byte tokenizer with no merges, SmolLM's digit split).
- `llama`: random Llama weights with grouped-query attention, an untied output, Llama 3.1 RoPE scaling and a
  BPE tokenizer with merges trained here on the bundled data, split by Llama 3's rule, plus padding rows.
- `qwen2`: random Qwen2 weights (attention biases, tied embeddings) and the same vocabulary split by Qwen2's rule.
Random weights are drawn wide (std 0.3) so greedy choices are decided by clear margins, not by noise.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from sft_studio.export.gguf import _LLAMA3_SPLIT, _QWEN2_SPLIT

from .conftest import DATA, MODEL

# <|endoftext|> too: transformers' Qwen2 tokenizer class (picked from config.json) adds it when it is missing.
SPECIALS = ["<|pad|>", "<|end|>", "<|user|>", "<|assistant|>", "<|system|>", "<|endoftext|>"]
TEMPLATE = json.loads((MODEL / "tokenizer_config.json").read_text())["chat_template"]


def _corpus() -> list[str]:
    rows = [json.loads(line) for line in (DATA / "instruct_train.jsonl").read_text().splitlines() if line.strip()]
    return [" ".join(str(v) for v in row.values() if isinstance(v, str)) for row in rows[:2000]]


def build_tokenizer(folder: Path, split: str, vocab_size: int = 600) -> int:
    """A byte-level BPE tokenizer with merges; returns its size."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(split), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(_corpus(), trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|end|>", pad_token="<|pad|>",
                                   additional_special_tokens=SPECIALS[2:5])
    fast.chat_template = TEMPLATE
    fast.save_pretrained(folder)
    return len(fast)


def build_model(folder: Path, arch: str) -> Path:
    from transformers import AutoConfig, AutoModelForCausalLM

    folder.mkdir(parents=True, exist_ok=True)
    if arch == "tiny":
        shutil.copytree(MODEL, folder, dirs_exist_ok=True)
        return folder
    n = build_tokenizer(folder, _LLAMA3_SPLIT if arch == "llama" else _QWEN2_SPLIT)
    common = dict(vocab_size=n + 8 if arch == "llama" else n, hidden_size=64, intermediate_size=160,
                  num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                  rms_norm_eps=1e-6, initializer_range=0.3, eos_token_id=1, pad_token_id=0, bos_token_id=None)
    if arch == "llama":
        config = AutoConfig.for_model("llama", tie_word_embeddings=False, **common, rope_parameters={
            "rope_type": "llama3", "rope_theta": 10000.0, "factor": 8.0, "low_freq_factor": 1.0,
            "high_freq_factor": 4.0, "original_max_position_embeddings": 64})
    else:
        config = AutoConfig.for_model("qwen2", tie_word_embeddings=True, **common)
    torch.manual_seed(0 if arch == "llama" else 1)
    model = AutoModelForCausalLM.from_config(config)
    with torch.no_grad():  # norms at 1 and biases at 0 would leave those tensors untested
        for name, p in model.named_parameters():
            if p.ndim == 1:
                p.copy_((1.0 if "norm" in name else 0.0) + 0.3 * torch.randn_like(p))
    model.save_pretrained(folder)
    return folder
