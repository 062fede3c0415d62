"""The run config: a typed dataclass, validated against schema/run-config.schema.json.

The JSON Schema is the single truth shared with the extension (completion, hover, diagnostics); this
module adds source positions, "did you mean" for typos, file-existence checks and `--set` overrides.
A test keeps the dataclass fields and defaults equal to the schema's.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import jsonschema

from .best_model import KNOWN_METRICS, metric_key
from .chat_templates import bundled_names, is_template_file
from .errors import ConfigError, ConfigIssue, SourceError
from .hub import model_kind
from .hub_data import is_hub_reference, reference_problem
from .readers import DATA_SUFFIXES, MAPPABLE_COLUMNS
from .run_folder import config_stem
from .source_map import Position, SourceMap, decode_utf8, load_with_positions, parse_scalar
from .sweep_config import sweep_problems, sweep_schema_issue

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schema" / "run-config.schema.json"

# config.resolved.json also records the commit a Hub model resolved to, so a resume loads the same one.
MODEL_COMMIT = "model_commit"

# Fields holding paths, resolved relative to the config file's folder (a Hub id in model_name_or_path is not a
# path, nor an hf://datasets/ reference in a data field; train_files[].path resolves the same way).
PATH_FIELDS = ("model_name_or_path", "output_dir", "train_file", "validation_file", "generation_prompts_file",
               "hostfile")


@dataclass
class RunConfig:
    # --- model ---
    model_name_or_path: str
    """A local Hugging Face model folder (relative to the config file) or a Hub id (org/name) fetched into the HF cache."""
    train_file: Optional[str] = None
    """Training data: JSONL, JSON (a list of objects), CSV (header row), Parquet, Arrow, or hf://datasets/ORG/NAME."""
    train_files: Optional[list[dict[str, Any]]] = None
    """Instead of train_file: several sources [{path, dataset_format?, weight?, column_mapping?}], mixed by weight."""
    model_revision: str = "main"
    """Branch, tag or commit of a Hub model; the run records the commit it loaded. Ignored for a local folder."""
    run_name: Optional[str] = None
    """Name of the run; its folder is <output_dir>/<run_name>-<UTC timestamp>. Defaults to the config's stem."""
    output_dir: str = "runs"
    """Parent folder of this config's runs, relative to the config file's folder."""
    task: str = "causal_lm"
    """What is trained: causal_lm = instruction/chat/text SFT; sequence_classification = a classification head."""
    # --- data ---
    validation_file: Optional[str] = None
    """Validation data in the same format as train_file, used for eval loss and token accuracy."""
    dataset_format: str = "auto"
    """Row format: auto (the first row's keys decide), alpaca, messages, sharegpt, prompt_completion, text (formats.py)."""
    column_mapping: Optional[dict[str, str]] = None
    """Format column name -> column name in the files, e.g. {text: text_a, text_pair: text_b}."""
    message_field_mapping: Optional[dict[str, str]] = None
    """Keys of role and content inside turns, e.g. {role: speaker, content: text}; null = the format's defaults."""
    role_mapping: Optional[dict[str, str]] = None
    """Dataset role -> system/user/assistant/tool, merged over the ShareGPT defaults (human -> user, gpt -> assistant, ...)."""
    system_prompt: Optional[str] = None
    """System message put first in every conversation (and generation prompt) that has none."""
    validation_split_ratio: float = 0.0
    """Without validation_file: share of train_file's rows held out for validation (seeded). 0 = no split."""
    subsample: float = 1.0
    """Fraction of the training rows kept (seeded, file order preserved)."""
    num_labels: int = 2
    """Classes for task sequence_classification (labels 0..num_labels-1)."""
    generation_prompts_file: Optional[str] = None
    """Fixed prompt set sampled at step 0 and every evaluation (alpaca, messages or sharegpt JSONL; the answer is the reference)."""
    generation_max_new_tokens: int = 64
    """Maximum new tokens per sampled generation."""
    generation_temperature: float = 0.7
    """Sampling temperature for prompts without a reference (0 = greedy)."""
    generation_top_p: float = 1.0
    """Nucleus sampling mass for prompts without a reference."""
    generation_top_k: int = 0
    """Top-k cut for prompts without a reference (0 = off)."""
    completion_only_loss: bool = True
    """Train only on response tokens; false = loss over all tokens."""
    max_length: int = 512
    """Maximum tokens per example; longer examples are truncated and counted."""
    excess_length_strategy: str = "truncate"
    """Rows longer than max_length: truncate (drop rows with no answer token left), drop (all longer rows), error."""
    chat_template: Optional[str] = None
    """A bundled template name (plain, chatml) or a .jinja file replacing the tokenizer's chat template."""
    chat_template_kwargs: Optional[dict[str, Any]] = None
    """Extra chat-template variables on every render, e.g. {enable_thinking: false} for Qwen3."""
    padding_free: bool = False
    """One row per micro-batch with position_ids restarting per example; no padding, no cross-attention."""
    packing: bool = False
    """Pack training examples into rows of max_length tokens; changes micro-batch composition."""
    packing_strategy: str = "bfd"
    """bfd = best-fit-decreasing bins of whole examples, padding-free; wrapped = fixed blocks cut every max_length."""
    group_by_length: bool = False
    """Micro-batches of similar-length examples (sorted within seeded chunks of 50 micro-batches)."""
    fused_cross_entropy: bool = True
    """Loss from hidden states in chunks, only at labelled positions, never materialising the full logits."""
    varlen_attention: bool = True
    """With padding-free rows and sdpa: attention per example instead of one block-diagonal mask per row."""
    # --- optimisation ---
    per_device_train_batch_size: int = 8
    """Examples per micro-batch on each device."""
    per_device_eval_batch_size: int = 16
    """Examples per evaluation batch on each device."""
    gradient_accumulation_steps: int = 1
    """Micro-batches per optimizer step; the loss is normalised by the step's target tokens."""
    learning_rate: float = 5e-5
    """Peak learning rate of AdamW."""
    lr_scheduler_type: str = "linear"
    """Schedule after warmup: linear, cosine, constant, constant_with_warmup."""
    warmup_ratio: float = 0.0
    """Share of total steps spent warming up (ignored when warmup_steps > 0)."""
    warmup_steps: int = 0
    """Warmup steps; overrides warmup_ratio when > 0."""
    num_train_epochs: float = 1
    """Passes over the training data (ignored when max_steps > 0)."""
    max_steps: int = -1
    """Total optimizer steps; -1 = derive from num_train_epochs."""
    max_grad_norm: float = 1.0
    """Clip the global gradient norm to this value (0 = no clipping, norm still logged)."""
    weight_decay: float = 0.0
    """AdamW decoupled weight decay; never applied to biases and norm weights."""
    adam_beta1: float = 0.9
    """AdamW beta1."""
    adam_beta2: float = 0.999
    """AdamW beta2."""
    adam_epsilon: float = 1e-8
    """AdamW epsilon."""
    seed: int = 42
    """Seed for data order, initialisation and sampling."""
    # --- logging, evaluation, checkpoints ---
    logging_steps: int = 1
    """Write a train event every N optimizer steps."""
    eval_strategy: str = "no"
    """When to evaluate: no, steps (every eval_steps) or epoch; the last step is evaluated unless no."""
    eval_steps: Optional[int] = None
    """Evaluate every N optimizer steps when eval_strategy is steps."""
    save_strategy: str = "no"
    """When to save intermediate checkpoints (no, steps, epoch, best = whenever metric_for_best_model improves); the final model is always saved."""
    save_steps: int = 500
    """Save every N optimizer steps when save_strategy is steps."""
    save_total_limit: Optional[int] = None
    """Keep at most this many intermediate checkpoints (oldest removed first; the best checkpoint is never removed)."""
    metric_for_best_model: Optional[str] = None
    """Eval metric that picks the best checkpoint (loss, perplexity, token_accuracy, accuracy, f1, exact_match; eval_loss etc. accepted); loss when unset."""
    greater_is_better: Optional[bool] = None
    """Whether a larger metric_for_best_model is better; by default false for loss and perplexity, true otherwise."""
    load_best_model_at_end: bool = False
    """End a completed run with the best checkpoint as its result (final_checkpoint); the last state is saved too."""
    early_stopping_patience: Optional[int] = None
    """Stop after this many evaluations in a row without improving metric_for_best_model (unset = never stop early)."""
    early_stopping_threshold: float = 0.0
    """How much metric_for_best_model must improve on the best so far to count as an improvement."""
    # --- runtime ---
    torch_dtype: str = "float32"
    """Precision the weights are loaded and trained in: float32, bfloat16, float16."""
    device: str = "auto"
    """Where to train: auto (CUDA when available), cpu, cuda."""
    trust_remote_code: bool = False
    """Allow model code shipped inside the checkpoint folder to run."""
    # --- model adaptation ---
    attn_implementation: str = "sdpa"
    """Attention kernel the model is loaded with: sdpa, eager, flash_attention_2, flash_attention_3, flex_attention."""
    freeze_embeddings: bool = False
    """Freeze the input token embeddings (and the output head when it is tied to them)."""
    freeze_layers: int = 0
    """Freeze the first N decoder layers; their weights stay bit-identical."""
    use_lora: bool = False
    """Train LoRA adapters (peft) instead of the full model; the base weights stay unchanged."""
    lora_r: int = 16
    """LoRA rank."""
    lora_alpha: float = 32
    """LoRA scaling numerator (the update is scaled by lora_alpha / lora_r)."""
    lora_dropout: float = 0.05
    """Dropout on the LoRA branch."""
    lora_target_modules: Optional[list[str]] = None
    """Module names that get adapters, e.g. [q_proj, v_proj]; null = peft's default for the architecture."""
    modules_to_save: Optional[list[str]] = None
    """Modules trained in full and saved next to the adapter, e.g. [lm_head]."""
    merge_lora_on_save: bool = False
    """Also write the final checkpoint as a full model with the adapter merged in (checkpoint/merged)."""
    load_in_4bit: bool = False
    """QLoRA: load the frozen base model quantised to 4-bit NF4 (bitsandbytes, CUDA only) and train LoRA on it."""
    gradient_checkpointing: bool = False
    """Recompute activations in the backward pass (non-reentrant): less memory, about 30% more compute."""
    torch_compile: bool = False
    """Compile the training forward pass with torch.compile (slow first step, faster later)."""
    # --- precision ---
    bf16: bool = False
    """bfloat16 autocast for the forward pass; weights and optimizer stay in torch_dtype."""
    fp16: bool = False
    """float16 autocast with a gradient scaler; needs torch_dtype float32."""
    tf32: Optional[bool] = None
    """Allow TF32 matmuls on CUDA (Ampere or newer); null = PyTorch's default; no effect on CPU."""
    min_lr_rate: float = 0.0
    """Floor of the linear and cosine schedules as a fraction of learning_rate."""
    # --- distributed ---
    nproc_per_node: int = 1
    """Training processes per machine (data parallel through torchrun: gloo on CPU, NCCL on GPU)."""
    nnodes: int = 1
    """Machines taking part; > 1 needs the same command started on every machine (or a hostfile)."""
    hostfile: Optional[str] = None
    """Deepspeed-style hostfile (`host slots=N` per line); sets nnodes, nproc_per_node and the rendezvous host."""
    master_port: int = 29500
    """Rendezvous port on the first host for multi-machine runs."""
    fsdp: str = "no"
    """Shard the model over the processes with FSDP2 (fully_shard per decoder layer, then the root): no =
    data parallel (every process holds the whole model); full_shard = weights, gradients and optimizer state
    sharded, layers gathered for their forward and backward; shard_grad_op = layers stay gathered from the
    forward to the backward. Needs more than one process."""
    report_to: str = "none"
    """Extra metric sinks: none, tensorboard (event files under <run>/tensorboard), wandb (Weights & Biases,
    project from WANDB_PROJECT, one W&B run per run folder) or all; a sink whose package or credentials are
    missing becomes one warning and the run goes on."""
    # --- launcher ---
    launcher: str = "local"
    """Where the run trains: local (this machine) or slurm (`submit` hands an sbatch job to the cluster, slurm.py)."""
    slurm: Optional[dict[str, Any]] = None
    """The job of launcher slurm: partition, nodes, gpus_per_node, cpus_per_task, time, account, qos, extra_sbatch, setup."""
    # --- sweep (sweep.py) ---
    sweep: Optional[dict[str, Any]] = None
    """A hyperparameter sweep {method, parameters, max_trials, seed, early_stopping_patience}; `train` ignores it."""
    sweep_id: Optional[str] = None
    """Set by a sweep on each of its trials: the sweep folder's name."""
    sweep_trial: Optional[int] = None
    """Set by a sweep on each of its trials: the trial's index in sweep.json."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def load_schema() -> dict[str, Any]:
    with open(SCHEMA_PATH, encoding="utf-8") as fh:
        return json.load(fh)


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return repr(value)
    return json.dumps(value)


# Names people bring from other trainers, which no edit distance connects to ours (the editor's list:
# src/config/didYouMean.ts).
_KEY_ALIASES = {"lr": "learning_rate", "model": "model_name_or_path", "model_name": "model_name_or_path",
                "model_path": "model_name_or_path", "epochs": "num_train_epochs", "batch_size": "per_device_train_batch_size",
                "max_seq_length": "max_length", "evaluation_strategy": "eval_strategy", "train_data": "train_file",
                "eval_file": "validation_file"}

_TYPE_WORDS = {"string": "a string", "number": "a number", "integer": "a whole number", "boolean": "true or false",
               "object": "a mapping", "array": "a list"}


def _schema_message(error: jsonschema.ValidationError, key: str, props: dict[str, Any]) -> str:
    spec = props.get(key, {})
    default = spec.get("default")
    example = f" (default {_describe(default)})" if default is not None else ""
    got = _describe(error.instance)
    v = error.validator
    if v == "type":
        return f"`{key}` must be {_TYPE_WORDS.get(error.validator_value, error.validator_value)}, got {got}; write e.g. `{key}: {_describe(default) if default is not None else '...'}`"
    if v == "enum":
        choices = ", ".join(str(c) for c in error.validator_value)
        close = difflib.get_close_matches(str(error.instance), [str(c) for c in error.validator_value], n=1)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        return f"`{key}` must be one of {choices}, got {got}{hint}"
    if v in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        words = {"minimum": "at least", "exclusiveMinimum": "greater than", "maximum": "at most", "exclusiveMaximum": "less than"}
        return f"`{key}` must be {words[v]} {error.validator_value}, got {got}{example}"
    if v == "additionalProperties" and isinstance(error.instance, dict):
        allowed = list(error.schema.get("properties", {}))
        unknown = ", ".join(f"`{k}`" for k in error.instance if k not in allowed)
        return f"`{key}` has unknown key {unknown}; it takes {', '.join(allowed)}"
    if v == "minLength":
        return f"`{key}` must not be empty"
    if v == "pattern":
        return f"`{key}` may contain only letters, digits, '.', '_' and '-', got {got}"
    return f"`{key}`: {error.message}"


def _check_schema(data: Any, smap: SourceMap, overrides: dict[str, str]) -> list[ConfigIssue]:
    schema = load_schema()
    props = schema["properties"]
    issues: list[ConfigIssue] = []

    def at(key: str, on_key: bool) -> tuple[str, int, int]:
        if key in overrides:
            return f"--set {key}={overrides[key]}", 0, 0
        pos = smap.key((key,)) if on_key else smap.value((key,))
        return smap.path, pos.line, pos.column

    if not isinstance(data, dict):
        return [ConfigIssue(smap.path, 1, 1, "the config must be a mapping of `key: value` lines, e.g. `model_name_or_path: ./model`")]
    # JSON Schema bounds compare false against NaN and accept infinity, so `.nan` and `1e999` are caught here.
    non_finite = list(_non_finite(data, ()))
    for where, value in non_finite:
        label = str(where[0]) + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in where[1:])
        issues.append(ConfigIssue(*_located(smap, overrides, where), f"`{label}` must be a finite number, got "
                                  f"{'.nan' if math.isnan(value) else ('-' if value < 0 else '') + '.inf'}"))
    validator = jsonschema.Draft202012Validator(schema)
    for error in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
        if any(tuple(error.absolute_path)[:len(where)] == where for where, _ in non_finite):
            continue  # already reported as not finite
        if error.validator == "additionalProperties" and not error.absolute_path:
            for key in sorted(set(error.instance) - set(props)):
                close = [_KEY_ALIASES[key]] if key in _KEY_ALIASES else \
                    difflib.get_close_matches(key, list(props), n=1, cutoff=0.6)
                fix = f"did you mean `{close[0]}`?" if close else "remove it or check the spelling against the schema"
                issues.append(ConfigIssue(*at(key, True), f"unknown key `{key}`: {fix}"))
        elif error.absolute_path and error.absolute_path[0] == "train_files":
            issues.append(_train_files_issue(error, smap, overrides, props["train_files"]))
        elif error.absolute_path and error.absolute_path[0] == "slurm":
            issues.append(_slurm_issue(error, smap, overrides, props["slurm"]))
        elif error.absolute_path and error.absolute_path[0] == "sweep":
            issues.append(ConfigIssue(*sweep_schema_issue(error, smap, overrides, props["sweep"])))
        elif error.validator == "required":
            missing = error.message.split("'")[1]
            issues.append(ConfigIssue(smap.path, 1, 1, f"missing required key `{missing}`: add `{missing}: ...` ({props[missing]['description'].split('.')[0]})"))
        else:
            key = str(error.absolute_path[0]) if error.absolute_path else ""
            issues.append(ConfigIssue(*at(key, False), _schema_message(error, key, props)))
    return issues


def _non_finite(value: Any, where: tuple):
    """(path, value) of every NaN or infinite number in the config."""
    if isinstance(value, float) and not math.isfinite(value):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _non_finite(item, where + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _non_finite(item, where + (i,))


def _train_files_issue(error: jsonschema.ValidationError, smap: SourceMap, overrides: dict[str, str],
                       spec: dict[str, Any]) -> ConfigIssue:
    """A schema error inside `train_files`, named like `train_files[1].weight` and placed at that value."""
    path = list(error.absolute_path)
    if "train_files" in overrides:
        where: tuple[str, int, int] = (f"--set train_files={overrides['train_files']}", 0, 0)
    else:
        pos = smap.value(tuple(path))
        where = (smap.path, pos.line, pos.column)
    label = "train_files" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path[1:])
    item = spec["items"]
    allowed = ", ".join(item["properties"])
    v = error.validator
    if v == "minItems":
        return ConfigIssue(*where, "`train_files` needs at least one entry such as `- path: data/train.jsonl`")
    if v == "required":
        return ConfigIssue(*where, f"`{label}` has no `path`: add `path: data/train.jsonl` (a data file, or "
                                   "hf://datasets/ORG/NAME for a Hub dataset)")
    if v == "additionalProperties":
        unknown = [k for k in error.instance if k not in item["properties"]]
        close = difflib.get_close_matches(unknown[0], list(item["properties"]), n=1)
        if "train_files" not in overrides:
            pos = smap.key(tuple(path) + (unknown[0],))
            where = (smap.path, pos.line, pos.column)
        fix = f"did you mean `{close[0]}`?" if close else f"it takes {allowed}"
        return ConfigIssue(*where, f"`{label}` has unknown key `{unknown[0]}`: {fix}")
    if v == "type" and len(path) == 2:
        return ConfigIssue(*where, f"`{label}` must be a mapping such as {{path: data/train.jsonl, weight: 1}}, "
                                   f"got {_describe(error.instance)}")
    if len(path) >= 3 and path[2] == "weight":
        return ConfigIssue(*where, f"`{label}` must be a number greater than 0, got {_describe(error.instance)} "
                                   "(how many times the file's rows are used: 0.5 = a seeded half, 2 = every row twice)")
    return ConfigIssue(*where, _schema_message(error, label, {label: item["properties"].get(path[2], {}) if len(path) >= 3 else item}))


def _check_semantics(cfg: dict[str, Any], smap: SourceMap, overrides: dict[str, str], base: Path) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []

    def at(key: str) -> tuple[str, int, int]:
        if key in overrides:
            return f"--set {key}={overrides[key]}", 0, 0
        pos = smap.value((key,))
        return smap.path, pos.line, pos.column

    model = cfg.get("model_name_or_path")
    if isinstance(model, str) and model:
        folder = (base / model).resolve()
        kind = model_kind(model, base)
        if kind is None:
            issues.append(ConfigIssue(*at("model_name_or_path"), f"`{model}` is not a folder and not a Hub id (no folder {folder}); point `model_name_or_path` at a local model folder (relative to the config file) or write a Hub id such as Qwen/Qwen2.5-0.5B-Instruct"))
        elif kind == "folder" and not (folder / "config.json").is_file():
            issues.append(ConfigIssue(*at("model_name_or_path"), f"{folder} has no config.json; point `model_name_or_path` at a Hugging Face model folder"))
    for key in ("train_file", "validation_file", "generation_prompts_file"):
        value = cfg.get(key)
        if key != "generation_prompts_file" and is_hub_reference(value):
            continue  # checked in _data_source_problems
        if isinstance(value, str) and value and not (base / value).resolve().is_file():
            issues.append(ConfigIssue(*at(key), f"file not found: {(base / value).resolve()}; fix the path in `{key}` (relative to the config file)"))
    if cfg.get("eval_strategy") == "steps" and not cfg.get("eval_steps"):
        issues.append(ConfigIssue(*at("eval_strategy"), "`eval_strategy: steps` needs `eval_steps: N` (evaluate every N optimizer steps)"))
    if cfg.get("eval_strategy") not in (None, "no") and not cfg.get("validation_file") \
            and not cfg.get("validation_split_ratio") and not cfg.get("generation_prompts_file"):
        issues.append(ConfigIssue(*at("eval_strategy"), "evaluation needs data: add `validation_file`, `validation_split_ratio` and/or `generation_prompts_file`, or set `eval_strategy: no`"))
    issues += [ConfigIssue(*where, message) for where, message in _best_model_problems(cfg, at)]
    if isinstance(cfg.get("max_steps"), int) and cfg.get("max_steps") == 0:
        issues.append(ConfigIssue(*at("max_steps"), "`max_steps` must be a positive number of steps, or -1 to use num_train_epochs"))
    issues += [ConfigIssue(*where, message) for where, message in _data_field_problems(cfg, smap, overrides, base)]
    issues += [ConfigIssue(*where, message) for where, message in _training_field_problems(cfg, smap, overrides, base)]
    issues += [ConfigIssue(*where, message) for where, message in sweep_problems(cfg, smap, overrides, load_schema(), _KEY_ALIASES)]
    return issues


def _best_model_problems(cfg: dict[str, Any], at):
    """Early stopping and the best checkpoint need evaluations, and a checkpoint at each evaluation that may win."""
    tracking = [k for k in ("metric_for_best_model", "load_best_model_at_end", "early_stopping_patience")
                if cfg.get(k) not in (None, False)] + (["save_strategy"] if cfg.get("save_strategy") == "best" else [])
    if not tracking:
        return
    key = tracking[0]
    metric = cfg.get("metric_for_best_model")
    if isinstance(metric, str) and metric_key(metric) not in KNOWN_METRICS:
        close = difflib.get_close_matches(metric_key(metric), KNOWN_METRICS, n=1)
        fix = f"did you mean `{close[0]}`?" if close else f"use one of {', '.join(KNOWN_METRICS)}"
        yield at("metric_for_best_model"), f"`metric_for_best_model: {metric}` is not an evaluation metric: {fix}"
    if cfg.get("eval_strategy") in (None, "no"):
        yield at(key), (f"`{key}` compares evaluations; set `eval_strategy: steps` (with `eval_steps`) or "
                        "`eval_strategy: epoch`, and a validation set")
        return
    if cfg.get("load_best_model_at_end") and cfg.get("save_strategy") != "best":
        save, evaluate = cfg.get("save_strategy") or "no", cfg.get("eval_strategy")
        aligned = save == evaluate and (save != "steps" or (cfg.get("eval_steps") and (cfg.get("save_steps") or 500)
                                                             % cfg["eval_steps"] == 0))
        if not aligned:
            yield at("load_best_model_at_end"), ("`load_best_model_at_end` needs a checkpoint at every evaluation that "
                                                 "can be the best: set `save_strategy: best` (save when the metric "
                                                 "improves), or save on the evaluation schedule (`save_strategy` equal "
                                                 "to `eval_strategy`, `save_steps` a multiple of `eval_steps`)")


def _data_field_problems(cfg: dict[str, Any], smap: SourceMap, overrides: dict[str, str], base: Path):
    """Combinations of the data, task and batching fields that cannot work together."""

    def at(key: str, subkey: str | None = None) -> tuple[str, int, int]:
        if key in overrides:
            return f"--set {key}={overrides[key]}", 0, 0
        pos = smap.key((key, subkey)) if subkey is not None else smap.value((key,))
        return smap.path, pos.line, pos.column

    yield from _data_source_problems(cfg, smap, overrides, base)
    for label, path, mapping in _column_mappings(cfg):
        for name in mapping:
            if name not in MAPPABLE_COLUMNS:
                close = difflib.get_close_matches(name, MAPPABLE_COLUMNS, n=1)
                fix = f"did you mean `{close[0]}`?" if close else f"use one of {', '.join(MAPPABLE_COLUMNS)}"
                yield _located(smap, overrides, path + (name,), on_key=True), f"`{label}` has unknown column `{name}`: {fix}"
    yield from _format_field_problems(cfg, at)
    template = cfg.get("chat_template")
    if isinstance(template, str) and template:
        if is_template_file(template):
            if not (base / template).resolve().is_file():
                yield at("chat_template"), f"file not found: {(base / template).resolve()}; fix the path in `chat_template` (relative to the config file)"
        elif template not in bundled_names():
            yield at("chat_template"), f"`chat_template` must be one of {', '.join(bundled_names())} or a .jinja file, got {_describe(template)}"
    if cfg.get("validation_split_ratio") and cfg.get("validation_file"):
        yield at("validation_split_ratio"), "set either `validation_file` or `validation_split_ratio`, not both"
    if cfg.get("task") == "sequence_classification":
        for key in ("generation_prompts_file", "packing", "padding_free"):
            if cfg.get(key):
                yield at(key), f"`{key}` applies to task causal_lm only; remove it for `task: sequence_classification`"
    if cfg.get("packing") and cfg.get("packing_strategy") == "wrapped" and cfg.get("padding_free"):
        yield at("padding_free"), "`padding_free` cannot lay out `packing_strategy: wrapped` blocks (they are full rows already); use `packing_strategy: bfd` or `padding_free: false`"


def _located(smap: SourceMap, overrides: dict[str, str], path: tuple, on_key: bool = False) -> tuple[str, int, int]:
    """Where the value (or key) at `path` is: in the file, or the `--set` override of its top-level field."""
    if path[0] in overrides:
        return f"--set {path[0]}={overrides[path[0]]}", 0, 0
    pos = smap.key(path) if on_key else smap.value(path)
    return smap.path, pos.line, pos.column


def _column_mappings(cfg: dict[str, Any]):
    """(name for messages, path in the config, mapping) of the config's column_mapping and each train_files entry's."""
    if isinstance(cfg.get("column_mapping"), dict):
        yield "column_mapping", ("column_mapping",), cfg["column_mapping"]
    entries = cfg.get("train_files")
    for i, entry in enumerate(entries if isinstance(entries, list) else []):
        if isinstance(entry, dict) and isinstance(entry.get("column_mapping"), dict):
            yield f"train_files[{i}].column_mapping", ("train_files", i, "column_mapping"), entry["column_mapping"]


def _data_source_problems(cfg: dict[str, Any], smap: SourceMap, overrides: dict[str, str], base: Path):
    """Exactly one of train_file and train_files; every data path a readable file type or a Hub dataset reference
    (the editor's validator applies the same rules: src/config/dataSource.ts)."""
    has_file, has_files = cfg.get("train_file") is not None, cfg.get("train_files") is not None
    if has_file and has_files:
        yield (_located(smap, overrides, ("train_files",)),
               "set either `train_file` or `train_files`, not both; move the file into `train_files` as `- path: ...`")
    elif not has_file and not has_files:
        yield ((smap.path, 1, 1), "missing training data: add `train_file: ...` (a data file, or hf://datasets/ORG/NAME "
                                  "for a Hub dataset), or `train_files:` with entries {path, weight} to mix several")
    sources = [(key, (key,), cfg.get(key)) for key in ("train_file", "validation_file")]
    entries = cfg.get("train_files")
    for i, entry in enumerate(entries if isinstance(entries, list) else []):
        if isinstance(entry, dict):
            sources.append((f"train_files[{i}].path", ("train_files", i, "path"), entry.get("path")))
    for label, path, value in sources:
        if not isinstance(value, str) or not value:
            continue
        where = _located(smap, overrides, path)
        if is_hub_reference(value):
            problem = reference_problem(value)
            if problem:
                yield where, f"`{label}` is {problem}"
        elif not value.lower().endswith(DATA_SUFFIXES):
            yield where, (f"`{label}` must be a {', '.join(DATA_SUFFIXES)} file or a Hub dataset (hf://datasets/ORG/NAME), "
                          f"got {_describe(value)}; convert the data or fix the path")
        elif path[0] == "train_files" and not (base / value).resolve().is_file():
            yield where, f"file not found: {(base / value).resolve()}; fix the path in `{label}` (relative to the config file)"


def _format_field_problems(cfg: dict[str, Any], at):
    """The conversation fields (formats.py) where they cannot apply or contradict themselves."""
    fields = cfg.get("message_field_mapping")
    if isinstance(fields, dict) and fields.get("role") is not None and fields.get("role") == fields.get("content"):
        yield at("message_field_mapping"), (f"`message_field_mapping` reads role and content from the same key "
                                            f"`{fields['role']}`; name the key holding the speaker and the one holding the text")
    fmt = cfg.get("dataset_format")
    for key in ("message_field_mapping", "role_mapping", "system_prompt"):
        if cfg.get(key) is None:
            continue
        if cfg.get("task") == "sequence_classification":
            yield at(key), f"`{key}` applies to task causal_lm only; remove it for `task: sequence_classification`"
        elif fmt == "text" or (fmt == "alpaca" and key != "system_prompt"):
            yield at(key), (f"`{key}` does not apply to `dataset_format: {fmt}`; remove it, or use a conversational "
                            "format (messages, sharegpt, prompt_completion, or auto)")


def _training_field_problems(cfg: dict[str, Any], smap: SourceMap, overrides: dict[str, str], base: Path):
    """Combinations of the model, precision and distributed fields that cannot work together."""

    def at(key: str) -> tuple[str, int, int]:
        if key in overrides:
            return f"--set {key}={overrides[key]}", 0, 0
        pos = smap.value((key,))
        return smap.path, pos.line, pos.column

    if cfg.get("bf16") and cfg.get("fp16"):
        yield at("fp16"), "`bf16` and `fp16` are both true; choose one 16-bit autocast (bf16 needs no gradient scaler)"
    if cfg.get("fp16") and cfg.get("torch_dtype") == "float16":
        yield at("fp16"), "`fp16` keeps float32 master weights for its gradient scaler; set `torch_dtype: float32` (or use `bf16`)"
    for key in ("lora_target_modules", "modules_to_save", "merge_lora_on_save"):
        if cfg.get(key) and not cfg.get("use_lora"):
            yield at(key), f"`{key}` applies to LoRA only; add `use_lora: true` or remove `{key}`"
    if cfg.get("load_in_4bit"):
        if not cfg.get("use_lora"):
            yield at("load_in_4bit"), ("a 4-bit base cannot be trained in full; add `use_lora: true` (QLoRA) "
                                       "or remove `load_in_4bit`")
        if cfg.get("merge_lora_on_save"):
            yield at("merge_lora_on_save"), ("merging into a 4-bit base would save rounded weights; remove "
                                             "`merge_lora_on_save` and merge the adapter into the bf16 base afterwards")
        if cfg.get("fsdp") not in (None, "no"):
            yield at("load_in_4bit"), "`load_in_4bit` cannot be sharded with `fsdp`; use `fsdp: no`"
    hostfile = cfg.get("hostfile")
    if isinstance(hostfile, str) and hostfile and not (base / hostfile).resolve().is_file():
        yield at("hostfile"), f"file not found: {(base / hostfile).resolve()}; fix the path in `hostfile` (relative to the config file)"
    yield from _launcher_problems(cfg, smap, overrides, at)
    if isinstance(cfg.get("nnodes"), int) and cfg["nnodes"] > 1 and not hostfile and cfg.get("launcher") != "slurm":
        yield at("nnodes"), f"`nnodes: {cfg['nnodes']}` needs a `hostfile` naming the machines (one `host slots=N` line each), or set `nnodes: 1`"
    fsdp = cfg.get("fsdp")
    if fsdp not in (None, "no"):
        yield from _fsdp_problems(cfg, fsdp, at)


def _launcher_problems(cfg: dict[str, Any], smap: SourceMap, overrides: dict[str, str], at):
    """`slurm` needs `launcher: slurm`, and with it Slurm, not the config, decides the machines."""
    slurm = cfg.get("slurm") if isinstance(cfg.get("slurm"), dict) else None
    if cfg.get("slurm") is not None and cfg.get("launcher") != "slurm":
        yield (_located(smap, overrides, ("slurm",), on_key=True),
               "`slurm` applies to `launcher: slurm`; add `launcher: slurm` to submit this run as a Slurm job, "
               "or remove `slurm` to train on this machine")
    if cfg.get("launcher") != "slurm":
        return
    if cfg.get("hostfile"):
        yield at("hostfile"), ("with `launcher: slurm` Slurm allocates the machines; remove `hostfile` and set "
                               "`slurm.nodes`")
    if isinstance(cfg.get("nnodes"), int) and cfg["nnodes"] > 1:
        yield at("nnodes"), (f"with `launcher: slurm` the machines are `slurm.nodes`; remove `nnodes` and write "
                             f"`nodes: {cfg['nnodes']}` under `slurm`")
    gpus, procs = (slurm or {}).get("gpus_per_node"), cfg.get("nproc_per_node")
    if isinstance(gpus, int) and gpus > 0 and isinstance(procs, int) and procs > 1 and procs != gpus:
        yield at("nproc_per_node"), (f"with `slurm.gpus_per_node: {gpus}` every machine runs one process per GPU; "
                                     f"remove `nproc_per_node` (or set it to {gpus})")


def _slurm_issue(error: jsonschema.ValidationError, smap: SourceMap, overrides: dict[str, str],
                 spec: dict[str, Any]) -> ConfigIssue:
    """A schema error inside `slurm`, named like `slurm.time` or `slurm.setup[1]` and placed at that value."""
    path = list(error.absolute_path)
    label = "slurm" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path[1:])
    key = path[1] if len(path) >= 2 else None
    got = _describe(error.instance)
    if error.validator == "additionalProperties":
        unknown = [k for k in error.instance if k not in spec["properties"]]
        close = difflib.get_close_matches(unknown[0], list(spec["properties"]), n=1)
        fix = f"did you mean `{close[0]}`?" if close else f"it takes {', '.join(spec['properties'])}"
        return ConfigIssue(*_located(smap, overrides, ("slurm", unknown[0]), on_key=True),
                           f"`slurm` has unknown key `{unknown[0]}`: {fix}")
    where = _located(smap, overrides, tuple(path))
    if key is None:
        return ConfigIssue(*where, f"`slurm` must be a mapping such as {{partition: gpu, nodes: 2, gpus_per_node: 8, "
                                   f"time: '4:00:00'}}, got {got}")
    if error.validator == "pattern":
        words = {"time": "a Slurm time: minutes (90), HH:MM:SS (4:00:00) or D-HH:MM:SS (1-12:00:00)",
                 "extra_sbatch": "one `#SBATCH --option=value` line",
                 "setup": "one shell line (write each line as its own list entry)"}
        return ConfigIssue(*where, f"`{label}` must be {words.get(key, 'letters, digits, . _ and - only')}, got {got}")
    item = spec["properties"].get(key, {})
    return ConfigIssue(*where, _schema_message(error, label, {label: item.get("items", item) if len(path) > 2 else item}))


def _fsdp_problems(cfg: dict[str, Any], fsdp: str, at):
    """What FSDP sharding cannot be combined with, and what to do instead."""
    several = (isinstance(cfg.get("nproc_per_node"), int) and cfg["nproc_per_node"] > 1) or cfg.get("hostfile") \
        or (cfg.get("launcher") == "slurm" and any(isinstance(v, int) and v > 1 for v in (
            (cfg.get("slurm") or {}).get("nodes"), (cfg.get("slurm") or {}).get("gpus_per_node"))))
    if not several:
        yield at("fsdp"), (f"`fsdp: {fsdp}` shards the model over several processes; set `nproc_per_node: 2` or more "
                           "(or a `hostfile`), or remove `fsdp` to train in one process")
    if cfg.get("use_lora"):
        yield at("fsdp"), ("`fsdp` cannot shard a LoRA model; LoRA trains few parameters, so use data parallel "
                           "(`fsdp: no` with nproc_per_node > 1), or train the full model with `fsdp` (`use_lora: false`)")
    if cfg.get("fp16"):
        yield at("fsdp"), ("`fp16`'s gradient scaler cannot see the other processes' gradient shards; "
                           "use `bf16: true` with `fsdp` (no scaler needed), or `fsdp: no`")
    if cfg.get("torch_compile"):
        yield at("fsdp"), "`torch_compile` is not supported with `fsdp`; set `torch_compile: false` or `fsdp: no`"


def _unbool_enums(data: dict[str, Any]) -> None:
    # `--set eval_strategy=no` reads `no` as false (a switch word on the command line: source_map.parse_scalar), but
    # means the string "no" (as in HF configs).
    for key, spec in load_schema()["properties"].items():
        if data.get(key) is False and "no" in spec.get("enum", ()):
            data[key] = "no"


def parse_overrides(pairs: list[str]) -> dict[str, str]:
    """`--set key=value` strings to {key: raw value}; a later value wins."""
    out: dict[str, str] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError([ConfigIssue(f"--set {pair}", 0, 0, "expected `--set key=value`, e.g. `--set learning_rate=1e-4`")])
        key, raw = pair.split("=", 1)
        out[key.strip()] = raw
    return out


def load_config(path: str | os.PathLike, overrides: list[str] | None = None) -> tuple[RunConfig, Path]:
    """Read, override, validate and resolve a config. Raises ConfigError with every issue found."""
    config_path = Path(path).resolve()
    shown = os.path.relpath(config_path) if not str(path).startswith("/") else str(path)
    try:
        content = config_path.read_bytes()
    except FileNotFoundError:
        raise ConfigError([ConfigIssue(str(path), 0, 0, "config file not found; check the path")]) from None
    except OSError as exc:
        raise ConfigError([ConfigIssue(str(path), 0, 0, f"cannot read the config ({exc.strerror}); check the path")]) from None
    try:
        data, smap = load_with_positions(shown, decode_utf8(shown, content))
    except SourceError as exc:
        raise ConfigError([ConfigIssue(exc.path, exc.position.line, exc.position.column, exc.message)]) from None
    raw_overrides = parse_overrides(overrides or [])
    if data is None and not raw_overrides:
        # One message for an empty file, not one per missing field.
        raise ConfigError([ConfigIssue(shown, 1, 1, "the config is empty: write at least `model_name_or_path` and "
                                                    "`train_file`")])
    data = {} if data is None else data
    if isinstance(data, dict):
        for key, raw in raw_overrides.items():
            data[key] = parse_scalar(raw)
    if isinstance(data, dict):
        _unbool_enums(data)
    issues = _check_schema(data, smap, raw_overrides)
    if isinstance(data, dict):
        issues += _check_semantics(data, smap, raw_overrides, config_path.parent)
    if issues:
        # File order first, then `--set` overrides (line 0), as an editor's Problems list would show them.
        raise ConfigError(sorted(issues, key=lambda i: (i.line <= 0, i.line, i.column)))
    cfg = RunConfig(**data)
    for key in PATH_FIELDS:
        value = getattr(cfg, key)
        # A Hub id stays as written; hub.py turns it into a cached snapshot folder when the run loads it.
        if value is not None and not (key == "model_name_or_path" and model_kind(value, config_path.parent) == "hub") \
                and not is_hub_reference(value):
            setattr(cfg, key, str((config_path.parent / value).resolve()))
    if cfg.train_files:
        cfg.train_files = [{**entry, "path": entry["path"] if is_hub_reference(entry["path"])
                            else str((config_path.parent / entry["path"]).resolve())} for entry in cfg.train_files]
    if cfg.chat_template and is_template_file(cfg.chat_template):
        cfg.chat_template = str((config_path.parent / cfg.chat_template).resolve())
    if cfg.run_name is None:
        cfg.run_name = config_stem(config_path)
    return cfg, config_path


def config_from_resolved(data: dict[str, Any]) -> RunConfig:
    """Rebuild a RunConfig from config.resolved.json (used by resume); `model_commit` is read by the resume itself."""
    return RunConfig(**{k: v for k, v in data.items() if k != MODEL_COMMIT})


__all__ = ["RunConfig", "ConfigIssue", "ConfigError", "load_config", "parse_overrides", "config_stem", "Position"]
