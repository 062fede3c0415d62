"""LoRA adapters through peft: attach for training, resume from a checkpoint, merge, load for inference.

A LoRA checkpoint folder holds only the adapter (adapter_config.json + adapter_model.safetensors); the
base model is the one its adapter_config names, which is the config's absolute model_name_or_path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..config import RunConfig
from ..errors import ModelSetupError

ADAPTER_CONFIG = "adapter_config.json"
MERGED = "merged"


def attach_adapter(model: Any, cfg: RunConfig, checkpoint: Path | None) -> Any:
    """Wrap the base model with fresh adapters, or with the trainable adapters saved in `checkpoint`.

    For classification peft's SEQ_CLS task also trains and saves the new classification head in full.
    """
    from peft import LoraConfig, PeftModel, get_peft_model

    if checkpoint is not None:
        return PeftModel.from_pretrained(model, str(checkpoint), is_trainable=True)
    lora_config = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                             target_modules=cfg.lora_target_modules, modules_to_save=cfg.modules_to_save,
                             task_type="SEQ_CLS" if cfg.task == "sequence_classification" else "CAUSAL_LM")
    try:
        return get_peft_model(model, lora_config)
    except ValueError as exc:

        names = sorted({name.rsplit(".", 1)[-1] for name, m in model.named_modules() if isinstance(m, torch.nn.Linear)})
        raise ModelSetupError(f"LoRA cannot be attached: {exc}; `lora_target_modules` must name modules of the model, "
                              f"e.g. some of {names}") from None


def is_adapter_folder(path: Path) -> bool:
    return (path / ADAPTER_CONFIG).is_file()


def save_merged(model: Any, tokenizer: Any, folder: Path) -> None:
    """Merge the adapter into the base weights in place and save a plain Hugging Face model.

    In place because this runs at the final save, after which the model does not train again; a copy
    would double the memory of a large model.
    """
    merged = model.merge_and_unload()
    merged.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)


def load_adapter_for_inference(checkpoint: Path, dtype: torch.dtype, extra: dict[str, Any]) -> Any:
    from peft import PeftConfig, PeftModel
    from transformers import AutoModelForCausalLM

    from .hub import cached_folder

    # The base is the run's model folder (a Hub model's cached snapshot); a Hub id is looked up in the cache.
    base_path = cached_folder(PeftConfig.from_pretrained(str(checkpoint)).base_model_name_or_path)
    base = AutoModelForCausalLM.from_pretrained(base_path, local_files_only=True, dtype=dtype, **extra)
    return PeftModel.from_pretrained(base, str(checkpoint))
