"""Load a local Hugging Face causal LM and its tokenizer, offline, and prepare which parts train."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from ..config import RunConfig
from ..data.chat_templates import apply_template_choice
from ..errors import ModelSetupError, TokenizerError
from . import lora

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


def _remote_code(cfg: RunConfig) -> dict[str, Any]:
    # Passed only when the config opts in, so no loader ever sees the flag by accident.
    return {"trust_remote_code": True} if cfg.trust_remote_code else {}


# Files a tokenizer can be built from besides tokenizer.json (slow tokenizers' vocabularies).
SLOW_TOKENIZER_FILES = ("tokenizer.model", "spiece.model", "sentencepiece.bpe.model", "vocab.json", "vocab.txt")


def _check_tokenizer_files(folder: Path) -> None:
    """Broken tokenizer files named with line:column, before transformers turns them into a bare JSONDecodeError
    or a remark about sentencepiece."""
    for name in ("tokenizer.json", "tokenizer_config.json"):
        file = folder / name
        if not file.is_file():
            continue
        try:
            json.loads(file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise TokenizerError(f"{file}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg}); "
                                 f"the file is cut short or damaged") from None
        except UnicodeDecodeError as exc:
            raise TokenizerError(f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if not (folder / "tokenizer.json").is_file() and not any((folder / n).is_file() for n in SLOW_TOKENIZER_FILES):
        raise TokenizerError(f"{folder}: no tokenizer.json (nor a vocabulary a slow tokenizer is built from: "
                             f"{', '.join(SLOW_TOKENIZER_FILES)}); the model folder has no tokenizer")


def load_tokenizer(cfg: RunConfig) -> Any:
    from transformers import AutoTokenizer

    _quiet_transformers()
    folder = Path(cfg.model_name_or_path)
    if folder.is_dir():
        _check_tokenizer_files(folder)
    tokenizer = AutoTokenizer.from_pretrained(cfg.model_name_or_path, local_files_only=True, **_remote_code(cfg))
    if tokenizer.pad_token_id is None:
        # Padding positions are masked out of attention and loss, so any id works; EOS is always present.
        tokenizer.pad_token = tokenizer.eos_token
    if cfg.task == "causal_lm":
        apply_template_choice(tokenizer, cfg.chat_template)
    return tokenizer


def load_model(cfg: RunConfig, device: torch.device, checkpoint: Path | None = None) -> Any:
    """The config's model prepared for training: frozen parts, LoRA, gradient checkpointing.

    With `checkpoint` (resume) the weights come from that checkpoint: the whole model, or the base model
    plus the checkpoint's adapter when the run trains LoRA.
    """
    from ..data.classify import auto_model_class

    _quiet_transformers()
    full_weights = checkpoint is not None and not cfg.use_lora
    auto_class, task_kwargs = auto_model_class(cfg)
    quantised = _four_bit(cfg, device) if cfg.load_in_4bit else {}
    model = auto_class.from_pretrained(str(checkpoint) if full_weights else cfg.model_name_or_path,
                                       local_files_only=True, dtype=DTYPES[cfg.torch_dtype],
                                       attn_implementation=cfg.attn_implementation, **task_kwargs, **quantised,
                                       **_remote_code(cfg))
    if cfg.load_in_4bit:
        from peft import prepare_model_for_kbit_training

        # Casts the remaining float parts (norms, head) to fp32 for stable training on the 4-bit base.
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    if cfg.gradient_checkpointing:
        # Non-reentrant checkpointing needs no inputs that require grad, so it works with frozen embeddings and LoRA.
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if cfg.use_lora:
        model = lora.attach_adapter(model, cfg, checkpoint)
    freeze(model, cfg)
    # bitsandbytes placed the 4-bit model on its device already; moving a quantised model is an error.
    return model if cfg.load_in_4bit else model.to(device)


def _four_bit(cfg: RunConfig, device: torch.device) -> dict[str, Any]:
    """from_pretrained arguments for a 4-bit NF4 base (QLoRA), or a ModelSetupError that says what is missing."""
    if device.type != "cuda":
        raise ModelSetupError("`load_in_4bit` (QLoRA) needs a CUDA GPU; this run is on the CPU. Remove `load_in_4bit` "
                              "to train LoRA on the full-precision base")
    try:
        import bitsandbytes  # noqa: F401 - only its presence is checked here; transformers uses it
    except ImportError:
        raise ModelSetupError("`load_in_4bit` (QLoRA) needs the bitsandbytes package: pip install bitsandbytes, "
                              "or remove `load_in_4bit`") from None
    from transformers import BitsAndBytesConfig

    compute = torch.bfloat16 if cfg.bf16 else torch.float16 if cfg.fp16 else torch.float32
    config = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                bnb_4bit_compute_dtype=compute)
    return {"quantization_config": config, "device_map": {"": device}}


def decoder_layers(model: torch.nn.Module) -> torch.nn.ModuleList:
    """The stack of decoder layers, found by shape so it works for any architecture (and under peft)."""
    count = getattr(model.config, "num_hidden_layers", None)
    for _, module in model.named_modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) == count:
            return module
    raise ModelSetupError(f"cannot find the {count} decoder layers of {type(model).__name__}; "
                          "set `freeze_layers: 0` for this architecture")


def freeze(model: torch.nn.Module, cfg: RunConfig) -> None:
    if cfg.freeze_layers:
        layers = decoder_layers(model)
        if cfg.freeze_layers > len(layers):
            raise ModelSetupError(f"`freeze_layers` is {cfg.freeze_layers} but the model has {len(layers)} "
                                  f"decoder layers; set `freeze_layers` to at most {len(layers)}")
        for layer in layers[:cfg.freeze_layers]:
            layer.requires_grad_(False)
    if cfg.freeze_embeddings:
        # A tied output head shares this tensor, so it is frozen too (and stays tied).
        model.get_input_embeddings().requires_grad_(False)


def load_trained_model(checkpoint: Path, device: torch.device, dtype: torch.dtype = torch.float32,
                       trust_remote_code: bool = False) -> Any:
    """A checkpoint for inference: a full model folder, or an adapter folder on top of its recorded base."""
    from transformers import AutoModelForCausalLM

    _quiet_transformers()
    extra = {"trust_remote_code": True} if trust_remote_code else {}
    if lora.is_adapter_folder(checkpoint):
        return lora.load_adapter_for_inference(checkpoint, dtype, extra).to(device).eval()
    model = AutoModelForCausalLM.from_pretrained(str(checkpoint), local_files_only=True, dtype=dtype, **extra)
    return model.to(device).eval()


def count_parameters(model: torch.nn.Module) -> tuple[int, int]:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return total, trainable
