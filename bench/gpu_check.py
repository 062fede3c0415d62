"""The GPU path, checked in one command on a CUDA machine: `scripts/gpu-check.sh` (npm run gpu-check).

Sections, cheapest and most important first, each timed and recorded on its own (pass, fail, skip with
the reason), so a missing package or a failing path never hides the others:

1. numerics: the real recipe on a small Qwen2-shaped random model, same weights and batches, compared
   step by step: bf16 autocast and bf16 weights against fp32 (TF32 off); padding-free rows on the
   per-example attention (forced onto SDPA's flash kernel) against padded batches, in bf16 and fp32;
   torch.compile against eager; QLoRA (bitsandbytes 4-bit base + LoRA) trains and its loss falls;
   NCCL: a one-rank process group (the trainer's own gradient all-reduce) and two ranks on one GPU
   where NCCL allows it.
2. estimator: `train --dry-run`'s memory estimate against `torch.cuda.max_memory_allocated` over the
   same steps (estimate_check.measure on CUDA), small shapes and the Qwen2.5-0.5B shape.
3. bench: `sft_bench.runner` on the Qwen2.5-0.5B shape in bf16: ours against HF Trainer (padded) and
   TRL (default, padding-free, bfd packing, padding-free with Liger when it travelled): tokens/s ratios,
   peak memory, MFU.
4. mfu: our recipe alone on the Llama-3.2-1B shape with a larger batch (MFU against the device's bf16 peak).

Results: bench/results/cuda-<date>.json (rewritten after every section, so a run cut short still
leaves what it measured) and one summary line. `--device cpu` is the rehearsal: the same code on CPU
with tiny shapes, where CUDA-only paths are skipped and say so.
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata as metadata
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from contextlib import contextmanager, nullcontext
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "bench"), str(REPO / "trainer")]

from sft_bench import estimate_check, runner  # noqa: E402

# Qwen2.5-0.5B's widths (vocabulary, heads, GQA) with 4 layers: big enough for bf16 rounding and the
# flash kernel to matter, small enough that each comparison takes seconds.
QWEN_SMALL = {**runner.MODELS["qwen2.5-0.5b"], "num_hidden_layers": 4}
CPU_SMALL = {**runner.MODELS["smoke"], "num_hidden_layers": 2, "hidden_size": 64, "intermediate_size": 128,
             "num_attention_heads": 4, "num_key_value_heads": 2}
PACKAGES = ("torch", "transformers", "tokenizers", "safetensors", "huggingface_hub", "accelerate", "peft", "trl",
            "datasets", "jsonschema", "bitsandbytes", "liger-kernel", "triton", "pyarrow")

# Tolerances, relative to the reference loss of the same step.
TOL_BF16 = 2e-2  # bf16 keeps 8 bits of mantissa: ~0.4% per rounding, accumulated over layers
TOL_FP32 = 1e-4  # same maths, different kernels (flash/efficient vs masked), fp32 accumulation
TOL_COMPILE = 1e-3  # Inductor fuses and reorders reductions


def version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


class Report:
    """Sections with status and details; written to disk after each one."""

    def __init__(self, path: Path, device: str):
        self.path = path
        self.started = time.time()
        self.data: dict[str, Any] = {"what": "GPU check (bench/gpu_check.py)", "device": device,
                                     "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                     "versions": {p: version(p) for p in PACKAGES}, "sections": {}}
        if device == "cuda":
            props = torch.cuda.get_device_properties(0)
            self.data |= {"device_name": props.name, "device_memory_bytes": props.total_memory,
                          "device_count": torch.cuda.device_count(), "cuda": torch.version.cuda}

    def save(self) -> None:
        self.data["elapsed_s"] = round(time.time() - self.started, 1)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.data, indent=2, default=str) + "\n")
        out = os.environ.get("OUT")
        if out:  # the device tool brings back what is under $OUT
            shutil.copy(self.path, Path(out) / self.path.name)

    @contextmanager
    def section(self, name: str) -> Iterator[dict[str, Any]]:
        entry: dict[str, Any] = {"status": "pass"}
        self.data["sections"][name] = entry
        started = time.time()
        print(f"[gpu-check] {name} ...", flush=True)
        try:
            yield entry
        except Skip as skip:
            entry["status"], entry["reason"] = "skip", str(skip)
        except Exception as error:  # one broken path must not hide the others
            entry["status"], entry["error"] = "fail", f"{type(error).__name__}: {error}"
            entry["traceback"] = traceback.format_exc()[-3000:]
        finally:
            entry["seconds"] = round(time.time() - started, 1)
            if entry["status"] == "pass" and entry.get("failed"):
                entry["status"] = "fail"
            print(f"[gpu-check] {name}: {entry['status']} ({entry['seconds']} s) "
                  f"{entry.get('reason') or entry.get('error') or entry.get('summary', '')}", flush=True)
            if entry["status"] == "fail" and "traceback" in entry:
                print(entry["traceback"], flush=True)
            self.save()


class Skip(Exception):
    """A path this machine cannot run (no CUDA, a package that did not travel); the reason is recorded."""


# ---------------------------------------------------------------------------------------------- recipe runs
class Workspace:
    """A random-weight model and synthetic alpaca rows, shared by every run of one section."""

    def __init__(self, root: Path, shape: dict[str, Any], rows: int = 64, seed: int = 7, short: bool = True):
        self.root = root
        self.model = estimate_check.build_model(root / "model", shape, seed=seed)
        for name in ("tokenizer_config.json",):  # rows up to 2,048 tokens, as the benchmark's
            config = json.loads((self.model / name).read_text())
            (self.model / name).write_text(json.dumps(config | {"model_max_length": runner.MAX_LENGTH}))
        self.data = root / "train.jsonl"
        # Shorter rows than the benchmark's (median ~60 tokens): each step takes milliseconds.
        lines = []
        for row in runner.synthetic_rows(rows, seed):
            if short:
                row = {"instruction": row["instruction"][:120], "output": row["output"][:160]}
            lines.append(json.dumps(row))
        self.data.write_text("\n".join(lines) + "\n")


def run_recipe(space: Workspace, device: str, fields: dict[str, Any], steps: int = 3,
               around: Callable[[], Any] = nullcontext) -> dict[str, Any]:
    """Train through the real recipe (as `python -m sft_studio train` does); the train events' losses."""
    from sft_studio.config import load_config
    from sft_studio.train.recipe import SFTRecipe

    work = space.root / f"run-{time.time_ns()}"
    work.mkdir(parents=True)
    config = {"model_name_or_path": str(space.model), "train_file": str(space.data), "output_dir": str(work / "runs"),
              "max_length": 512, "per_device_train_batch_size": 8, "learning_rate": 1e-4, "warmup_steps": 0,
              "lr_scheduler_type": "constant", "seed": 7, "logging_steps": 1, "max_steps": steps,
              "device": device} | fields
    path = work / "check.sft.yaml"
    path.write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in config.items()))
    cfg, config_path = load_config(path)
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    recipe = SFTRecipe(cfg, config_path, work / "run")
    status = "failed"
    try:
        recipe.setup()
        with around():
            status = recipe.train()
    finally:
        recipe.cleanup(status)
    events = [json.loads(line) for line in (work / "run" / "events.jsonl").read_text().splitlines()]
    errors = [e for e in events if e["type"] == "error"]
    if status != "completed" or errors:
        raise RuntimeError(f"run {fields} ended {status}: {errors[-1]['message'] if errors else 'no error event'}")
    train = [e for e in events if e["type"] == "train"]
    out = {"losses": [e["loss"] for e in train], "tokens_per_s": [round(e["tokens_per_s"], 1) for e in train]}
    if device == "cuda":
        # The trainer resets the allocator's peak at every train event (its mem_bytes is the peak since the
        # previous one), so the run's peak is the largest of those and what came after the last.
        out["peak_bytes"] = max([int(torch.cuda.max_memory_allocated())] + [e.get("mem_bytes", 0) for e in train])
    del recipe
    shutil.rmtree(work, ignore_errors=True)
    return out


def rel_diffs(a: list[float], b: list[float]) -> list[float]:
    if len(a) != len(b) or not a:
        raise RuntimeError(f"runs logged different numbers of steps: {len(a)} vs {len(b)}")
    return [abs(x - y) / abs(y) for x, y in zip(a, b)]


def compare(entry: dict[str, Any], name: str, candidate: list[float], reference: list[float], tol: float) -> None:
    diffs = rel_diffs(candidate, reference)
    ok = all(math.isfinite(x) for x in candidate) and max(diffs) <= tol
    entry.setdefault("comparisons", {})[name] = {"max_rel_diff": float(f"{max(diffs):.3g}"), "tolerance": tol,
                                                 "ok": ok, "candidate": candidate, "reference": reference}
    if not ok:
        entry["failed"] = True


# ---------------------------------------------------------------------------------------------- sections
def check_precision(report: Report, space: Workspace, device: str) -> None:
    with report.section("bf16_vs_fp32") as entry:
        fp32 = run_recipe(space, device, {"torch_dtype": "float32", "tf32": False, "fused_cross_entropy": False})
        autocast = run_recipe(space, device, {"torch_dtype": "float32", "bf16": True, "fused_cross_entropy": False})
        weights = run_recipe(space, device, {"torch_dtype": "bfloat16", "fused_cross_entropy": False})
        # With the same first batch and weights, step 1's loss isolates the precision; later steps add
        # the optimizer's response to slightly different gradients, hence the same bf16 tolerance.
        compare(entry, "bf16 autocast vs fp32", autocast["losses"], fp32["losses"], TOL_BF16)
        compare(entry, "bf16 weights vs fp32", weights["losses"], fp32["losses"], TOL_BF16)
        entry["summary"] = ", ".join(f"{k}: {v['max_rel_diff']}" for k, v in entry["comparisons"].items())


def check_varlen(report: Report, space: Workspace, device: str) -> None:
    with report.section("varlen_vs_padded") as entry:
        flash: Callable[[], Any] = nullcontext
        if device == "cuda":
            from torch.nn.attention import SDPBackend, sdpa_kernel

            # Only the flash kernel is allowed in the padding-free bf16 run: if the per-example calls
            # could not take it, SDPA raises instead of quietly falling back.
            flash = lambda: sdpa_kernel([SDPBackend.FLASH_ATTENTION])  # noqa: E731
            entry["forced_backend"] = "FLASH_ATTENTION"
        for dtype, tol, ctx in (("bfloat16", TOL_BF16, flash), ("float32", TOL_FP32, nullcontext)):
            common = {"torch_dtype": dtype, "tf32": False}
            padded = run_recipe(space, device, common | {"padding_free": False})
            free = run_recipe(space, device, common | {"padding_free": True, "varlen_attention": True}, around=ctx)
            compare(entry, f"padding-free per-example attention vs padded ({dtype})", free["losses"],
                    padded["losses"], tol)
            if device == "cuda":
                entry.setdefault("peak_bytes", {})[dtype] = {"padded": padded["peak_bytes"], "padding_free": free["peak_bytes"]}
        entry["summary"] = ", ".join(f"{k}: {v['max_rel_diff']}" for k, v in entry["comparisons"].items())


def check_compile(report: Report, space: Workspace, device: str) -> None:
    with report.section("torch_compile_vs_eager") as entry:
        common = {"torch_dtype": "float32", "tf32": False, "fused_cross_entropy": False, "padding_free": False}
        eager = run_recipe(space, device, common)
        started = time.time()
        compiled = run_recipe(space, device, common | {"torch_compile": True})
        entry["compiled_run_s"] = round(time.time() - started, 1)
        compare(entry, "torch.compile vs eager (fp32)", compiled["losses"], eager["losses"], TOL_COMPILE)
        entry["summary"] = f"max rel diff {entry['comparisons']['torch.compile vs eager (fp32)']['max_rel_diff']}"


def check_qlora(report: Report, space: Workspace, device: str) -> None:
    with report.section("qlora") as entry:
        if device != "cuda":
            raise Skip("bitsandbytes 4-bit needs CUDA")
        if version("bitsandbytes") is None:
            raise Skip("bitsandbytes did not travel (scripts/gpu-wheelhouse.sh builds it into .whl/)")
        steps = 12
        run = run_recipe(space, device, {"use_lora": True, "load_in_4bit": True, "bf16": True, "lora_r": 16,
                                         "learning_rate": 2e-3}, steps=steps)
        losses = run["losses"]
        first, last = losses[0], sum(losses[-3:]) / 3
        entry |= {"losses": losses, "first_loss": first, "last3_mean": last, "peak_bytes": run["peak_bytes"]}
        # A random base on word-salad text: the adapters learn the 50-word vocabulary within a few steps.
        entry["summary"] = f"loss {first:.3f} -> {last:.3f}"
        # (Plain LoRA on CPU, same settings: 12.16 -> 9.06, a ratio of 0.75.)
        if not all(math.isfinite(x) for x in losses) or not last < 0.85 * first:
            entry["failed"] = True


NCCL_SCRIPT = r"""
import os, sys, torch, torch.distributed as dist
sys.path.insert(0, sys.argv[1])
from sft_studio.train.distributed import _all_reduce_flat
rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
torch.cuda.set_device(0)
dist.init_process_group("nccl")
grads = [torch.full((1000,), float(rank + 1), device="cuda"), torch.arange(7, dtype=torch.float32, device="cuda")]
_all_reduce_flat(grads)  # the trainer's own gradient averaging: one flat all-reduce, divided by the world
expect = sum(r + 1 for r in range(world)) / world
assert torch.allclose(grads[0], torch.full_like(grads[0], expect)), grads[0][:4]
assert torch.allclose(grads[1], torch.arange(7, dtype=torch.float32, device="cuda")), grads[1]
dist.barrier()
dist.destroy_process_group()
print(f"rank {rank}/{world}: all-reduce ok")
"""


def check_nccl(report: Report, device: str, workdir: Path) -> None:
    with report.section("nccl") as entry:
        if device != "cuda":
            raise Skip("NCCL needs CUDA (the CPU suites check gloo ranks: trainer/tests/test_distributed*.py)")
        if not torch.distributed.is_nccl_available():
            raise Skip("this torch build has no NCCL")
        entry["nccl_version"] = ".".join(map(str, torch.cuda.nccl.version()))
        script = workdir / "nccl_check.py"
        script.write_text(NCCL_SCRIPT)
        for ranks in (1, 2):
            argv = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={ranks}",
                    str(script), str(REPO / "trainer")]
            try:
                proc = subprocess.run(argv, capture_output=True, text=True, timeout=60 if ranks == 1 else 45)
            except subprocess.TimeoutExpired as error:
                entry[f"ranks_{ranks}"] = {"exit": None, "tail": f"timed out after {error.timeout} s"}
                continue
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-6:])
            entry[f"ranks_{ranks}"] = {"exit": proc.returncode, "tail": tail}
        if entry["ranks_1"]["exit"] != 0:
            entry["failed"] = True
        gpus = torch.cuda.device_count()
        two = entry["ranks_2"]["exit"] == 0
        entry["summary"] = (f"1 rank ok; 2 ranks on {gpus} GPU(s): "
                            f"{'ok' if two else 'refused by NCCL (two ranks need two GPUs)'}")
        if gpus >= 2 and not two:
            entry["failed"] = True


ESTIMATOR_CASES = ("full fp32", "full fp32, fused cross-entropy", "full fp32, gradient checkpointing",
                   "LoRA r=16 (q, v)", "bf16 autocast", "padding-free, per-example attention",
                   "bf16 weights (torch_dtype)")


def check_estimator(report: Report, device: str, workdir: Path, big: bool) -> None:
    with report.section("estimator") as entry:
        cases = [c for c in estimate_check.CASES if c.name in ESTIMATOR_CASES]
        models = {}
        if big:
            # The real widths: weights, gradients and AdamW state of 494M parameters dominate.
            models["qwen2.5-0.5b"] = runner.MODELS["qwen2.5-0.5b"]
            cases += [estimate_check.Case("Qwen2.5-0.5B shape, bf16 weights, padding-free",
                                          {"torch_dtype": "bfloat16", "padding_free": True}, model="qwen2.5-0.5b"),
                      estimate_check.Case("Qwen2.5-0.5B shape, fp32 + bf16 autocast",
                                          {"bf16": True}, model="qwen2.5-0.5b"),
                      estimate_check.Case("Qwen2.5-0.5B shape, LoRA, bf16 weights",
                                          {"use_lora": True, "torch_dtype": "bfloat16"}, model="qwen2.5-0.5b")]
        rows = []
        for case in cases:
            try:
                row = estimate_check.measure(case, workdir / "estimator", device=device, models=models)
            except Exception as error:  # one configuration failing still leaves the others' figures
                row = {"config": case.name, "model": case.model, "error": f"{type(error).__name__}: {error}"}
            rows.append(row)
            print(f"[gpu-check]   {row['config']}: " + (f"estimate {row['estimate_bytes'] / 2**20:.1f} MiB, measured "
                  f"{row['measured_bytes'] / 2**20:.1f} MiB, {row['error_percent']:+.2f}%" if "error" not in row
                  else row["error"]), flush=True)
        entry["rows"] = rows
        measured = [r for r in rows if "error" not in r]
        if len(measured) < 5:
            entry["failed"] = True
        worst = max((abs(r["error_percent"]) for r in measured), default=float("nan"))
        entry["max_abs_error_percent"] = worst
        entry["within_5_percent"] = sum(abs(r["error_percent"]) <= 5 for r in measured)
        entry["summary"] = f"{entry['within_5_percent']}/{len(rows)} within 5%, worst {worst:.1f}%"


def bench_args(device: str, **overrides: Any) -> argparse.Namespace:
    argv = ["--device", device, "--no-readme"]
    args = runner.parse_args(argv)
    args.keep_going = True  # a peer that breaks on this machine is reported, the others still run
    for key, value in overrides.items():
        setattr(args, key, value)
    return args


def check_bench(report: Report, device: str, workdir: Path) -> None:
    with report.section("bench") as entry:
        try:
            import trl  # noqa: F401
            contenders = list(runner.DEFAULT_CONTENDERS)
            if device == "cuda" and version("liger-kernel"):
                contenders.append("trl_padding_free_liger")
        except Exception as error:  # the peers did not travel: ours alone still gives tokens/s and MFU
            contenders = ["ours"]
            entry["peers_skipped"] = f"trl not importable: {type(error).__name__}: {error}"
        if device == "cuda":
            # Batch 16: at 32, HF Trainer's padded logits over a 151,936-token vocabulary needed 115 GiB (H200: OOM).
            args = bench_args(device, contenders=",".join(contenders), batch_size=16, warmup=3, steps=8, rounds=1,
                              memory_steps=0, examples=480, results_dir=str(workdir / "bench-results"),
                              workdir=str(workdir / "bench"))
        else:
            args = bench_args(device, model="smoke", contenders=",".join(contenders), batch_size=4, warmup=1,
                              steps=2, rounds=1, memory_steps=0, examples=40, results_dir=str(workdir / "bench-results"),
                              workdir=str(workdir / "bench"))
        entry["settings"] = {k: getattr(args, k) for k in ("model", "dtype", "batch_size", "warmup", "steps", "rounds")}
        result = json.loads(runner.run_benchmark(args, say=lambda line: print(f"[gpu-check]   {line}", flush=True))
                            .read_text())
        entry["result"] = result
        entry["goals"] = runner.goal_table(result)
        if result.get("failed_contenders"):
            entry["failed_contenders"] = sorted(result["failed_contenders"])
        r = result["ratios"]
        ours = result["contenders"]["ours"]
        entry["summary"] = (f"ours {ours['tokens_per_s']:,.0f} tok/s, x{r['tokens_per_s_vs_hf_trainer_padded']} HF padded, "
                            f"x{r['tokens_per_s_vs_trl_best']} TRL best ({r['trl_best']}), "
                            f"MFU {ours['mfu']:.1%}" if ours.get("mfu") is not None and r.get("trl_best") else
                            f"ours {ours['tokens_per_s']:,.0f} tok/s; ratios {r}")


def check_mfu(report: Report, device: str, workdir: Path) -> None:
    with report.section("mfu_1b") as entry:
        if device != "cuda":
            raise Skip("MFU is measured against a CUDA device's bf16 peak")
        args = bench_args(device, model="llama-3.2-1b", contenders="ours", batch_size=64, warmup=3, steps=6,
                          rounds=1, memory_steps=0, examples=600, results_dir=str(workdir / "mfu-results"),
                          workdir=str(workdir / "mfu"))
        result = json.loads(runner.run_benchmark(args, say=lambda line: print(f"[gpu-check]   {line}", flush=True))
                            .read_text())
        ours = result["contenders"]["ours"]
        entry |= {"model": "llama-3.2-1b", "parameters": result["parameters"], "batch_size": 64,
                  "tokens_per_s": ours["tokens_per_s"], "mfu": ours["mfu"], "peak_memory_bytes": ours["peak_memory_bytes"],
                  "mean_tokens_per_example": result["mean_tokens_per_example"]}
        entry["summary"] = (f"{ours['tokens_per_s']:,.0f} tok/s, MFU {ours['mfu']:.1%}, "
                            f"peak {ours['peak_memory_bytes'] / 2**30:.1f} GiB" if ours.get("mfu") is not None else
                            f"{ours['tokens_per_s']:,.0f} tok/s, no MFU (device peak unknown)")


def check_profile(report: Report, device: str, workdir: Path) -> None:
    """Where our step's time goes at the benchmark's size: the default path under cProfile, then one
    fast path switched off at a time (tokens/s from the train events after two warm-up steps)."""
    import cProfile
    import io
    import pstats

    with report.section("profile") as entry:
        shape = runner.MODELS["qwen2.5-0.5b"] if device == "cuda" else CPU_SMALL
        space = Workspace(workdir / "profile", shape, rows=400, short=False)
        base = {"torch_dtype": "bfloat16" if device == "cuda" else "float32", "padding_free": True,
                "per_device_train_batch_size": 32 if device == "cuda" else 4, "max_length": runner.MAX_LENGTH}
        if device == "cuda":
            started = time.perf_counter()
            for _ in range(5):
                torch.cuda.utilization()
            entry["nvml_utilization_call_ms"] = round((time.perf_counter() - started) / 5 * 1000, 2)
        variants = {"default": {}, "no per-example attention": {"varlen_attention": False},
                    "no fused cross-entropy": {"fused_cross_entropy": False},
                    "neither": {"varlen_attention": False, "fused_cross_entropy": False}}
        rates = {}
        for name, fields in variants.items():
            profiler = cProfile.Profile() if name == "default" else None
            if profiler:
                profiler.enable()
            run = run_recipe(space, device, base | fields, steps=6)
            if profiler:
                profiler.disable()
                text = io.StringIO()
                pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(25)
                entry["cprofile_tottime_top25"] = text.getvalue()[-6000:]
            rates[name] = {"tokens_per_s_after_warmup": run["tokens_per_s"][2:], "peak_bytes": run.get("peak_bytes")}
            print(f"[gpu-check]   {name}: tokens/s per step {run['tokens_per_s']}", flush=True)
        entry["variants"] = rates
        entry["summary"] = ", ".join(f"{k} {sum(v['tokens_per_s_after_warmup']) / 4:,.0f} tok/s" for k, v in rates.items())


SECTIONS = ("precision", "varlen", "compile", "qlora", "nccl", "estimator", "bench", "mfu", "profile")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench/gpu_check.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--device", choices=("cuda", "cpu"), default="cuda" if torch.cuda.is_available() else "cpu",
                   help="cpu is the rehearsal: tiny shapes, CUDA-only paths skipped")
    p.add_argument("--only", default=",".join(SECTIONS[:-1]),
                   help=f"comma-separated subset of {', '.join(SECTIONS)} (profile runs only when named)")
    p.add_argument("--results-dir", default=str(REPO / "bench" / "results"))
    p.add_argument("--budget", type=float, default=float(os.environ.get("GPU_CHECK_SECONDS", 480)),
                   help="seconds for the whole check; a section that would not fit is skipped and says so")
    args = p.parse_args(argv)
    device = args.device
    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("gpu-check: torch sees no CUDA device; `--device cpu` rehearses the check on CPU")
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    date = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    report = Report(Path(args.results_dir) / f"{'cuda' if device == 'cuda' else 'cpu-rehearsal'}-gpu-check-{date}.json"
                    if device != "cuda" else Path(args.results_dir) / f"cuda-{date}.json", device)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    def fits(name: str, seconds: float) -> bool:
        """Whether a section expected to take `seconds` fits in what is left of the budget."""
        left = args.budget - (time.time() - report.started)
        if left >= seconds:
            return True
        with report.section(name):
            raise Skip(f"{left:.0f} s left of the {args.budget:.0f} s budget, the section needs about {seconds:.0f} s")
        return False

    with tempfile.TemporaryDirectory(prefix="sft-gpu-check-") as tmp:
        root = Path(tmp)
        space = None
        if only & {"precision", "varlen", "compile", "qlora"}:
            space = Workspace(root / "small", QWEN_SMALL if device == "cuda" else CPU_SMALL)
        if "precision" in only:
            check_precision(report, space, device)
        if "varlen" in only:
            check_varlen(report, space, device)
        if "qlora" in only:
            check_qlora(report, space, device)
        if "nccl" in only:
            check_nccl(report, device, root)
        if "bench" in only:
            check_bench(report, device, root)
        if "estimator" in only:
            check_estimator(report, device, root, big=device == "cuda")
        if "compile" in only and fits("torch_compile_vs_eager", 60):
            check_compile(report, space, device)
        if "mfu" in only and fits("mfu_1b", 75):
            check_mfu(report, device, root)
        if "profile" in only:
            check_profile(report, device, root)
    sections = report.data["sections"]
    line = "; ".join(f"{name} {s['status']}" + (f" ({s['summary']})" if s.get("summary") else "")
                     for name, s in sections.items())
    report.data["summary"] = line
    report.save()
    print(f"[gpu-check] {line}")
    print(f"[gpu-check] wrote {report.path} in {report.data['elapsed_s']} s")
    return 1 if any(s["status"] == "fail" for s in sections.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
