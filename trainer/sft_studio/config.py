"""The run config: a typed dataclass, validated against schema/run-config.schema.json.

The JSON Schema is the single truth shared with the extension (completion, hover, diagnostics); this
module adds source positions, "did you mean" for typos, file-existence checks and `--set` overrides.
A test keeps the dataclass fields and defaults equal to the schema's. Each field's doc line is the schema's
`description`, written by `npm run gen:types` (scripts/gen-config-docs.mjs): edit the schema, not the doc line.
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

from .data.chat_templates import bundled_names, is_template_file
from .data.hub_data import is_hub_reference, reference_problem
from .data.readers import DATA_SUFFIXES, MAPPABLE_COLUMNS
from .errors import ConfigError, ConfigIssue, SourceError
from .launch.sweep_config import sweep_problems, sweep_schema_issue
from .model.hub import model_kind
from .run.run_folder import config_stem
from .source_map import Position, SourceMap, decode_utf8, load_with_positions, parse_scalar
from .train.best_model import KNOWN_METRICS, metric_key

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
    """The model to fine-tune: a local Hugging Face model folder (config.json, safetensors weights, tokenizer files),
    relative to the config file's folder, or a Hugging Face Hub id such as Qwen/Qwen2.5-0.5B-Instruct. A value that
    names an existing folder is that folder; otherwise an org/name value is a Hub id, fetched once into the Hugging Face
    cache (HF_HOME / HF_HUB_CACHE) with the token set by 'SFT Studio: Set Hugging Face Token' (HF_TOKEN)."""
    train_file: Optional[str] = None
    """Training data, relative to the config file's folder: JSONL (one example per line), JSON (a list of objects), CSV
    (with a header row), Parquet, or Arrow (an IPC file or stream, as `datasets` writes data-00000-of-00001.arrow); or a
    Hub dataset hf://datasets/ORG/NAME[@REVISION][/SUBSET][[SPLIT]] (split train unless named, e.g.
    hf://datasets/HuggingFaceH4/ultrachat_200k[train_sft]), loaded through the `datasets` library and its cache
    (HF_HOME; HF_TOKEN for private and gated datasets; with HF_HUB_OFFLINE=1 from the cache). Set this or train_files,
    not both. Parquet, Arrow and Hub datasets are read by the trainer only (the editor's token insight reads JSONL, JSON
    and CSV)."""
    train_files: Optional[list[dict[str, Any]]] = None
    """Instead of train_file: several training sources mixed into one training set, each {path, dataset_format?,
    weight?, column_mapping?}. `path` is a data file or a Hub dataset, as in train_file; `dataset_format` (default: the
    config's; auto decides on that file's own rows) and `column_mapping` (default: the config's) apply to that file
    only; `weight` (default 1) is how many times its rows are used: 2 = every row twice, 0.5 = a seeded half of them,
    2.5 = every row twice and a seeded half once more (never fewer than one row). The training set is built in this
    order: all files' rows in one list (file after file, each in file order); the validation_split_ratio hold-out drawn
    from that list (seed `seed`, so no row is both trained and held out); each file's remaining rows taken `weight`
    times (the fractional part drawn with seed + 2 + the file's index, 0-based); then subsample over the result (seed +
    1). Training shuffles the examples every epoch."""
    model_revision: str = "main"
    """Branch, tag or commit of a Hub model_name_or_path. The run records the commit it resolved to in
    config.resolved.json, and a resume loads that commit. Ignored for a local folder."""
    run_name: Optional[str] = None
    """Name of the run; its folder is <output_dir>/<run_name>-<UTC timestamp>. Defaults to the config file's stem."""
    output_dir: str = "runs"
    """Parent folder of this config's runs, relative to the config file's folder."""
    task: str = "causal_lm"
    """What is trained: causal_lm = instruction/chat/plain-text supervised fine-tuning of a causal language model;
    sequence_classification = a classification head on the model (single text or text pair, `num_labels` classes),
    evaluated with accuracy and F1."""
    # --- data ---
    validation_file: Optional[str] = None
    """Validation data, a file or a Hub dataset as in train_file (a Hub dataset's split is validation unless named, e.g.
    hf://datasets/org/name[test]), used for eval loss and token accuracy; read with the config's dataset_format (auto:
    its own first row decides) and column_mapping."""
    dataset_format: str = "auto"
    """Row format: auto = decided by the first row's keys (in this order: messages, sharegpt, prompt_completion, alpaca,
    text); alpaca = {instruction, input?, output, system?}; messages = OpenAI style {messages: [{role, content}, ...]},
    content a string or a list of text parts; sharegpt = {conversations: [{from, value}, ...], system?};
    prompt_completion = TRL style {prompt, completion}, both strings (plain text, the completion trained) or both lists
    of messages (only the completion's assistant turns trained); text = {text}, every token trained. Conversations are
    rendered with the chat template; a `tools` column is passed to it. With train_files, each file's own rows decide for
    it, and an entry's dataset_format overrides this one."""
    column_mapping: Optional[dict[str, str]] = None
    """Rename columns of the data files: keys are the names a format reads (instruction, input, output, messages,
    conversations, prompt, completion, tools, system, text, text_pair, label), values the column names in your files,
    e.g. {text: text_a, text_pair: text_b}. A train_files entry's own column_mapping replaces this one for that file."""
    message_field_mapping: Optional[dict[str, str]] = None
    """Keys holding the speaker and the text inside each turn of messages, sharegpt and conversational prompt_completion
    rows, e.g. {role: speaker, content: text}; a key left out keeps the format's default (messages: role/content,
    sharegpt: from/value). null = the defaults."""
    role_mapping: Optional[dict[str, str]] = None
    """Dataset role name -> system, user, assistant or tool, merged over the defaults human/user -> user, gpt/assistant
    -> assistant, system -> system, function_call -> assistant (its text kept), observation/tool -> tool; e.g.
    {customer: user, agent: assistant}. null = the defaults."""
    system_prompt: Optional[str] = None
    """A system message put first in every conversation that has none (also in the generation prompts). null = none."""
    validation_split_ratio: float = 0.0
    """Without validation_file: share of the training rows held out for validation (seeded by `seed`; drawn from the
    rows of train_file, or of all train_files together, before their weights and before subsample). 0 = no split."""
    subsample: float = 1.0
    """Fraction of the training rows to keep (seeded by `seed`; file order is preserved), applied last: after the
    validation hold-out and the train_files weights. 1 = all rows."""
    num_labels: int = 2
    """Number of classes for task: sequence_classification; labels are whole numbers 0..num_labels-1 in the `label`
    column."""
    generation_prompts_file: Optional[str] = None
    """Fixed prompt set sampled at step 0 and at every evaluation (JSONL of alpaca rows, whose `output`, when present,
    is the reference, or messages / sharegpt rows, whose final assistant turn, when present, is the reference; prompts
    with a reference are decoded greedily)."""
    generation_max_new_tokens: int = 64
    """Maximum new tokens per sampled generation."""
    generation_temperature: float = 0.7
    """Sampling temperature for prompts without a reference (0 = greedy). Prompts with a reference are always greedy."""
    generation_top_p: float = 1.0
    """Nucleus sampling mass for prompts without a reference."""
    generation_top_k: int = 0
    """Top-k cut for prompts without a reference (0 = off)."""
    completion_only_loss: bool = True
    """Train only on the response (assistant) tokens; the prompt is masked from the loss. false = loss over all
    tokens."""
    max_length: int = 512
    """Maximum tokens per example; longer examples are truncated (the count is reported)."""
    excess_length_strategy: str = "truncate"
    """Rows longer than max_length: truncate = keep the first max_length tokens (a cut answer still ends with its
    end-of-turn marker) and drop rows left with no answer token; drop = drop every longer row; error = stop at the first
    row whose answer would be cut away entirely. Dropped rows are counted and the first is named in the dry run,
    run_started and the token panel."""
    chat_template: Optional[str] = None
    """Chat template used instead of the tokenizer's: a bundled name (plain = '### User:' / '### Assistant:' turns
    ending with the EOS token, the default for tokenizers without a template; chatml = <|im_start|>/<|im_end|> turns) or
    a .jinja file relative to the config. null = the tokenizer's own template. Saved with every checkpoint."""
    chat_template_kwargs: Optional[dict[str, Any]] = None
    """Extra variables for the chat template, passed on every render (training, generation, token insight), e.g.
    {enable_thinking: false} for Qwen3 puts the empty think block into the generation prompt so only the answer is
    trained."""
    padding_free: bool = False
    """Concatenate each micro-batch into one row with position_ids restarting per example (no padding, no attention
    across examples). Changes only the layout of a batch, never its content."""
    packing: bool = False
    """Pack training examples into rows of max_length tokens (changes which examples share a micro-batch;
    per_device_train_batch_size then counts packed rows). How is set by packing_strategy. causal_lm only."""
    packing_strategy: str = "bfd"
    """bfd = best-fit-decreasing bins of whole examples, each bin laid out padding-free (position_ids restart per
    example, no attention across examples); wrapped = classic fixed blocks: all examples concatenated and cut every
    max_length tokens (examples may be split and attend to each other)."""
    group_by_length: bool = False
    """Length-grouped sampling: shuffle, then sort examples by length within chunks of 50 micro-batches, so each
    micro-batch holds examples of similar length (less padding). Seeded like the plain shuffle."""
    fused_cross_entropy: bool = True
    """Compute the loss from the final hidden states chunk by chunk, only at positions that carry a label, with the
    output projection fused in, so the full (tokens x vocabulary) logits are never held in memory. Same loss and
    gradients as the plain path; heads it cannot fuse (LoRA on the head, logit soft-capping) and fsdp runs fall back
    automatically. false = plain full-logits loss."""
    varlen_attention: bool = True
    """For padding-free rows (padding_free, bfd packing) with attn_implementation sdpa: run attention per example
    instead of over the whole row with a block-diagonal mask, so cross-example scores are never computed. Same results;
    models with sliding-window attention keep plain sdpa."""
    # --- optimisation ---
    per_device_train_batch_size: int = 8
    """Examples per micro-batch on each device."""
    per_device_eval_batch_size: int = 16
    """Examples per evaluation batch on each device."""
    gradient_accumulation_steps: int = 1
    """Micro-batches accumulated per optimizer step; the loss is normalised by the target tokens of the whole step."""
    learning_rate: float = 5e-5
    """Peak learning rate of AdamW."""
    lr_scheduler_type: str = "linear"
    """Learning-rate schedule after warmup: linear decay to 0, cosine decay to 0, constant (no warmup), constant after
    warmup."""
    warmup_ratio: float = 0.0
    """Share of total steps spent warming up linearly from 0 (ignored when warmup_steps > 0)."""
    warmup_steps: int = 0
    """Number of warmup steps; overrides warmup_ratio when > 0."""
    num_train_epochs: float = 1
    """Passes over the training data (ignored when max_steps > 0)."""
    max_steps: int = -1
    """Total optimizer steps; -1 = derive from num_train_epochs."""
    max_grad_norm: float = 1.0
    """Clip the global gradient norm to this value (0 = no clipping; the norm is still logged)."""
    weight_decay: float = 0.0
    """AdamW decoupled weight decay, not applied to biases and norm weights."""
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
    """When to evaluate (loss, token accuracy, sampled generations): never, every eval_steps, or at each epoch end. The
    last step is always evaluated unless no."""
    eval_steps: Optional[int] = None
    """Evaluate every N optimizer steps when eval_strategy is steps."""
    save_strategy: str = "no"
    """When to save intermediate checkpoints: never, every save_steps, at each epoch end, or whenever
    metric_for_best_model improves (best); the final model is always saved."""
    save_steps: int = 500
    """Save every N optimizer steps when save_strategy is steps."""
    save_total_limit: Optional[int] = None
    """Keep at most this many intermediate checkpoints (oldest removed first; the final one and the best one are
    kept)."""
    metric_for_best_model: Optional[str] = None
    """Evaluation metric that picks the best checkpoint and drives early stopping: loss, perplexity, token_accuracy,
    accuracy, f1 or exact_match (the eval_ prefix of HF configs is accepted). Defaults to loss."""
    greater_is_better: Optional[bool] = None
    """Whether a larger metric_for_best_model is better. Defaults to false for loss and perplexity, true for the
    others."""
    load_best_model_at_end: bool = False
    """End a completed run with the best checkpoint as its result (run_finished's final_checkpoint); the last training
    state is still saved."""
    early_stopping_patience: Optional[int] = None
    """Stop training after this many evaluations in a row without improving metric_for_best_model. Unset: never stop
    early."""
    early_stopping_threshold: float = 0.0
    """How much metric_for_best_model must improve on the best so far to count as an improvement."""
    # --- runtime ---
    torch_dtype: str = "float32"
    """Precision the weights are loaded and trained in."""
    device: str = "auto"
    """Where to train: auto = CUDA when available, else CPU."""
    trust_remote_code: bool = False
    """Allow model code shipped inside the checkpoint folder to run. Off unless you trust the checkpoint."""
    # --- model adaptation ---
    attn_implementation: str = "sdpa"
    """Attention kernel the model is loaded with. sdpa works everywhere; flash_attention_2/3 need the flash-attn package
    and a GPU; padding_free uses their varlen path."""
    freeze_embeddings: bool = False
    """Freeze the input token embeddings (and the output head when the model ties it to them)."""
    freeze_layers: int = 0
    """Freeze the first N decoder layers (counted from the input); their weights stay bit-identical. The trainable count
    is logged in run_started."""
    use_lora: bool = False
    """Train LoRA adapters (peft) instead of the full model; the base weights stay unchanged and checkpoints hold the
    adapter."""
    lora_r: int = 16
    """LoRA rank."""
    lora_alpha: float = 32
    """LoRA scaling numerator: the adapter update is scaled by lora_alpha / lora_r."""
    lora_dropout: float = 0.05
    """Dropout on the LoRA branch."""
    lora_target_modules: Optional[list[str]] = None
    """Module names that get adapters, e.g. [q_proj, v_proj] or [q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj,
    down_proj]; leave unset for peft's default for the architecture."""
    modules_to_save: Optional[list[str]] = None
    """Modules trained in full and saved next to the adapter, e.g. [lm_head] (LoRA only)."""
    merge_lora_on_save: bool = False
    """Also write the final checkpoint as a full model with the adapter merged into the base weights, in
    <checkpoint>/merged (LoRA only)."""
    load_in_4bit: bool = False
    """QLoRA: load the frozen base model quantised to 4-bit NF4 with double quantisation (bitsandbytes; CUDA only) and
    train LoRA adapters on it; compute runs in bf16 with `bf16: true`, else fp16 with `fp16: true`, else fp32. Needs
    `use_lora: true`; not with `merge_lora_on_save` or `fsdp`."""
    gradient_checkpointing: bool = False
    """Recompute activations during the backward pass (non-reentrant): much less activation memory for about 30% more
    compute."""
    torch_compile: bool = False
    """Compile the training forward pass with torch.compile: the first steps are slow (compilation), later ones faster.
    Needs a C++ compiler on CPU."""
    # --- precision ---
    bf16: bool = False
    """bfloat16 autocast for the forward pass; weights, gradients and optimizer state stay in torch_dtype. Works on CPU
    and on GPUs with bfloat16 support."""
    fp16: bool = False
    """float16 autocast with a dynamic gradient scaler (steps with inf/NaN gradients are skipped). Needs torch_dtype
    float32; works on CPU and GPU."""
    tf32: Optional[bool] = None
    """Allow TensorFloat-32 matmuls on CUDA (Ampere or newer). Leave unset for PyTorch's default; no effect on CPU."""
    min_lr_rate: float = 0.0
    """Floor of the linear and cosine schedules as a fraction of learning_rate (0 = decay to zero)."""
    # --- distributed ---
    nproc_per_node: int = 1
    """Training processes per machine. > 1 runs data parallel under torchrun (gloo on CPU, NCCL on GPU, one GPU per
    process); the global batch is per_device_train_batch_size x nproc_per_node x nnodes x
    gradient_accumulation_steps."""
    nnodes: int = 1
    """Machines taking part. > 1 needs the same `train` command started on every machine (or a hostfile); the first host
    of the hostfile is the rendezvous point."""
    hostfile: Optional[str] = None
    """Deepspeed-style hostfile, one `host slots=N` line per machine (relative to the config file). Sets nnodes to the
    number of hosts, nproc_per_node to the slots, and the rendezvous to the first host."""
    master_port: int = 29500
    """Rendezvous port on the first host of a multi-machine run."""
    fsdp: str = "no"
    """Shard the model over the training processes with PyTorch's FSDP2 (fully_shard on every decoder layer, then on the
    whole model), for models whose weights, gradients and optimizer state do not fit one device. no = data parallel,
    every process holds the whole model; full_shard = weights, gradients and AdamW state are split over the processes
    and each layer is gathered for its forward and again for its backward (ZeRO-3); shard_grad_op = as full_shard, but a
    layer stays gathered from its forward to its backward (more memory, less communication). Needs nproc_per_node > 1
    (or a hostfile); not with use_lora, fp16 or torch_compile. The loss is computed from the full logits
    (fused_cross_entropy does not apply), evaluation and generations run on every process with the gathered layers, and
    checkpoints hold the full, gathered model in the usual layout."""
    report_to: str = "none"
    """Extra metric sinks besides events.jsonl: none, tensorboard (event files in <run>/tensorboard), wandb (Weights &
    Biases; project from the WANDB_PROJECT environment variable, default sft-studio; one W&B run per run folder,
    continued on resume; needs the wandb package and WANDB_API_KEY, `wandb login` or WANDB_MODE=offline) or all. A sink
    whose package or credentials are missing becomes one warning; the run goes on."""
    # --- launcher ---
    launcher: str = "local"
    """Where the run trains. local = the trainer starts on this machine (▶ Run, or `python -m sft_studio train`); slurm
    = ▶ Run (or `python -m sft_studio submit`) submits an sbatch job built from `slurm` instead, and the run is followed
    from its folder as a local run is. The run folder must then lie on a filesystem the cluster's nodes share
    (output_dir); the job reads the config when it starts."""
    slurm: Optional[dict[str, Any]] = None
    """The Slurm job of `launcher: slurm` {partition, nodes, gpus_per_node, cpus_per_task, time, account, qos,
    extra_sbatch, setup}: one task per node, each starting torchrun with one process per GPU (nproc_per_node processes
    on nodes without GPUs), all meeting at the allocation's first host on master_port. Stop asks the trainer to save a
    checkpoint (control.jsonl), then cancels the job (scancel) after sftStudio.stopGracePeriodSeconds; a job Slurm ends
    (TIMEOUT, CANCELLED, NODE_FAIL, ...) shows its state in the run's error, and Resume resubmits it."""
    # --- sweep (launch/sweep.py) ---
    sweep: Optional[dict[str, Any]] = None
    """A hyperparameter sweep over this config, {method, parameters, max_trials, seed, early_stopping_patience}: ▶ Sweep
    (or `python -m sft_studio sweep`) starts one run per trial, each this config with the trial's values as `--set`
    overrides, through the run queue (sftStudio.maxConcurrentRuns). Every trial evaluates, and its objective is
    metric_for_best_model (loss by default; greater_is_better gives the direction), its best evaluation. ▶ Run ignores
    the block and trains the config as written."""
    sweep_id: Optional[str] = None
    """Set by a sweep on each of its trials (the sweep folder's name); leave it out of configs."""
    sweep_trial: Optional[int] = None
    """Set by a sweep on each of its trials: the trial's index in sweep.json; leave it out of configs."""

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
    """The conversation fields (data/formats.py) where they cannot apply or contradict themselves."""
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
        # A Hub id stays as written; model/hub.py turns it into a cached snapshot folder when the run loads it.
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
