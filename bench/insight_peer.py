"""The PyTorch side of `node bench/insight.mjs`: what the trainer's own Python does for the two things
the editor's insight does in Node, timed in this process and printed as one JSON line.

  tokens CONFIG ROUNDS
      the trainer's data path (load_tokenizer, then read, split and encode the training rows as
      load_splits does), best and median of ROUNDS encodes, and the four totals for the parity check.
  chat CHECKPOINT PROMPTS_JSON MAX_NEW_TOKENS ROUNDS
      the checkpoint loaded as `python -m sft_studio chat` loads it (inference._load), each prompt's
      greedy reply generated as the chat command generates it (same model.generate arguments), with a
      streamer that stamps every new token: first-token latency, tokens/s after the first token, the
      whole reply's time (when the chat command prints it) and the reply text for the parity check.

Run with the trainer's Python (.venv) and trainer/ on PYTHONPATH; never imported by the trainer.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402


def tokens(config: str, rounds: int) -> dict[str, Any]:
    from sft_studio.config import load_config
    from sft_studio.data.dataset import DatasetStats, encode_rows, read_rows, row_encoder, split_rows, subsample_rows
    from sft_studio.model.load import load_tokenizer

    cfg, _ = load_config(config)
    t0 = time.perf_counter()
    tokenizer = load_tokenizer(cfg)
    tokenizer_load_ms = (time.perf_counter() - t0) * 1000
    times: list[float] = []
    cpu_times: list[float] = []
    stats: DatasetStats | None = None
    for _ in range(rounds):
        c0 = time.process_time()
        t0 = time.perf_counter()
        encode = row_encoder(cfg, tokenizer)
        train_rows, _ = split_rows(read_rows(cfg.train_file, cfg.column_mapping), cfg.validation_split_ratio, cfg.seed)
        _, stats = encode_rows(subsample_rows(train_rows, cfg.subsample, cfg.seed), encode)
        times.append((time.perf_counter() - t0) * 1000)
        cpu_times.append((time.process_time() - c0) * 1000)
    assert stats is not None
    return {
        "tokenizer_load_ms": tokenizer_load_ms,
        "encode_ms_best": min(times),
        "encode_ms_median": statistics.median(times),
        "encode_ms_all": times,
        "encode_cpu_ms_all": cpu_times,
        "totals": {"examples": stats.examples, "tokens": stats.tokens, "truncated_examples": stats.truncated_examples,
                   "trained_tokens": stats.trained_tokens},
    }


class TokenClock:
    """A generate() streamer that only stamps the time of every new token (the first put is the prompt)."""

    def __init__(self) -> None:
        self.stamps: list[float] = []
        self.prompt_seen = False

    def put(self, value: Any) -> None:
        if not self.prompt_seen:
            self.prompt_seen = True
            return
        self.stamps.append(time.perf_counter())

    def end(self) -> None:
        pass


def chat(checkpoint: str, prompts_file: str, max_new_tokens: int, rounds: int) -> dict[str, Any]:
    import torch

    from sft_studio.inference import _load
    from sft_studio.train.generate import _left_pad

    args = argparse.Namespace(checkpoint=checkpoint, device="cpu", trust_remote_code=False, max_new_tokens=max_new_tokens,
                              temperature=0.0, top_p=1.0, top_k=0, seed=42)
    model, conv, _params, device = _load(args)
    model.eval()
    ready_s = time.perf_counter() - STARTED
    tok = conv.tok
    with open(prompts_file, encoding="utf-8") as fh:
        prompts: list[list[dict[str, str]]] = json.load(fh)

    def reply(messages: list[dict[str, str]]) -> dict[str, Any]:
        ids, mask = _left_pad([conv.prompt_ids(messages)], tok.pad_token_id)
        clock = TokenClock()
        t0 = time.perf_counter()
        with torch.no_grad():
            output = model.generate(input_ids=ids.to(device), attention_mask=mask.to(device), max_new_tokens=max_new_tokens,
                                    eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, use_cache=True,
                                    do_sample=False, streamer=clock)
        done = time.perf_counter()
        row = output[0, ids.shape[1]:].tolist()
        if tok.eos_token_id in row:
            row = row[:row.index(tok.eos_token_id)]
        stamps = clock.stamps
        return {
            "text": tok.decode(row, skip_special_tokens=True),
            "new_tokens": len(row),
            "first_token_ms": (stamps[0] - t0) * 1000 if stamps else (done - t0) * 1000,
            "tokens_per_s": (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else 0.0,
            "reply_ms": (done - t0) * 1000,
        }

    for messages in prompts:  # warm-up, as the Node side does
        reply(messages)
    samples = [[reply(messages) for messages in prompts] for _ in range(rounds)]
    return {"ready_s": ready_s, "torch_threads": torch.get_num_threads(), "samples": samples}


def main() -> None:
    command = sys.argv[1]
    if command == "tokens":
        result = tokens(sys.argv[2], int(sys.argv[3]))
    elif command == "chat":
        result = chat(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        sys.exit(f"unknown command {command!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
