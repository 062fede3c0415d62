"""Load a local Hugging Face causal LM and its tokenizer, offline."""

from __future__ import annotations

import os
from typing import Any

import torch

from .config import RunConfig

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def pick_device(choice: str) -> torch.device:
    if choice == "cuda" or (choice == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise RuntimeError("`device: cuda` was asked for but CUDA is not available; use `device: auto` or `cpu`")
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return torch.device("cpu")


def _quiet_transformers() -> None:
    # Progress bars for loading a local checkpoint only add noise to trainer.log and the terminal.
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def load_tokenizer(cfg: RunConfig) -> Any:
    from transformers import AutoTokenizer

    _quiet_transformers()
    tokenizer = AutoTokenizer.from_pretrained(cfg.model_name_or_path, local_files_only=True,
                                              trust_remote_code=cfg.trust_remote_code)
    if tokenizer.pad_token_id is None:
        # Padding positions are masked out of attention and loss, so any id works; EOS is always present.
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(cfg: RunConfig, device: torch.device, weights_from: str | None = None) -> Any:
    """The config's model, or the same architecture with weights from a checkpoint folder (resume)."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(weights_from or cfg.model_name_or_path, local_files_only=True,
                                                 dtype=DTYPES[cfg.torch_dtype],
                                                 trust_remote_code=cfg.trust_remote_code,
                                                 attn_implementation="sdpa")
    return model.to(device)


def count_parameters(model: torch.nn.Module) -> tuple[int, int]:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return total, trainable
