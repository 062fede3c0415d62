"""Commands: `train --dry-run --json` numbers equal a direct count; `generate` and `chat` answer like the
batched generator does."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from sft_studio.config import load_config
from sft_studio.data.dataset import IGNORE_INDEX, ConversationTokenizer, load_prompts, read_rows, row_to_messages

from .conftest import DATA, EXAMPLES, MODEL, write_config


def run_cli(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sft_studio", *argv], capture_output=True, text=True,
                          input=stdin, timeout=300)


def direct_count(cfg, tokenizer) -> dict:
    """Counts from the rows themselves, following the rules in data/dataset.py's docstring step by step."""
    import random

    rows = read_rows(cfg.train_file, cfg.column_mapping)
    if cfg.validation_split_ratio:
        held = set(random.Random(cfg.seed).sample(range(len(rows)), math.ceil(len(rows) * cfg.validation_split_ratio)))
        rows = [r for i, r in enumerate(rows) if i not in held]
    if cfg.subsample < 1:
        keep = set(random.Random(cfg.seed + 1).sample(range(len(rows)), max(1, round(cfg.subsample * len(rows)))))
        rows = [r for i, r in enumerate(rows) if i in keep]
    eos = tokenizer.eos_token_id
    tokens = truncated = trained = 0
    for row in rows:
        if cfg.dataset_format == "text":
            ids = tokenizer(row.get("text"), add_special_tokens=False)["input_ids"] + [eos]
            mask = [True] * len(ids)
        else:
            messages = row_to_messages(row, cfg.dataset_format)
            full = tokenizer.apply_chat_template(messages, tokenize=False)
            ids = tokenizer(full, add_special_tokens=False)["input_ids"]
            # Byte-level tokenizer: an answer's ids are its bytes, so the trained positions are found by search.
            mask = [not cfg.completion_only_loss] * len(ids)
            cursor = 0
            for m in messages:
                if m["role"] == "assistant":
                    answer = tokenizer(m["content"], add_special_tokens=False)["input_ids"] + [eos]
                    at = next(i for i in range(cursor, len(ids)) if ids[i:i + len(answer)] == answer)
                    mask[at:at + len(answer)] = [True] * len(answer)
                    cursor = at + len(answer)
        tokens += min(len(ids), cfg.max_length)
        truncated += len(ids) > cfg.max_length
        trained += sum(mask[:cfg.max_length])
    return {"examples": len(rows), "tokens": tokens, "truncated_examples": truncated, "trained_tokens": trained}


def check_dry_run(config, overrides, tokenizer) -> None:
    argv = ["train", str(config), "--dry-run", "--json"]
    for kv in overrides:
        argv += ["--set", kv]
    done = run_cli(*argv)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    cfg, _ = load_config(config, overrides)
    assert {k: report[k] for k in ("examples", "tokens", "truncated_examples", "trained_tokens")} \
        == direct_count(cfg, tokenizer)
    assert report["trainable_parameters"] == report["num_parameters"] == 1_821_312
    rows = report["train_rows"] if cfg.packing else report["examples"]
    assert report["steps_per_epoch"] == math.ceil(math.ceil(rows / cfg.per_device_train_batch_size)
                                                  / cfg.gradient_accumulation_steps)
    memory = report["estimated_memory"]
    # The parts alive at the peak add up to it; weights and AdamW's two moments are alive throughout.
    assert memory["weights"] == 4 * 1_821_312 and memory["optimizer"] == 2 * 4 * 1_821_312
    assert report["estimated_peak_memory_bytes"] == sum(v for k, v in memory.items() if k != "total")
    assert report["estimated_memory_peak_phase"]
    assert 0 < report["packing_efficiency"] <= 1


@pytest.mark.parametrize("config, overrides", [("demo.sft.yaml", []), ("chat.sft.yaml", ["max_length=120"])])
def test_dry_run_json_equals_a_direct_count(tokenizer, config, overrides):
    check_dry_run(EXAMPLES / config, overrides, tokenizer)


def test_dry_run_counts_after_split_subsample_and_truncation(tmp_path, tokenizer):
    config = write_config(tmp_path, validation_split_ratio=0.1, subsample=0.3, max_length=40, completion_only_loss=False)
    check_dry_run(config, [], tokenizer)
    cfg, _ = load_config(config)
    assert direct_count(cfg, tokenizer)["truncated_examples"] > 0


def test_dry_run_of_plain_text(tmp_path, tokenizer):
    data = tmp_path / "t.csv"
    data.write_text("body\n" + "".join(f"\"Line {i}, with a comma.\"\n" for i in range(30)))
    config = write_config(tmp_path, train_file=str(data), dataset_format="text", column_mapping={"text": "body"},
                          max_length=12, group_by_length=True)
    check_dry_run(config, [], tokenizer)


def test_dry_run_reports_a_bad_row_as_json(tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text('{"instruction": "a", "output": "b"}\n{"output": "b"}\n')
    done = run_cli("train", str(EXAMPLES / "demo.sft.yaml"), "--dry-run", "--json", "--set", f"train_file={data}")
    assert done.returncode == 2
    assert json.loads(done.stdout.strip().splitlines()[-1])["error"] == f"{data}:2: missing field `instruction`"


def test_estimate_command_prints_the_table_and_ends_with_json():
    done = run_cli("estimate", str(EXAMPLES / "demo.sft.yaml"), "--set", "per_device_train_batch_size=4", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    dry = json.loads(run_cli("train", str(EXAMPLES / "demo.sft.yaml"), "--set", "per_device_train_batch_size=4",
                             "--dry-run", "--json").stdout.strip().splitlines()[-1])
    assert report["estimated_peak_memory_bytes"] == dry["estimated_peak_memory_bytes"]
    assert report["device"] is None and report["warning"] is None  # CPU: no free memory to compare with
    modes = {s["mode"] for s in report["scenarios"]}
    assert modes == {"full", "frozen (first 2 layers + embeddings)", "LoRA r=16"}
    assert {s["precision"] for s in report["scenarios"]} == {"fp32", "bf16 autocast", "fp16 autocast", "bf16 weights"}
    by = {(s["mode"], s["precision"]): s for s in report["scenarios"]}
    full, lora = by[("full", "fp32")], by[("LoRA r=16", "fp32")]
    assert full["estimate"]["total"] == report["estimated_peak_memory_bytes"]  # the demo config is full fp32
    assert lora["estimate"]["optimizer"] == 2 * 4 * 4 * 2 * 16 * (192 + 192)  # 4 layers, q and v, rank 16
    assert full["with_gradient_checkpointing"]["activations"] < full["estimate"]["activations"]
    assert "gradient checkpointing (gc)" in done.stdout and "LoRA r=16" in done.stdout


@pytest.fixture(scope="module")
def greedy_answers(tokenizer):
    """What the batched generator says for the first prompts, greedy, on the base model."""
    import torch
    from transformers import AutoModelForCausalLM

    from sft_studio.train.generate import SamplingParams, generate

    model = AutoModelForCausalLM.from_pretrained(MODEL, local_files_only=True, dtype=torch.float32)
    conv = ConversationTokenizer(tokenizer, 512, completion_only=True)
    prompts = load_prompts(str(DATA / "instruct_eval.jsonl"))[:6]
    results = generate(model, conv, prompts, SamplingParams(12, 0.0, 1.0, 0, 42), torch.device("cpu"), 4)
    return prompts, [g.completion for g in results]


def test_generate_writes_answers_for_the_judge(tmp_path, greedy_answers):
    prompts, expected = greedy_answers
    prompt_file = tmp_path / "p.jsonl"
    prompt_file.write_text("".join(line + "\n" for line in (DATA / "instruct_eval.jsonl").read_text().splitlines()[:6]))
    out = tmp_path / "out" / "answers.jsonl"
    done = run_cli("generate", str(MODEL), "--prompts", str(prompt_file), "--out", str(out), "--max-new-tokens", "12",
                   "--batch-size", "4", "--device", "cpu")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == [p.id for p in prompts]
    assert [r["prompt"] for r in rows] == [p.prompt for p in prompts]
    assert [r["reference"] for r in rows] == [p.reference for p in prompts]
    assert [r["completion"] for r in rows] == expected


def test_generate_rejects_a_folder_that_is_no_checkpoint(tmp_path):
    done = run_cli("generate", str(tmp_path), "--prompts", str(DATA / "instruct_eval.jsonl"), "--out", str(tmp_path / "o"))
    assert done.returncode == 2
    assert "is not a checkpoint folder (no config.json or adapter_config.json)" in done.stderr


def test_chat_answers_with_the_chat_template(greedy_answers):
    prompts, expected = greedy_answers
    # The chat reads one line per message, so use a prompt without an input part.
    single = [p for p in prompts if "\n" not in p.prompt][0]
    done = run_cli("chat", str(MODEL), "--temperature", "0", "--max-new-tokens", "12", "--device", "cpu",
                   stdin=f"{single.prompt}\n/reset\n\n/exit\n")
    assert done.returncode == 0, done.stderr
    replies = [line[len("assistant> "):] for line in done.stdout.replace("you> ", "\n").splitlines()
               if line.startswith("assistant> ")]
    assert replies == [expected[prompts.index(single)]]


def test_trained_tokens_of_chat_rows_are_the_assistant_turns(tokenizer):
    conv = ConversationTokenizer(tokenizer, 512, completion_only=True)
    for row in read_rows(str(DATA / "chat_train.jsonl"))[:50]:
        messages = row_to_messages(row, "messages")
        example = conv.encode(messages, row.where)
        trained = tokenizer.decode([i for i, l in zip(example.input_ids, example.labels) if l != IGNORE_INDEX])
        assert trained == "".join(m["content"] + tokenizer.eos_token for m in messages if m["role"] == "assistant")
