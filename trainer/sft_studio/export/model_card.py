"""README.md for an exported model: the Hub's YAML front matter, then what was trained on what and how well.

Everything comes from the run folder (config.resolved.json, events.jsonl); a checkpoint outside its run gets
a shorter card. Local data files and models are named by their file or folder name only: a card is meant to
be published, and absolute paths of the machine that trained say nothing to a reader.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import PurePath
from typing import Any

from .source import ExportSource

# The fields a reader needs to judge or repeat the run, in this order; unset and default-off ones are left out.
CONFIG_FIELDS = ("task", "dataset_format", "max_length", "packing", "chat_template", "chat_template_kwargs",
                 "completion_only_loss", "num_train_epochs", "max_steps", "per_device_train_batch_size",
                 "gradient_accumulation_steps", "nproc_per_node", "learning_rate", "lr_scheduler_type",
                 "warmup_ratio", "warmup_steps", "weight_decay", "max_grad_norm", "use_lora", "lora_r",
                 "lora_alpha", "lora_dropout", "lora_target_modules", "load_in_4bit", "freeze_layers",
                 "torch_dtype", "bf16", "fp16", "seed", "metric_for_best_model")
_ZERO_IS_OFF = ("warmup_ratio", "warmup_steps", "weight_decay", "freeze_layers")
_NOT_METRICS = {"v", "seq", "time", "type", "step", "epoch", "best"}


def render_card(source: ExportSource, what: str, repo_id: str | None = None) -> str:
    """`what` is "merged" (a standalone model) or "adapter" (the LoRA adapter alone)."""
    base_id, _ = source.base_hub_id()
    lines = ["---", *_front_matter(source, what, base_id), "---", "",
             f"# {repo_id.split('/')[-1] if repo_id else _title(source)}", "", _summary(source, what, base_id), ""]
    lines += _data_section(source.config)
    lines += _config_section(source.config)
    lines += _results_section(source)
    lines += _usage_section(source, what, repo_id, base_id)
    return "\n".join(lines).rstrip() + "\n"


def _front_matter(source: ExportSource, what: str, base_id: str | None) -> list[str]:
    lines = [f"base_model: {json.dumps(base_id)}"] if base_id else []
    lines.append(f"library_name: {'peft' if what == 'adapter' else 'transformers'}")
    classifier = source.task == "sequence_classification"
    lines.append(f"pipeline_tag: {'text-classification' if classifier else 'text-generation'}")
    tags = ["sft", "sft-studio", *(["lora", *(["merged"] if what == "merged" else [])] if source.adapter else [])]
    lines += ["tags:", *(f"- {t}" for t in tags)]
    datasets = [_hub_dataset(p) for p in _data_paths(source.config)]
    if any(datasets):
        lines += ["datasets:", *(f"- {json.dumps(d)}" for d in dict.fromkeys(d for d in datasets if d))]
    return lines


def _title(source: ExportSource) -> str:
    run = source.config.get("run_name") or (source.run_dir.name if source.run_dir else None)
    return f"{run} ({source.checkpoint.name})" if run else source.checkpoint.name


def _summary(source: ExportSource, what: str, base_id: str | None) -> str:
    base = source.base if source.adapter else source.config.get("model_name_or_path")
    if base_id:
        named = f"[{base_id}]({_endpoint()}/{base_id})"
    else:
        named = f"a local model (`{_name(base)}`)" if base else "its base model"
    cfg = source.config
    if not source.adapter:
        how = "full fine-tuning"
    else:
        lora = f"LoRA (r={cfg.get('lora_r')}, alpha={cfg.get('lora_alpha')})" if cfg else "LoRA"
        how = f"{lora}, merged into the base weights" if what == "merged" else \
            f"{lora}; this repository holds the adapter only"
    step = f", checkpoint at step {source.step}" if source.step is not None else ""
    return f"Supervised fine-tuning of {named} with SFT Studio: {how}{step}."


def _data_paths(config: dict[str, Any]) -> list[str]:
    paths = []
    for entry in config.get("train_files") or []:
        if isinstance(entry, dict) and isinstance(entry.get("path"), str):
            paths.append(entry["path"])
    for key in ("train_file", "validation_file"):
        if isinstance(config.get(key), str):
            paths.append(config[key])
    return paths


def _hub_dataset(path: str) -> str | None:
    """ORG/NAME of an hf://datasets/ORG/NAME[@REV][/SUBSET][[SPLIT]] reference."""
    if not path.startswith("hf://datasets/"):
        return None
    parts = path[len("hf://datasets/"):].split("/")
    return "/".join(parts[:2]).split("@")[0].split("[")[0] if len(parts) >= 2 else None


def _data_section(config: dict[str, Any]) -> list[str]:
    rows = []
    for entry in config.get("train_files") or []:
        if isinstance(entry, dict) and isinstance(entry.get("path"), str):
            weight = entry.get("weight")
            weighted = f", weight {weight}" if weight not in (None, 1, 1.0) else ""
            rows.append(f"- `{_name(entry['path'])}` (train{weighted})")
    if isinstance(config.get("train_file"), str):
        rows.append(f"- `{_name(config['train_file'])}` (train)")
    if isinstance(config.get("validation_file"), str):
        rows.append(f"- `{_name(config['validation_file'])}` (validation)")
    elif config.get("validation_split_ratio"):
        rows.append(f"- validation: {config['validation_split_ratio']:.0%} of the training rows, held out")
    return ["## Training data", "", *rows, ""] if rows else []


def _config_section(config: dict[str, Any]) -> list[str]:
    rows = []
    for key in CONFIG_FIELDS:
        value = config.get(key)
        if value is None or value is False or (key in _ZERO_IS_OFF and not value):
            continue
        if (key == "nproc_per_node" and value == 1) or (key == "num_train_epochs" and config.get("max_steps")):
            continue
        if key.startswith("lora_") and not config.get("use_lora"):
            continue
        if key == "chat_template" and isinstance(value, str):
            value = _name(value)
        rows.append(f"| `{key}` | {_cell(value)} |")
    return ["## Training configuration", "", "| field | value |", "|---|---|", *rows, ""] if rows else []


def _evals(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Eval events by step; a step evaluated again after a resume keeps its latest result."""
    by_step: dict[int, dict[str, Any]] = {}
    for event in events:
        if event.get("type") == "eval" and isinstance(event.get("step"), int):
            by_step[event["step"]] = event
    return [by_step[s] for s in sorted(by_step)]


def _metrics(event: dict[str, Any]) -> dict[str, float]:
    return {k: v for k, v in event.items()
            if k not in _NOT_METRICS and isinstance(v, (int, float)) and not isinstance(v, bool)}


def _results_section(source: ExportSource) -> list[str]:
    evals = _evals(source.events)
    if not evals:
        return []
    final = evals[-1]
    lines = ["## Results", "", f"- final evaluation (step {final['step']}): {_listing(_metrics(final))}"]
    best = _best(source.events, evals, source.config)
    if best:
        lines.append(f"- best `{best[0]}`: {_number(best[1])} at step {best[2]}")
    here = next((e for e in evals if e["step"] == source.step), None)
    if here is not None and here is not final:
        lines.append(f"- this checkpoint (step {here['step']}): {_listing(_metrics(here))}")
    columns = list(dict.fromkeys(k for e in evals for k in _metrics(e)))
    lines += ["", "### Evaluations", "", "| step | epoch | " + " | ".join(columns) + " |",
              "|---:|---:|" + "---:|" * len(columns)]
    for e in evals:
        mark = " ★" if best and e["step"] == best[2] else ""
        cells = [_number(e[c]) if c in e else "" for c in columns]
        label = "0 (base)" if e["step"] == 0 else f"{e['step']}{mark}"
        lines.append(f"| {label} | {_number(e.get('epoch', 0.0))} | " + " | ".join(cells) + " |")
    if best:
        lines.append(f"\n★ best `{best[0]}`")
    return [*lines, ""]


def _best(events: list[dict[str, Any]], evals: list[dict[str, Any]],
          config: dict[str, Any]) -> tuple[str, float, int] | None:
    """(metric, value, step): what the run's run_finished says, else the lowest eval loss."""
    finished = [e for e in events if e.get("type") == "run_finished" and e.get("best_step") is not None]
    if finished:
        last = finished[-1]
        return str(last.get("metric_for_best_model") or "loss"), float(last["best_metric"]), int(last["best_step"])
    # Step 0 evaluates the base model, which no checkpoint of the run holds.
    scored = [e for e in evals if isinstance(e.get("loss"), (int, float)) and e["step"] > 0]
    if config.get("metric_for_best_model") or not scored:
        return None
    low = min(scored, key=lambda e: e["loss"])
    return "loss", float(low["loss"]), int(low["step"])


def _usage_section(source: ExportSource, what: str, repo_id: str | None, base_id: str | None) -> list[str]:
    where = json.dumps(repo_id or "path/to/this/folder")
    if source.task == "sequence_classification":
        load = [f"model = AutoModelForSequenceClassification.from_pretrained({where})",
                f"tokenizer = AutoTokenizer.from_pretrained({where})"]
        imports = "from transformers import AutoModelForSequenceClassification, AutoTokenizer"
        ask = []
    else:
        imports = "from transformers import AutoModelForCausalLM, AutoTokenizer"
        if what == "adapter":
            imports += "\nfrom peft import PeftModel"
            load = [f"base = AutoModelForCausalLM.from_pretrained({json.dumps(base_id or 'BASE_MODEL')})",
                    f"model = PeftModel.from_pretrained(base, {where})",
                    f"tokenizer = AutoTokenizer.from_pretrained({where})"]
        else:
            load = [f"model = AutoModelForCausalLM.from_pretrained({where})",
                    f"tokenizer = AutoTokenizer.from_pretrained({where})"]
        ask = ['messages = [{"role": "user", "content": "Hello!"}]',
               "inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors=\"pt\",",
               "                                       return_dict=True)",
               "output = model.generate(**inputs, max_new_tokens=128)",
               "print(tokenizer.decode(output[0, inputs[\"input_ids\"].shape[1]:], skip_special_tokens=True))"]
    note = ("The chat template is the one the model was trained with; `generation_config.json` stops at its "
            "end-of-turn token.") if source.task == "causal_lm" and what == "merged" else ""
    return ["## Use", "", "```python", imports, "", *load, *ask, "```", *(["", note] if note else []), ""]


def _endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def _name(path: Any) -> str:
    text = str(path)
    return text if text.startswith("hf://") else PurePath(text).name or text


def _number(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def _listing(metrics: dict[str, float]) -> str:
    return ", ".join(f"{k} {_number(v)}" for k, v in metrics.items())


def _cell(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, (list, dict)) else _number(value)
    return text.replace("|", "\\|")
