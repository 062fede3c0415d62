"""`generate CHECKPOINT --prompts FILE --out FILE` and `chat CHECKPOINT`: use a trained model.

A checkpoint folder holds either a whole model or a LoRA adapter; an adapter is loaded on top of the
base model its adapter_config.json names. torch and transformers load only when a command runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

EXIT_OK, EXIT_BAD_INPUT = 0, 2


def add_inference_commands(sub: Any) -> None:
    gen = sub.add_parser("generate", help="answer every prompt of a file with a checkpoint (JSONL for the judge)")
    gen.add_argument("checkpoint", help="a checkpoint folder, e.g. RUN_DIR/checkpoints/step-600")
    gen.add_argument("--prompts", required=True,
                     help="JSONL/JSON/CSV/Parquet prompts: {id?, instruction, input?, output?} or {id?, messages}")
    gen.add_argument("--out", required=True, help="answers as JSONL: {id, prompt, completion[, reference]}")
    _sampling_arguments(gen, temperature=0.0)
    gen.add_argument("--batch-size", type=int, default=16, help="prompts per generate call (left-padded)")
    gen.set_defaults(func=cmd_generate)
    chat = sub.add_parser("chat", help="chat with a checkpoint in the terminal (its chat template)")
    chat.add_argument("checkpoint")
    chat.add_argument("--system", help="a system message to start every conversation with")
    _sampling_arguments(chat, temperature=0.7)
    chat.set_defaults(func=cmd_chat)


def _sampling_arguments(parser: argparse.ArgumentParser, temperature: float) -> None:
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--temperature", type=float, default=temperature,
                        help="0 = greedy; prompts with a reference are always greedy")
    parser.add_argument("--top-p", type=float, default=1.0)
    parser.add_argument("--top-k", type=int, default=0, help="0 = off")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--trust-remote-code", action="store_true",
                        help="allow model code shipped inside the checkpoint folder to run")


def _run_template_kwargs(checkpoint: Path) -> dict[str, Any]:
    """The chat_template_kwargs of the run a checkpoint belongs to (RUN_DIR/checkpoints/step-N), if any."""
    resolved = checkpoint.resolve().parent.parent / "config.resolved.json"
    try:
        return json.loads(resolved.read_text(encoding="utf-8")).get("chat_template_kwargs") or {}
    except (OSError, ValueError):
        return {}


def _load(args: argparse.Namespace) -> tuple[Any, Any, Any, Any]:
    """(model, conversation tokenizer, sampling parameters, device) for a checkpoint folder."""
    from transformers import AutoTokenizer

    from .data.dataset import ConversationTokenizer
    from .model import hub, lora
    from .model.load import load_trained_model, pick_device
    from .train.generate import SamplingParams

    folder = Path(args.checkpoint)
    if not (folder / "config.json").is_file() and not lora.is_adapter_folder(folder):
        raise FileNotFoundError(f"{folder} is not a checkpoint folder (no config.json or adapter_config.json); "
                                "pass a folder such as RUN_DIR/checkpoints/step-N")
    device = pick_device(args.device)
    extra = {"trust_remote_code": True} if args.trust_remote_code else {}
    tokenizer_folder = folder
    if not (folder / "tokenizer_config.json").is_file() and lora.is_adapter_folder(folder):
        base = json.loads((folder / "adapter_config.json").read_text())["base_model_name_or_path"]
        tokenizer_folder = Path(hub.cached_folder(base))  # a Hub id as base: its cached snapshot, no network
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_folder), local_files_only=True, **extra)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = load_trained_model(folder, device, trust_remote_code=args.trust_remote_code)
    conv = ConversationTokenizer(tokenizer, tokenizer.model_max_length, completion_only=True,
                                 template_kwargs=_run_template_kwargs(folder))
    params = SamplingParams(args.max_new_tokens, args.temperature, args.top_p, args.top_k, args.seed)
    return model, conv, params, device


def cmd_generate(args: argparse.Namespace) -> int:
    from .data.dataset import DataError, load_prompts
    from .train.generate import generate

    try:
        prompts = load_prompts(args.prompts)
        model, conv, params, device = _load(args)
    except DataError as exc:
        print(f"{exc}\nhint: {exc.hint}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return EXIT_BAD_INPUT
    results = generate(model, conv, prompts, params, device, args.batch_size)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(out.name + ".tmp")
    with open(temporary, "w", encoding="utf-8") as fh:
        for g in results:
            row = {"id": g.prompt.id, "prompt": g.prompt.prompt, "completion": g.completion}
            if g.prompt.reference is not None:
                row["reference"] = g.prompt.reference
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(temporary, out)
    print(f"{len(results)} answers written to {out}")
    return EXIT_OK


def cmd_chat(args: argparse.Namespace, stdin: TextIO | None = None) -> int:
    from .data.dataset import Prompt
    from .train.generate import generate

    try:
        model, conv, params, device = _load(args)
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return EXIT_BAD_INPUT
    stdin = stdin or sys.stdin
    start = [{"role": "system", "content": args.system}] if args.system else []
    messages = list(start)
    print("Type a message and press Enter; /reset starts over, /exit (or Ctrl-D) quits.", flush=True)
    while True:
        print("you> ", end="", flush=True)
        line = stdin.readline()
        if not line or line.strip() == "/exit":
            print()
            return EXIT_OK
        text = line.rstrip("\n")
        if text.strip() == "/reset":
            messages = list(start)
            continue
        if not text.strip():
            continue
        messages.append({"role": "user", "content": text})
        reply = generate(model, conv, [Prompt("chat", text, list(messages))], params, device)[0].completion
        messages.append({"role": "assistant", "content": reply})
        print(f"assistant> {reply}", flush=True)
