"""Benchmark: this trainer against the Hugging Face Trainer and TRL's SFTTrainer, same machine, same run.

`python -m sft_bench` (bench/run.mjs, `npm run bench`) builds a random-weight model and synthetic instruction data (log-normal
lengths, median ~150 tokens, tail to 2,048), then runs every contender in its own process, interleaved
in rounds: same weights, same examples in the same micro-batches, same precision, optimizer settings
and number of steps. Each worker is measured the same way (`StepMeter`): a forward pre-hook on the
decoder counts non-padding tokens, a global optimizer-step hook stamps the time after every update.
Memory is taken in separate processes under `LiveTensorBytes` (CPU) or the CUDA allocator's peak, so the
tracker never slows the timed runs. Peers (HF Trainer, TRL) run from bench/.venv, which `npm run bench`
sets up; they never become dependencies of the trainer.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import torch
from torch.optim.optimizer import register_optimizer_step_post_hook

REPO = Path(__file__).resolve().parents[2]
TOKENIZER_FROM = REPO / "examples" / "tiny-llama"

# Random-weight model shapes. The CPU one is a 29M-parameter Llama with a 32k vocabulary, so the output
# head costs what it costs in real models; the GPU ones copy the public configs of the named models.
MODELS: dict[str, dict[str, Any]] = {
    "llama-29m": dict(model_type="llama", vocab_size=32000, hidden_size=512, intermediate_size=1376,
                      num_hidden_layers=4, num_attention_heads=8, num_key_value_heads=8, tie_word_embeddings=True),
    "qwen2.5-0.5b": dict(model_type="qwen2", vocab_size=151936, hidden_size=896, intermediate_size=4864,
                         num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2,
                         tie_word_embeddings=True, rope_theta=1000000.0, use_sliding_window=False),
    "llama-3.2-1b": dict(model_type="llama", vocab_size=128256, hidden_size=2048, intermediate_size=8192,
                         num_hidden_layers=16, num_attention_heads=32, num_key_value_heads=8, head_dim=64,
                         tie_word_embeddings=True, rope_theta=500000.0),
    # Only for the harness's own smoke test.
    "smoke": dict(model_type="llama", vocab_size=512, hidden_size=32, intermediate_size=64,
                  num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2, tie_word_embeddings=True),
}

CONTENDERS = ("ours", "hf_trainer_padded", "trl_default", "trl_padding_free", "trl_bfd_packing",
              "trl_padding_free_liger")
# Liger's Triton kernels need CUDA, so that contender runs only when asked for (the GPU check does).
DEFAULT_CONTENDERS = CONTENDERS[:5]
TRL_BEST_CANDIDATES = ("trl_padding_free", "trl_bfd_packing", "trl_padding_free_liger")
PEERS_SCRIPT = REPO / "bench" / "peers.py"
MAX_LENGTH = 2048


@dataclass
class Spec:
    """What every contender of one benchmark run shares."""

    model: str
    device: str
    dtype: str
    batch_size: int
    warmup_steps: int
    timed_steps: int
    memory_steps: int
    learning_rate: float
    seed: int
    workdir: str
    examples: int = 0
    mean_tokens: float = 0.0
    ours_overrides: dict[str, Any] = field(default_factory=dict)
    """Config fields changed for our contender only (ablations), e.g. {"fused_cross_entropy": False}."""
    order: list[int] = field(default_factory=list)
    """Example indices in the order our trainer visits them; peers read the data in this order, unshuffled."""

    @property
    def total_steps(self) -> int:
        return self.warmup_steps + self.timed_steps

    @property
    def model_dir(self) -> Path:
        return Path(self.workdir) / "model"

    @property
    def train_file(self) -> Path:
        return Path(self.workdir) / "train.jsonl"

    @property
    def tokenized_file(self) -> Path:
        return Path(self.workdir) / "tokenized.jsonl"


# ---------------------------------------------------------------------------------------------- inputs
WORDS = ("the model data token train loss batch layer value answer question list number write short "
         "explain why how city river small large first second order sort count time step rate people "
         "letter word sentence summary color animal north south east west").split()


def synthetic_rows(count: int, seed: int) -> list[dict[str, str]]:
    """Alpaca rows whose rendered length is log-normal (median ~150 tokens, clipped to 16..2,048)."""
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        # The embedded tokenizer is byte-level: one character is one token.
        total = int(min(MAX_LENGTH - 40, max(16, rng.lognormvariate(math.log(130), 0.9))))
        prompt_chars = max(4, int(total * rng.uniform(0.2, 0.6)))

        def text(chars: int) -> str:
            words: list[str] = []
            while sum(len(w) + 1 for w in words) < chars:
                words.append(rng.choice(WORDS))
            return " ".join(words)[:chars]

        rows.append({"instruction": text(prompt_chars), "output": text(max(4, total - prompt_chars))})
    return rows


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """`key=value` strings (values as YAML scalars) to a dict, like the trainer's `--set`."""
    from sft_studio.source_map import parse_scalar

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep:
            raise SystemExit(f"--ours-set {pair}: expected KEY=VALUE, e.g. --ours-set fused_cross_entropy=false")
        out[key.strip()] = parse_scalar(raw)
    return out


def build_inputs(spec: Spec, examples: int) -> None:
    """Model folder (random weights, the embedded byte-level tokenizer), JSONL data and its tokenized form."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    from sft_studio.data.dataset import ConversationTokenizer, load_examples
    from sft_studio.train.batching import microbatch_order

    hf_logging.disable_progress_bar()
    spec.model_dir.mkdir(parents=True, exist_ok=True)
    shape = dict(MODELS[spec.model])
    config = AutoConfig.for_model(shape.pop("model_type"), **shape, pad_token_id=0, eos_token_id=1,
                                  max_position_embeddings=4096)
    torch.manual_seed(spec.seed)
    AutoModelForCausalLM.from_config(config, dtype=torch.float32).save_pretrained(spec.model_dir)
    for name in ("tokenizer.json", "special_tokens_map.json"):
        shutil.copy(TOKENIZER_FROM / name, spec.model_dir / name)
    tokenizer_config = json.loads((TOKENIZER_FROM / "tokenizer_config.json").read_text())
    (spec.model_dir / "tokenizer_config.json").write_text(json.dumps(tokenizer_config | {"model_max_length": MAX_LENGTH}))
    spec.train_file.write_text("".join(json.dumps(r) + "\n" for r in synthetic_rows(examples, spec.seed)))
    tokenizer = AutoTokenizer.from_pretrained(spec.model_dir, local_files_only=True)
    tokenized, _ = load_examples(str(spec.train_file), "alpaca",
                                 ConversationTokenizer(tokenizer, MAX_LENGTH, completion_only=True))
    spec.order = [i for mb in microbatch_order(len(tokenized), spec.batch_size, spec.seed, 0) for i in mb]
    with spec.tokenized_file.open("w") as fh:
        for i in spec.order:
            fh.write(json.dumps({"input_ids": tokenized[i].input_ids, "labels": tokenized[i].labels}) + "\n")
    used = [len(tokenized[i].input_ids) for i in spec.order[: spec.batch_size * spec.total_steps]]
    spec.examples, spec.mean_tokens = len(tokenized), sum(used) / len(used)


# ---------------------------------------------------------------------------------------------- measuring
class StepMeter:
    """Time and non-padding tokens at every optimizer step, hooked in the same way for every contender."""

    def __init__(self, decoder: torch.nn.Module, device: torch.device):
        self.device = device
        self.tokens = 0
        self.records: list[dict[str, float]] = []
        self._hooks = [decoder.register_forward_pre_hook(self._count, with_kwargs=True),
                       register_optimizer_step_post_hook(self._stamp)]

    def _count(self, _module: Any, args: tuple, kwargs: dict) -> None:
        if not torch.is_grad_enabled():
            return
        mask = kwargs.get("attention_mask")
        ids = kwargs.get("input_ids", args[0] if args else None)
        self.tokens += int(mask.sum()) if mask is not None and mask.dim() == 2 else int(ids.numel())

    def _stamp(self, *_: Any) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.records.append({"time": time.perf_counter(), "tokens": self.tokens})

    def close(self) -> None:
        for hook in self._hooks:
            hook.remove()


class PeakMemory:
    """Peak live tensor bytes (CPU, `LiveTensorBytes`) or the CUDA allocator's peak, from `start` on."""

    def __init__(self, device: torch.device):
        self.device = device
        self.tracker = None

    def start(self, model: torch.nn.Module) -> None:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            return
        from .memtrack import LiveTensorBytes

        self.tracker = LiveTensorBytes(self.device.type)
        self.tracker.add_module(model)
        self.tracker.__enter__()

    def stop(self) -> int:
        if self.device.type == "cuda":
            return int(torch.cuda.max_memory_allocated(self.device))
        self.tracker.__exit__(None, None, None)
        return int(self.tracker.peak)


def worker_result(meter: StepMeter, losses: list[float], peak: int | None, **extra: Any) -> dict[str, Any]:
    return {"records": meter.records, "losses": losses, "peak_bytes": peak, **extra}


def measures_peak(measure: str, device: torch.device) -> bool:
    """Memory runs always; on CUDA the allocator's peak costs nothing, so timed runs record it too."""
    return measure == "memory" or device.type == "cuda"


# ---------------------------------------------------------------------------------------------- our worker
def run_ours(spec: Spec, measure: str) -> dict[str, Any]:
    """The real recipe on a real config, as `python -m sft_studio train` would run it."""
    from sft_studio.config import load_config
    from sft_studio.train.recipe import SFTRecipe

    work = Path(spec.workdir) / f"ours-{measure}-{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    fields = {"model_name_or_path": str(spec.model_dir), "train_file": str(spec.train_file),
              "output_dir": str(work / "runs"), "max_length": MAX_LENGTH, "padding_free": True,
              "per_device_train_batch_size": spec.batch_size, "learning_rate": spec.learning_rate,
              "lr_scheduler_type": "constant", "seed": spec.seed, "logging_steps": 1,
              "max_steps": spec.total_steps if measure == "time" else spec.memory_steps,
              "torch_dtype": spec.dtype, "device": spec.device} | spec.ours_overrides
    config_path = work / "bench.sft.yaml"
    config_path.write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in fields.items()))
    cfg, path = load_config(config_path)
    recipe = SFTRecipe(cfg, path, work / "run")
    recipe.setup()
    meter = StepMeter(recipe.model.get_decoder(), recipe.device)
    memory = PeakMemory(recipe.device) if measures_peak(measure, recipe.device) else None
    if memory:
        memory.start(recipe.model)
    status = "failed"
    try:
        status = recipe.train()
    finally:
        peak = memory.stop() if memory else None
        recipe.cleanup(status)
        meter.close()
    events = [json.loads(line) for line in (work / "run" / "events.jsonl").read_text().splitlines()]
    train = [e for e in events if e["type"] == "train"]
    if peak is not None and recipe.device.type == "cuda":
        # The trainer resets the CUDA peak at every train event (mem_bytes: the peak since the previous one).
        peak = max([peak] + [e.get("mem_bytes", 0) for e in train])
    shutil.rmtree(work, ignore_errors=True)
    # The trainer's own FLOP accounting after warm-up (mfu only on CUDA devices of known peak).
    timed = train[spec.warmup_steps:] if measure == "time" else []
    mfu = [e["mfu"] for e in timed if "mfu" in e]
    flops = [e["flops_per_s"] for e in timed if "flops_per_s" in e]
    return worker_result(meter, [e["loss"] for e in train], peak,
                         mfu=sum(mfu) / len(mfu) if mfu else None,
                         flops_per_s=sum(flops) / len(flops) if flops else None)


# ---------------------------------------------------------------------------------------------- orchestration
def tokens_per_s(records: list[dict[str, float]], warmup: int) -> float:
    first, last = records[warmup - 1] if warmup else None, records[-1]
    if first is None:
        raise ValueError("tokens/s needs at least one warm-up step to start the clock after")
    return (last["tokens"] - first["tokens"]) / (last["time"] - first["time"])


def spawn_worker(python: str, contender: str, spec_path: Path, measure: str, out: Path, threads: int) -> dict:
    argv = [python, "-m", "sft_bench", "worker", contender, str(spec_path), measure, str(out)] \
        if contender == "ours" else [python, str(PEERS_SCRIPT), contender, str(spec_path), measure, str(out)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO / "bench"), str(REPO / "trainer"),
                                                                  os.environ.get("PYTHONPATH")])),
               OMP_NUM_THREADS=str(threads), TOKENIZERS_PARALLELISM="false", HF_HUB_OFFLINE="1",
               TRANSFORMERS_VERBOSITY="error")
    started = time.time()
    proc = subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0 or not out.exists():
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-25:])
        raise RuntimeError(f"{contender} ({measure}) failed with exit code {proc.returncode}:\n{tail}")
    result = json.loads(out.read_text())
    result["process_s"] = round(time.time() - started, 1)
    return result


def summarise(spec: Spec, runs: dict[str, list[dict]], memory: dict[str, dict]) -> dict[str, dict]:
    out = {}
    for name, rounds in runs.items():
        rates = [tokens_per_s(r["records"], spec.warmup_steps) for r in rounds]
        losses = rounds[0]["losses"]
        out[name] = {
            # The fastest round: interference from other processes only ever slows a round down.
            "tokens_per_s": max(rates),
            "tokens_per_s_rounds": [round(r, 2) for r in rates],
            "timed_tokens": rounds[0]["records"][-1]["tokens"] - rounds[0]["records"][spec.warmup_steps - 1]["tokens"],
            # Memory runs when there were any, else the timed runs' own peak (CUDA).
            "peak_memory_bytes": memory.get(name, {}).get("peak_bytes") or rounds[0].get("peak_bytes"),
            "mfu": max((r["mfu"] for r in rounds if r.get("mfu") is not None), default=None),
            "losses": losses,
            "final_loss": losses[-1] if losses else None,
            "process_s_rounds": [r["process_s"] for r in rounds],
        }
    return out


def ratios(summary: dict[str, dict]) -> dict[str, float | None]:
    def ratio(a: float | None, b: float | None) -> float | None:
        return round(a / b, 4) if a is not None and b else None

    ours = summary.get("ours", {})
    trl_best_name = max((n for n in TRL_BEST_CANDIDATES if n in summary),
                        key=lambda n: summary[n]["tokens_per_s"], default=None)
    hf = summary.get("hf_trainer_padded", {})
    loss_diff = step_diff = None
    if ours.get("final_loss") is not None and hf.get("final_loss"):
        loss_diff = abs(ours["final_loss"] - hf["final_loss"]) / abs(hf["final_loss"])
        step_diff = max(abs(a - b) / abs(b) for a, b in zip(ours["losses"], hf["losses"]))
    return {
        "tokens_per_s_vs_hf_trainer_padded": ratio(ours.get("tokens_per_s"), hf.get("tokens_per_s")),
        "tokens_per_s_vs_trl_best": ratio(ours.get("tokens_per_s"),
                                          summary[trl_best_name]["tokens_per_s"] if trl_best_name else None),
        "trl_best": trl_best_name,
        "peak_memory_vs_trl_default": ratio(ours.get("peak_memory_bytes"),
                                            summary.get("trl_default", {}).get("peak_memory_bytes")),
        "final_loss_rel_diff_vs_hf_trainer": loss_diff,
        "max_step_loss_rel_diff_vs_hf_trainer": step_diff,
    }


GOALS = {"tokens_per_s_vs_hf_trainer_padded": (">=", 2.0), "tokens_per_s_vs_trl_best": (">=", 1.15),
         "peak_memory_vs_trl_default": ("<=", 0.6), "final_loss_rel_diff_vs_hf_trainer": ("<=", 0.01)}


def goal_table(result: dict) -> list[str]:
    goals = dict(GOALS)
    if result["device"] != "cpu":
        goals["tokens_per_s_vs_trl_best"] = (">=", 1.3)
    lines = ["| ratio | value | goal | met |", "|---|---|---|---|"]
    for key, (op, target) in goals.items():
        value = result["ratios"].get(key)
        met = "n/a" if value is None else ("yes" if (value >= target if op == ">=" else value <= target) else "no")
        lines.append(f"| {key} | {'n/a' if value is None else f'{value:.3g}'} | {op} {target} | {met} |")
    return lines


def contender_table(result: dict) -> list[str]:
    lines = ["| contender | non-padding tokens/s (rounds) | peak memory (MiB) | final loss | MFU |", "|---|---|---|---|---|"]
    for name, row in result["contenders"].items():
        peak = row["peak_memory_bytes"]
        rounds = ", ".join(f"{r:.0f}" for r in row["tokens_per_s_rounds"])
        loss = f"{row['final_loss']:.4f}" if row["final_loss"] is not None else "n/a"
        mfu = f"{row['mfu']:.1%}" if row.get("mfu") is not None else "n/a"
        memory = f"{peak / 2**20:.1f}" if peak is not None else "n/a"
        lines.append(f"| {name} | {row['tokens_per_s']:.0f} ({rounds}) | {memory} | {loss} | {mfu} |")
    return lines


def write_readme_table(readme: Path, result: dict, result_file: Path) -> None:
    """Replace the block between the markers in bench/README.md with this run's tables."""
    begin, end = "<!-- results:begin -->", "<!-- results:end -->"
    text = readme.read_text()
    if begin not in text or end not in text:
        return
    head = (f"Latest: `{result_file.relative_to(REPO)}` — {result['device_name']}, model {result['model']} "
            f"({result['parameters'] / 1e6:.1f}M parameters, {result['dtype']}), batch {result['batch_size']} examples, "
            f"{result['warmup_steps']} warm-up + {result['timed_steps']} timed steps, {result['rounds']} rounds; "
            f"torch {result['versions']['torch']}, transformers {result['versions']['transformers']}, "
            f"trl {result['versions'].get('trl')}.")
    block = "\n".join([begin, "", head, "", *contender_table(result), "", *goal_table(result), "", end])
    readme.write_text(text[: text.index(begin)] + block + text[text.index(end) + len(end):])


def versions(python: str) -> dict[str, str | None]:
    code = ("import json, importlib.metadata as m\n"
            "def v(p):\n try: return m.version(p)\n except m.PackageNotFoundError: return None\n"
            "print(json.dumps({p: v(p) for p in ('torch', 'transformers', 'trl', 'accelerate', 'liger-kernel')}))")
    return json.loads(subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout)


def device_label(device: str) -> tuple[str, str]:
    if device == "cpu":
        return "cpu", f"CPU {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
    name = torch.cuda.get_device_name(0)
    short = next((k for k in ("h100", "h200", "a100", "l4", "a10") if k in name.lower()), "cuda")
    return short, name


def run_benchmark(args: argparse.Namespace, say: Callable[[str], None] = print) -> Path:
    device = "cuda" if args.device == "cuda" else "cpu"
    workdir = Path(args.workdir).resolve() if args.workdir else Path(tempfile.mkdtemp(prefix="sft-bench-"))
    try:
        return _run_benchmark(args, device, workdir, say)
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def _run_benchmark(args: argparse.Namespace, device: str, workdir: Path, say: Callable[[str], None]) -> Path:
    shutil.rmtree(workdir, ignore_errors=True)
    spec = Spec(model=args.model, device=device, dtype=args.dtype, batch_size=args.batch_size,
                warmup_steps=args.warmup, timed_steps=args.steps, memory_steps=args.memory_steps,
                learning_rate=args.learning_rate, seed=args.seed, workdir=str(workdir),
                ours_overrides=parse_overrides(args.ours_set))
    say(f"[bench] building {args.model} and {args.examples} synthetic examples in {workdir}")
    build_inputs(spec, args.examples)
    spec_path = workdir / "spec.json"
    spec_path.write_text(json.dumps(asdict(spec)))
    contenders = [c.strip() for c in args.contenders.split(",") if c.strip()]
    unknown = sorted(set(contenders) - set(CONTENDERS))
    if unknown:
        raise SystemExit(f"unknown contender(s) {', '.join(unknown)}; choose from {', '.join(CONTENDERS)}")
    runs: dict[str, list[dict]] = {c: [] for c in contenders}
    failed: dict[str, str] = {}
    for round_index in range(args.rounds):
        # Rotate the order so no contender always runs first (or right after the heaviest one).
        shift = round_index % len(contenders)
        for name in contenders[shift:] + contenders[:shift]:
            if name in failed:
                continue
            out = workdir / f"{name}-time-{round_index}.json"
            try:
                result = spawn_worker(args.python, name, spec_path, "time", out, args.threads)
            except RuntimeError as error:
                if not getattr(args, "keep_going", False):
                    raise
                # The others' figures still stand; the failure is reported with the result.
                failed[name] = str(error)[-2000:]
                runs.pop(name, None)
                say(f"[bench] {name} failed, continuing: {str(error).splitlines()[0]}")
                continue
            runs[name].append(result)
            rate = tokens_per_s(result["records"], spec.warmup_steps)
            say(f"[bench] round {round_index + 1}/{args.rounds} {name}: {rate:,.0f} tokens/s "
                f"(final loss {result['losses'][-1]:.4f}, process {result['process_s']} s)")
    memory: dict[str, dict] = {}
    if args.memory_steps > 0:
        for name in [c for c in contenders if c not in failed]:
            memory[name] = spawn_worker(args.python, name, spec_path, "memory", workdir / f"{name}-memory.json",
                                        args.threads)
            say(f"[bench] memory {name}: peak {memory[name]['peak_bytes'] / 2**20:,.1f} MiB")
    summary = summarise(spec, runs, memory)
    short, device_name = device_label(device)
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(spec.model_dir)
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        parameters = sum(p.numel() for p in AutoModelForCausalLM.from_config(config).parameters())
    result = {
        "device": short, "device_name": device_name, "model": args.model, "parameters": parameters,
        "dtype": args.dtype, "batch_size": args.batch_size, "steps": spec.total_steps,
        "warmup_steps": spec.warmup_steps, "timed_steps": spec.timed_steps, "memory_steps": spec.memory_steps,
        "rounds": args.rounds, "threads": args.threads, "ours_config_overrides": spec.ours_overrides, "examples": spec.examples,
        "mean_tokens_per_example": round(spec.mean_tokens, 1), "max_length": MAX_LENGTH,
        "memory_metric": "CUDA allocator peak" if device == "cuda" else "peak live tensor bytes (TorchDispatchMode)",
        "versions": versions(args.python), "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "contenders": summary, "ratios": ratios(summary),
    }
    if failed:
        result["failed_contenders"] = failed
    results_dir = Path(args.results_dir).resolve()
    results_dir.mkdir(parents=True, exist_ok=True)
    result_file = results_dir / f"{short}-{datetime.now(timezone.utc).strftime('%Y-%m-%d')}.json"
    result_file.write_text(json.dumps(result, indent=2) + "\n")
    if args.readme and results_dir == (REPO / "bench" / "results").resolve():
        write_readme_table(REPO / "bench" / "README.md", result, result_file)
    say("\n".join(contender_table(result) + [""] + goal_table(result)))
    say(f"[bench] wrote {result_file}")
    return result_file


def worker_main(argv: list[str]) -> int:
    contender, spec_path, measure, out = argv
    spec = Spec(**json.loads(Path(spec_path).read_text()))
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", torch.get_num_threads())))
    if contender != "ours":
        raise SystemExit(f"worker {contender}: peers run from bench/peers.py")
    Path(out).write_text(json.dumps(run_ours(spec, measure)))
    return 0


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m sft_bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--model", choices=sorted(MODELS), default=None,
                   help="random-weight shape (default: llama-29m on cpu, qwen2.5-0.5b on cuda)")
    p.add_argument("--dtype", choices=("float32", "bfloat16"), default=None,
                   help="weights and compute precision for every contender (default: float32 on cpu, bfloat16 on cuda)")
    p.add_argument("--contenders", default=",".join(DEFAULT_CONTENDERS),
                   help=f"comma-separated subset of {', '.join(CONTENDERS)}")
    p.add_argument("--batch-size", type=int, default=8, help="examples per optimizer step (packed rows hold the same tokens)")
    p.add_argument("--warmup", type=int, default=1, help="steps before the clock starts")
    p.add_argument("--steps", type=int, default=4, help="timed steps after warm-up")
    p.add_argument("--memory-steps", type=int, default=2, help="steps of the memory-measuring runs (0 = skip)")
    p.add_argument("--rounds", type=int, default=2, help="interleaved timing rounds; the fastest round counts")
    p.add_argument("--examples", type=int, default=400)
    p.add_argument("--learning-rate", type=float, default=3e-4)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--threads", type=int, default=torch.get_num_threads(), help="intra-op threads per worker")
    p.add_argument("--python", default=sys.executable, help="interpreter for the workers (needs trl for the peers)")
    p.add_argument("--workdir", default=None, help="scratch folder for the model and data (default: a temporary one)")
    p.add_argument("--results-dir", default=str(REPO / "bench" / "results"))
    p.add_argument("--ours-set", action="append", default=[], metavar="KEY=VALUE",
                   help="change a config field of our contender only (ablation), e.g. fused_cross_entropy=false")
    p.add_argument("--no-readme", dest="readme", action="store_false", help="do not rewrite bench/README.md's table")
    args = p.parse_args(argv)
    args.model = args.model or ("llama-29m" if args.device == "cpu" else "qwen2.5-0.5b")
    args.dtype = args.dtype or ("float32" if args.device == "cpu" else "bfloat16")
    if args.warmup < 1 or args.steps < 1:
        p.error("--warmup and --steps must be at least 1 (the clock starts after the warm-up steps)")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "worker":
        return worker_main(argv[1:])
    run_benchmark(parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
