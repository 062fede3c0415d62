"""Benchmark workers for the peers: the Hugging Face Trainer and TRL's SFTTrainer.

Run by `python -m sft_bench` (bench/sft_bench/runner.py) from bench/.venv (which has transformers' Trainer,
trl, accelerate and datasets); never imported by the trainer. Every peer reads the same tokenized examples in
the order our trainer visits them, with a sequential sampler, so step k of every contender sees the same
examples (TRL's packing excepted: it regroups them into rows of max_length tokens).

usage: peers.py CONTENDER SPEC_JSON time|memory OUT_JSON
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

from sft_bench.runner import MAX_LENGTH, PeakMemory, Spec, StepMeter, measures_peak, worker_result

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def load(spec: Spec) -> tuple[Any, Any, Any]:
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(spec.model_dir, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(spec.model_dir, local_files_only=True, dtype=DTYPES[spec.dtype],
                                                 attn_implementation="sdpa").to(spec.device)
    rows = [json.loads(line) for line in spec.tokenized_file.read_text().splitlines()]
    return model, tokenizer, Dataset.from_list(rows)


def common_args(spec: Spec, measure: str, out_dir: str) -> dict[str, Any]:
    """Arguments every peer gets: the same steps, optimizer, schedule, precision and data order as ours."""
    return dict(output_dir=out_dir, max_steps=spec.total_steps if measure == "time" else spec.memory_steps,
                per_device_train_batch_size=spec.batch_size, learning_rate=spec.learning_rate,
                lr_scheduler_type="constant", weight_decay=0.0, max_grad_norm=1.0, seed=spec.seed,
                logging_steps=1, save_strategy="no", report_to="none", disable_tqdm=True,
                train_sampling_strategy="sequential", dataloader_num_workers=0,
                use_cpu=spec.device == "cpu", bf16=False, fp16=False, gradient_checkpointing=False)


class LossLog:
    """The loss the trainer logs at every step (logging_steps=1)."""

    def __init__(self) -> None:
        from transformers import TrainerCallback

        losses: list[float] = []

        class Callback(TrainerCallback):
            def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kw: Any) -> None:
                if logs and "loss" in logs:
                    losses.append(float(logs["loss"]))

        self.losses = losses
        self.callback = Callback()


def build_trainer(contender: str, spec: Spec, measure: str, out_dir: str, callbacks: list) -> Any:
    model, tokenizer, dataset = load(spec)
    if contender == "hf_trainer_padded":
        from transformers import DataCollatorForSeq2Seq, Trainer, TrainingArguments

        # The padding collator for pre-tokenized causal-LM data: pads each batch to its longest row, labels with -100.
        collator = DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100)
        return Trainer(model=model, args=TrainingArguments(**common_args(spec, measure, out_dir)),
                       train_dataset=dataset, data_collator=collator, processing_class=tokenizer, callbacks=callbacks)
    from trl import SFTConfig, SFTTrainer

    # TRL's defaults turn on bf16 and gradient checkpointing, which are off for every contender here
    # (very slow on CPU); max_length covers the longest example so nothing is truncated differently.
    settings: dict[str, Any] = {"max_length": MAX_LENGTH}
    if contender in ("trl_padding_free", "trl_padding_free_liger"):
        # TRL refuses padding_free with max_length and no packing; the data is already within MAX_LENGTH.
        settings = {"padding_free": True, "max_length": None}
        if contender == "trl_padding_free_liger":
            # Liger's fused linear cross-entropy and Triton RMSNorm/RoPE/SwiGLU kernels (CUDA only).
            settings["use_liger_kernel"] = True
    elif contender == "trl_bfd_packing":
        # One packed row of MAX_LENGTH tokens per micro-batch, about the tokens of the others' batch of examples.
        rows = max(1, round(spec.batch_size * spec.mean_tokens / MAX_LENGTH))
        settings = {"packing": True, "packing_strategy": "bfd", "max_length": MAX_LENGTH}
        args = common_args(spec, measure, out_dir) | {"per_device_train_batch_size": rows}
        return SFTTrainer(model=model, args=SFTConfig(**args, **settings), train_dataset=dataset,
                          processing_class=tokenizer, callbacks=callbacks)
    elif contender != "trl_default":
        raise SystemExit(f"unknown peer {contender}")
    return SFTTrainer(model=model, args=SFTConfig(**common_args(spec, measure, out_dir), **settings),
                      train_dataset=dataset, processing_class=tokenizer, callbacks=callbacks)


def main(argv: list[str]) -> int:
    contender, spec_path, measure, out = argv
    spec = Spec(**json.loads(Path(spec_path).read_text()))
    log = LossLog()
    with tempfile.TemporaryDirectory(prefix=f"bench-{contender}-") as out_dir:
        trainer = build_trainer(contender, spec, measure, out_dir, [log.callback])
        device = torch.device(spec.device)
        meter = StepMeter(trainer.model.get_decoder(), device)
        memory = PeakMemory(device) if measures_peak(measure, device) else None
        if memory:
            memory.start(trainer.model)
        try:
            trainer.train()
        finally:
            peak = memory.stop() if memory else None
            meter.close()
    Path(out).write_text(json.dumps(worker_result(meter, log.losses, peak)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
