"""Model FLOPs and MFU: PaLM's formula by hand, device matching, and the numbers in `train` events."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from sft_studio.data.dataset import Example
from sft_studio.model.flops import FlopMeter, FlopModel, device_peak, matmul_dtype, sequence_lengths

from .conftest import read_events
from .inprocess import small_config, train_here


def tiny_llama(tied: bool):
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.for_model("llama", vocab_size=100, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                                  num_attention_heads=2, num_key_value_heads=2, tie_word_embeddings=tied)
    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(config)


@pytest.mark.parametrize("tied", [True, False])
def test_step_flops_by_hand(tied):
    model = FlopModel.from_model(tiny_llama(tied))
    # Per layer: q, k, v, o 4 x 16 x 16, gate/up/down 3 x 16 x 32, two norms 2 x 16 = 2,592; two layers, the
    # final norm 16, and the head 100 x 16 (the input embedding table is a lookup and does not count; a
    # tied head is that table, counted once as the head).
    assert model.matmul_params == 2 * 2592 + 16 + 1600
    assert (model.layers, model.attention_width) == (2, 16)
    # A packed row of examples of 3 and 5 tokens and a padded row of 4 real tokens: 12 tokens, sum of squares 50.
    units = [Example(list(range(8)), [0] * 8, segments=[3, 5]), Example(list(range(4)), [0] * 4)]
    assert list(sequence_lengths(units)) == [3, 5, 4]
    expected = 6 * 6800 * 12 + 12 * 2 * 16 * (9 + 25 + 16)
    assert expected == 508_800
    meter = FlopMeter(model, peak_per_device=1e6, world_size=2)
    meter.add_step(units)
    meter.add_step(units)
    reported = meter.take(elapsed_s=2.0)
    assert reported == {"flops_per_s": pytest.approx(508_800.0), "mfu": pytest.approx(508_800.0 / 2e6)}
    assert meter.take(1.0) == {"flops_per_s": 0.0, "mfu": 0.0}  # the window restarts after each report


def test_no_mfu_without_a_known_peak():
    meter = FlopMeter(FlopModel(matmul_params=10, layers=1, attention_width=4), peak_per_device=None)
    meter.add_step([Example([1, 2], [1, 2])])
    assert meter.take(1.0) == {"flops_per_s": 6 * 10 * 2 + 12 * 1 * 4 * 4}


@pytest.mark.parametrize("name, dtype, label, peak", [
    ("NVIDIA H100 80GB HBM3", "bf16", "H100 SXM", 989.4e12),
    ("NVIDIA H100 80GB HBM3", "tf32", "H100 SXM", 494.7e12),
    ("NVIDIA H100 PCIe", "fp16", "H100 PCIe", 756e12),
    ("NVIDIA H100 NVL", "bf16", "H100 NVL", 835e12),
    ("NVIDIA H200", "fp32", "H200 SXM", 66.9e12),
    ("NVIDIA GH200 480GB", "bf16", "GH200", 989.4e12),
    ("NVIDIA A100-SXM4-80GB", "bf16", "A100", 312e12),
    ("NVIDIA A100 80GB PCIe", "tf32", "A100", 156e12),
    ("NVIDIA A10G", "bf16", "A10G", 70e12),
    ("NVIDIA A10", "bf16", "A10", 125e12),
    ("NVIDIA L4", "bf16", "L4", 121e12),
    ("NVIDIA L40S", "bf16", "L40S", 362e12),
    ("NVIDIA GeForce RTX 4090", "bf16", "RTX 4090", 165.2e12),
    ("Tesla V100-SXM2-16GB", "tf32", "V100", 15.7e12),  # no TF32 before Ampere: the float32 rate
])
def test_device_names_match_their_peaks(name, dtype, label, peak):
    assert device_peak(name, dtype) == (label, peak)


def test_unknown_devices_and_emulated_dtypes_have_no_peak():
    assert device_peak("Some Future GPU", "bf16") is None
    assert device_peak("Tesla T4", "bf16") is None


def test_matmul_dtype_follows_autocast_weights_and_tf32():
    cfg = SimpleNamespace(bf16=False, fp16=False, torch_dtype="float32")
    assert matmul_dtype(cfg, tf32_allowed=False) == "fp32" and matmul_dtype(cfg, tf32_allowed=True) == "tf32"
    assert matmul_dtype(SimpleNamespace(bf16=True, fp16=False, torch_dtype="float32"), False) == "bf16"
    assert matmul_dtype(SimpleNamespace(bf16=False, fp16=True, torch_dtype="float32"), True) == "fp16"
    assert matmul_dtype(SimpleNamespace(bf16=False, fp16=False, torch_dtype="bfloat16"), True) == "bf16"


def test_train_events_carry_the_flop_rate_of_their_steps(tmp_path):
    from sft_studio.config import load_config
    from sft_studio.data.dataset import load_splits
    from sft_studio.estimate.dry_run import meta_model, plan_batches
    from sft_studio.model.load import load_tokenizer

    config = small_config(tmp_path, padding_free=True)
    run_dir = tmp_path / "run"
    assert train_here(config, run_dir) == 0
    train = [e for e in read_events(run_dir) if e["type"] == "train"]
    assert len(train) == 4 and all("mfu" not in e for e in train)  # CPU: no peak to compare with
    cfg, _ = load_config(config)
    plan = plan_batches(cfg, load_splits(cfg, load_tokenizer(cfg)).train)
    model = FlopModel.from_model(meta_model(cfg)[0])
    for before, event, step in zip(train, train[1:], plan.microbatches[1:4]):
        lengths = list(sequence_lengths(plan.units[i] for i in step))
        flops = model.flops(sum(lengths), sum(n * n for n in lengths))
        assert event["tokens"] - before["tokens"] == sum(lengths)
        # The rate times the time between the two events is the step's model FLOPs (the events' own time
        # stamps are taken microseconds after the trainer's clock).
        assert event["flops_per_s"] * (event["time"] - before["time"]) == pytest.approx(flops, rel=0.02)
