"""The memory estimator: its prediction against the measured peak of real training steps through the
recipe (live tensor bytes, as the benchmark measures them), and its response to the knobs a user turns.
The table this prints is the one in bench/README.md ("Memory estimator")."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sft_bench.estimate_check import CASES, measure, table

from sft_studio.estimate.inputs import Layer, Linear, MicroBatch, Parameters, Shape, Training
from sft_studio.estimate.peak import estimate_memory

# Full fp32 with and without the fused loss, gradient checkpointing, frozen layers, LoRA, bf16 autocast,
# a padding-free row, and padded rows of varied length (attention masks).
MEASURED = ("full fp32", "full fp32, fused cross-entropy", "full fp32, gradient checkpointing",
            "first 2 layers + embeddings frozen", "LoRA r=16 (q, v)", "bf16 autocast",
            "padding-free, per-example attention", "padded rows of varied length, plain cross-entropy")


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    work = tmp_path_factory.mktemp("estimate")
    out = [measure(case, work) for case in CASES if case.name in MEASURED]
    print("\n" + "\n".join(table(out)))
    return out


def test_estimate_is_within_five_percent_of_the_measured_peak(rows):
    assert [r["config"] for r in rows] == list(MEASURED)
    for r in rows:
        error = (r["estimate_bytes"] - r["measured_bytes"]) / r["measured_bytes"]
        assert abs(error) <= 0.05, f"{r['config']}: estimate {r['estimate_bytes']:,} vs measured {r['measured_bytes']:,}"


def test_rows_of_one_length_give_the_dry_run_estimate(rows):
    for r in rows:
        if not r["overrides"]["varied_lengths"]:
            assert r["estimate_bytes"] == r["dry_run_estimate_bytes"], r["config"]


# ------------------------------------------------------------------------------------------ the model itself
SHAPE = Shape(hidden=64, layers=2, heads=4, kv_heads=4, head_dim=16, intermediate=128, vocab=1000)


def params(trainable: bool = True, lora_rank: int = 0) -> Parameters:
    shapes = {"q_proj": (64, 64), "k_proj": (64, 64), "v_proj": (64, 64), "o_proj": (64, 64),
              "gate_proj": (64, 128), "up_proj": (64, 128), "down_proj": (128, 64)}
    lora = {"q_proj", "v_proj"} if lora_rank else set()
    layer = Layer({n: Linear(i, o, trainable, lora_rank if n in lora else 0, n in lora) for n, (i, o) in shapes.items()},
                  trainable, trainable)
    per_layer = sum(i * o for i, o in shapes.values()) + 2 * 64
    total = 1000 * 64 + 2 * per_layer + 64
    adapters = 2 * 2 * lora_rank * (64 + 64)
    return Parameters(weight_bytes=4 * (total + adapters), grad_bytes=4 * (total if trainable else adapters),
                      trainable_tensors=0, embedding_trainable=trainable, head_trainable=trainable, tied=True,
                      final_norm_trainable=trainable, layers=(layer, layer))


def run(**fields) -> Training:
    cfg = SimpleNamespace(torch_dtype="float32", bf16=False, fp16=False, gradient_checkpointing=False,
                          fused_cross_entropy=False, padding_free=False, packing=False, varlen_attention=True,
                          gradient_accumulation_steps=1, task="causal_lm")
    for key, value in fields.items():
        setattr(cfg, key, value)
    return Training.from_config(cfg)


def test_parts_add_up_and_weights_and_optimizer_are_whole():
    estimate = estimate_memory(SHAPE, params(), run(), MicroBatch(tokens=512, rows=4, targets=200))
    assert estimate.total == sum(v for k, v in estimate.to_dict().items() if k != "total")
    assert estimate.weights == params().weight_bytes and estimate.optimizer == 2 * params().grad_bytes


def test_activations_grow_with_tokens_and_checkpointing_cuts_them():
    one = estimate_memory(SHAPE, params(), run(), MicroBatch(tokens=1024, rows=8, targets=512))
    two = estimate_memory(SHAPE, params(), run(), MicroBatch(tokens=2048, rows=8, targets=1024))
    assert two.activations == pytest.approx(2 * one.activations, rel=0.01)
    assert two.logits == pytest.approx(2 * one.logits, rel=0.02)
    checkpointed = estimate_memory(SHAPE, params(), run(gradient_checkpointing=True),
                                   MicroBatch(tokens=2048, rows=8, targets=1024))
    assert checkpointed.activations < two.activations / 2 and checkpointed.total < two.total


def test_lora_fused_loss_and_bf16_each_lower_the_peak():
    batch = MicroBatch(tokens=2048, rows=8, targets=1024)
    full = estimate_memory(SHAPE, params(), run(), batch)
    lora = estimate_memory(SHAPE, params(trainable=False, lora_rank=8), run(), batch)
    assert lora.optimizer == 2 * 4 * (2 * 2 * 8 * 128) and lora.total < full.total
    assert estimate_memory(SHAPE, params(), run(fused_cross_entropy=True), batch).logits < full.logits / 4
    assert estimate_memory(SHAPE, params(), run(bf16=True), batch).activations < full.activations


def test_accumulation_keeps_the_gradients_through_the_second_forward():
    batch = MicroBatch(tokens=256, rows=2, targets=100)
    one = estimate_memory(SHAPE, params(), run(fused_cross_entropy=True), batch)
    two = estimate_memory(SHAPE, params(), run(fused_cross_entropy=True, gradient_accumulation_steps=2), batch)
    assert two.total > one.total and two.gradients >= params().grad_bytes


def test_a_device_with_too_little_free_memory_gets_a_warning_naming_the_knobs(monkeypatch):
    from sft_studio.config import load_config
    from sft_studio.estimate import memory_report

    from .conftest import EXAMPLES

    free = 40 * 2**20
    monkeypatch.setattr(memory_report, "device_type", lambda cfg: "cuda")
    monkeypatch.setattr(memory_report, "cuda_memory",
                        lambda: {"name": "NVIDIA L4", "free_bytes": free, "total_bytes": 24 * 2**30})
    cfg, _ = load_config(EXAMPLES / "demo.sft.yaml", ["per_device_train_batch_size=4"])
    report = memory_report.memory_report(cfg)
    assert report["estimated_peak_memory_bytes"] > free
    warning = report["warning"]
    assert warning.startswith("the estimated peak") and "free on NVIDIA L4" in warning
    for knob in ("per_device_train_batch_size (now 4", "max_length (now 128)", "gradient_checkpointing: true (peak",
                 "use_lora: true (peak", "bf16: true (peak"):
        assert knob in warning
    assert "warning: the estimated peak" in "\n".join(memory_report.describe(report))
    monkeypatch.setattr(memory_report, "cuda_memory",
                        lambda: {"name": "NVIDIA H100 80GB HBM3", "free_bytes": 80 * 2**30, "total_bytes": 80 * 2**30})
    assert memory_report.memory_report(cfg)["warning"] is None
