"""The memory estimator against measurement: a few real training steps per configuration.

`python -m sft_bench.estimate_check` trains each configuration of CONFIGS for a few steps through the
real recipe (as `python -m sft_studio train` runs it) under `memtrack.LiveTensorBytes`, the peak of
live tensor bytes the benchmark also uses, and compares that with `train --dry-run`'s estimate of
the same config. It prints the table and, with `--write`, records it in
bench/results/estimator-<device>-<date>.json and in bench/README.md ("Memory estimator").
`trainer/tests/test_estimate.py` runs the same measurements and asserts the error bound.

The peak is taken from the end of the first update on: AdamW's state exists in every later step of a
run, and the estimate is for that steady state. The estimate compared is the estimator's for exactly
the micro-batches measured; with rows of one length (a byte-level tokenizer: one character is one
token) every micro-batch has the same shape and that is also the dry run's number for the config.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

REPO = Path(__file__).resolve().parents[2]
TINY_MODEL = REPO / "examples" / "tiny-llama"
RESULTS = REPO / "bench" / "results"
README = REPO / "bench" / "README.md"
BEGIN, END = "<!-- estimator:begin -->", "<!-- estimator:end -->"

# A random Llama big enough that activations and logits, not framework bookkeeping, fill the memory;
# its 4,096-token vocabulary makes the loss head matter as it does in real models (the embedded tiny
# model has a byte-level vocabulary of 261).
LLAMA_4x256 = dict(vocab_size=4096, hidden_size=256, intermediate_size=688, num_hidden_layers=4,
                   num_attention_heads=4, num_key_value_heads=4, tie_word_embeddings=True)
MODELS = {"llama-4x256": LLAMA_4x256,
          # Grouped-query attention: 8 query heads share 2 key/value heads.
          "llama-4x256-gqa": {**LLAMA_4x256, "num_attention_heads": 8, "num_key_value_heads": 2}}


@dataclass(frozen=True)
class Case:
    name: str
    fields: dict[str, Any] = field(default_factory=dict)
    model: str = "llama-4x256"
    """A key of MODELS (random weights, built on first use) or `tiny-llama` (examples/tiny-llama)."""


BASE = {"per_device_train_batch_size": 8, "max_length": 256, "fused_cross_entropy": True}
CASES = (
    Case("full fp32", {"fused_cross_entropy": False}),
    Case("full fp32, fused cross-entropy", {}),
    Case("full fp32, gradient checkpointing", {"gradient_checkpointing": True}),
    Case("first 2 layers + embeddings frozen", {"freeze_layers": 2, "freeze_embeddings": True}),
    Case("LoRA r=16 (q, v)", {"use_lora": True, "lora_r": 16}),
    Case("bf16 autocast", {"bf16": True}),
    Case("bf16 autocast, plain cross-entropy", {"bf16": True, "fused_cross_entropy": False}),
    Case("padding-free, per-example attention", {"padding_free": True}),
    Case("packing (bfd), plain cross-entropy", {"packing": True, "fused_cross_entropy": False}),
    Case("padded rows of varied length, plain cross-entropy", {"fused_cross_entropy": False, "varied_lengths": True}),
    Case("tiny-llama, full fp32", {}, model="tiny-llama"),
    Case("gradient accumulation 2 x 4 rows", {"per_device_train_batch_size": 4, "gradient_accumulation_steps": 2}),
    Case("one row per step (gradients dominate)", {"per_device_train_batch_size": 1}),
    Case("LoRA, bf16 autocast", {"use_lora": True, "bf16": True}),
    Case("LoRA on every projection, no dropout", {"use_lora": True, "lora_dropout": 0.0, "lora_target_modules": [
        "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]}),
    Case("LoRA, lm_head trained in full (plain loss)", {"use_lora": True, "modules_to_save": ["lm_head"]}),
    Case("LoRA, checkpointing, bf16, padding-free", {"use_lora": True, "gradient_checkpointing": True, "bf16": True,
                                                     "padding_free": True}),
    Case("bf16 weights (torch_dtype)", {"torch_dtype": "bfloat16"}),
    Case("bf16 weights, plain cross-entropy", {"torch_dtype": "bfloat16", "fused_cross_entropy": False}),
    Case("fp16 autocast", {"fp16": True}),
    Case("padding-free, block mask (no per-example attention)", {"padding_free": True, "varlen_attention": False}),
    Case("packing (wrapped blocks)", {"packing": True, "packing_strategy": "wrapped"}),
    Case("grouped-query attention, padding-free", {"padding_free": True}, model="llama-4x256-gqa"),
)


def build_model(folder: Path, shape: dict[str, Any] | None = None, seed: int = 0) -> Path:
    """A random-weight Llama with the embedded byte-level tokenizer (saved once per folder)."""
    from transformers import AutoConfig, AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    if (folder / "config.json").is_file():
        return folder
    hf_logging.disable_progress_bar()
    folder.mkdir(parents=True, exist_ok=True)
    shape = dict(shape or LLAMA_4x256)
    config = AutoConfig.for_model(shape.pop("model_type", "llama"), **shape, pad_token_id=0, eos_token_id=1,
                                  max_position_embeddings=2048)
    torch.manual_seed(seed)
    AutoModelForCausalLM.from_config(config, dtype=torch.float32).save_pretrained(folder)
    for name in ("tokenizer.json", "special_tokens_map.json", "tokenizer_config.json"):
        shutil.copy(TINY_MODEL / name, folder / name)
    return folder


def write_rows(path: Path, count: int, prompt_chars: int = 60, answer_chars: int = 60, seed: int = 0,
               varied: bool = False) -> Path:
    """Alpaca rows that all tokenize to the same length (or, `varied`, to lengths spread over 2x)."""
    rng = random.Random(seed)
    words = "alpha beta gamma delta model token value layer".split()

    def text(chars: int) -> str:
        out = ""
        while len(out) < chars:
            out += rng.choice(words) + " "
        return out[:chars]

    def spread(chars: int) -> int:
        return rng.randint(chars // 2, chars * 3 // 2) if varied else chars

    path.write_text("".join(json.dumps({"instruction": text(spread(prompt_chars)), "output": text(spread(answer_chars))})
                            + "\n" for _ in range(count)))
    return path


def measure(case: Case, workdir: Path, steps: int = 2, device: str = "cpu",
            models: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Peak live tensor bytes of training steps 2..`steps` (the optimizer state exists from the first
    update on, as in every step of a real run after the first), and the estimate for those steps'
    micro-batches. With rows of one length that is the dry run's estimate for the config.

    On `device: cuda` the measurement is the CUDA allocator's peak (`torch.cuda.max_memory_allocated`)
    over the same steps; `models` adds shapes beyond MODELS (the GPU check's larger ones)."""
    from torch.optim.optimizer import register_optimizer_step_post_hook

    from sft_studio.config import load_config
    from sft_studio.data.dataset import load_splits
    from sft_studio.estimate.dry_run import device_type, estimate_for, meta_model, microbatch_shape, plan_batches
    from sft_studio.model.load import load_tokenizer
    from sft_studio.train.recipe import SFTRecipe

    from .memtrack import LiveTensorBytes

    shapes = {**MODELS, **(models or {})}
    model = TINY_MODEL if case.model == "tiny-llama" else build_model(workdir / case.model, shapes[case.model])
    cuda = device == "cuda"
    fields = {**BASE, **case.fields}
    varied = bool(fields.pop("varied_lengths", False))
    accum = max(1, fields.get("gradient_accumulation_steps", 1))
    per_step = fields["per_device_train_batch_size"] * accum
    # Packing fills rows of max_length: enough examples for `steps` full micro-batches of packed rows.
    examples = per_step * steps * (3 if fields.get("packing") else 1)
    data = write_rows(workdir / f"rows-{examples}-{varied}.jsonl", examples, varied=varied)
    run = workdir / f"run-{time.time_ns()}"
    run.mkdir(parents=True)
    config = {"model_name_or_path": str(model), "train_file": str(data), "output_dir": str(run / "runs"),
              "max_steps": steps, "logging_steps": 1, "lr_scheduler_type": "constant", "learning_rate": 1e-4,
              "device": device, **fields}
    path = run / "case.sft.yaml"
    path.write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in config.items()))
    cfg, config_path = load_config(path)
    # What `train --dry-run` reports for the config (its largest micro-batches) ...
    plan = plan_batches(cfg, load_splits(cfg, load_tokenizer(cfg)).train)
    meta, model_config = meta_model(cfg)
    dry = estimate_for(cfg, meta, model_config, plan.candidates, device_type(cfg))
    # ... and the estimate for the micro-batches of the measured steps (epoch 0's order is the training order).
    measured = [microbatch_shape([plan.units[i] for i in mb], cfg) for mb in plan.microbatches[accum:accum * steps]]
    estimate = estimate_for(cfg, meta, model_config, measured, device_type(cfg))
    baseline = 0
    if cuda:  # what earlier cases left alive is not this configuration's memory
        import gc

        gc.collect()
        torch.cuda.empty_cache()
        baseline = int(torch.cuda.memory_allocated())
    recipe = SFTRecipe(cfg, config_path, run / "run")
    recipe.setup()
    tracker = LiveTensorBytes("cpu")
    tracker.add_module(recipe.model)
    updates = []

    def after_update(*_: Any) -> None:
        updates.append(1)
        if len(updates) == 1:  # count from the end of the first update on
            if cuda:
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            else:
                tracker.peak = tracker.live

    hook = register_optimizer_step_post_hook(after_update)
    status = "failed"
    if not cuda:
        tracker.__enter__()
    try:
        status = recipe.train()
    finally:
        if not cuda:
            tracker.__exit__(None, None, None)
        hook.remove()
        recipe.cleanup(status)
        events = [json.loads(line) for line in (run / "run" / "events.jsonl").read_text().splitlines()]
        shutil.rmtree(run, ignore_errors=True)
    if cuda:
        # The trainer resets the CUDA peak at every train event (mem_bytes: the peak since the previous event),
        # so steps 2.. are covered by their own events' mem_bytes, and the allocator's peak covers the rest.
        later = [e.get("mem_bytes", 0) for e in events if e["type"] == "train" and e["step"] >= 2]
        measured_bytes = max([int(torch.cuda.max_memory_allocated())] + later) - baseline
    else:
        measured_bytes = tracker.peak
    return {"config": case.name, "model": case.model, "overrides": {**fields, "varied_lengths": varied},
            "estimate_bytes": estimate.total, "measured_bytes": measured_bytes,
            "error_percent": round(100.0 * (estimate.total - measured_bytes) / measured_bytes, 4),
            "peak_phase": estimate.phase, "estimated_parts": estimate.to_dict(),
            "dry_run_estimate_bytes": dry.total, "largest_microbatch_tokens": plan.largest_tokens}


def table(rows: list[dict[str, Any]]) -> list[str]:
    lines = ["| configuration | model | estimate (MiB) | measured (MiB) | error | estimated peak at |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['config']} | {r['model']} | {r['estimate_bytes'] / 2**20:.2f} | "
                     f"{r['measured_bytes'] / 2**20:.2f} | {r['error_percent']:+.3f}% | {r['peak_phase']} |")
    return lines


def write_results(rows: list[dict[str, Any]]) -> Path:
    date = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    out = RESULTS / f"estimator-cpu-{date}.json"
    out.write_text(json.dumps({
        "what": "estimated vs measured peak live tensor bytes (LiveTensorBytes) of training step 2 (after the first update), CPU",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "torch": torch.__version__, "threads": torch.get_num_threads(), "goal": "|error| <= 5% for every config",
        "max_abs_error_percent": max(abs(r["error_percent"]) for r in rows), "configs": rows}, indent=2) + "\n")
    text = README.read_text()
    if BEGIN in text and END in text:
        block = "\n".join([BEGIN, "", f"`{out.relative_to(REPO)}`:", "", *table(rows), "", END])
        README.write_text(text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sft_bench.estimate_check", description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="record the table in bench/results and bench/README.md")
    parser.add_argument("--only", default="", help="comma-separated substrings of configuration names to run")
    args = parser.parse_args(argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    cases = [c for c in CASES if not args.only or any(s in c.name for s in args.only.split(","))]
    with tempfile.TemporaryDirectory(prefix="sft-estimate-") as tmp:
        rows = []
        for case in cases:
            rows.append(measure(case, Path(tmp)))
            print(table(rows[-1:])[-1], flush=True)
    print("\n".join(table(rows)))
    if args.write:
        print(f"wrote {write_results(rows)}")
    return 0 if all(abs(r["error_percent"]) <= 5 for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
