"""The benchmark harness's plumbing on a tiny model: inputs, our worker's measurements, the ratios."""

from __future__ import annotations

import json
import math

import pytest

from sft_bench.runner import Spec, build_inputs, ratios, run_ours, tokens_per_s


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    work = tmp_path_factory.mktemp("bench")
    spec = Spec(model="smoke", device="cpu", dtype="float32", batch_size=4, warmup_steps=1, timed_steps=2,
                memory_steps=1, learning_rate=1e-3, seed=3, workdir=str(work))
    build_inputs(spec, examples=24)
    return spec


def test_inputs_follow_our_order(spec):
    rows = [json.loads(line) for line in spec.tokenized_file.read_text().splitlines()]
    assert len(rows) == spec.examples == 24 and sorted(spec.order) == list(range(24))
    assert all(len(r["input_ids"]) == len(r["labels"]) <= 2048 for r in rows)
    assert all(any(label != -100 for label in r["labels"]) for r in rows)


def test_our_worker_counts_the_tokens_of_the_timed_steps(spec):
    result = run_ours(spec, "time")
    assert len(result["records"]) == len(result["losses"]) == spec.total_steps
    assert all(math.isfinite(loss) for loss in result["losses"])
    rows = [json.loads(line) for line in spec.tokenized_file.read_text().splitlines()]
    timed = rows[spec.batch_size * spec.warmup_steps: spec.batch_size * spec.total_steps]
    records = result["records"]
    assert records[-1]["tokens"] - records[0]["tokens"] == sum(len(r["input_ids"]) for r in timed)
    assert tokens_per_s(records, spec.warmup_steps) > 0


def test_our_memory_run_counts_at_least_weights_grads_and_adam_state(spec):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(spec.model_dir, local_files_only=True)
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    peak = run_ours(spec, "memory")["peak_bytes"]
    assert 4 * weight_bytes <= peak < 100 * weight_bytes


def test_ratios_pick_the_faster_trl_and_compare_losses():
    summary = {"ours": {"tokens_per_s": 300.0, "peak_memory_bytes": 50, "final_loss": 2.02, "losses": [3.3, 2.02]},
               "hf_trainer_padded": {"tokens_per_s": 100.0, "peak_memory_bytes": 90, "final_loss": 2.0,
                                     "losses": [3.0, 2.0]},
               "trl_default": {"tokens_per_s": 120.0, "peak_memory_bytes": 100, "final_loss": 2.0},
               "trl_padding_free": {"tokens_per_s": 200.0, "peak_memory_bytes": 80, "final_loss": 2.0},
               "trl_bfd_packing": {"tokens_per_s": 150.0, "peak_memory_bytes": 80, "final_loss": 1.9}}
    assert ratios(summary) == {"tokens_per_s_vs_hf_trainer_padded": 3.0, "tokens_per_s_vs_trl_best": 1.5,
                               "trl_best": "trl_padding_free", "peak_memory_vs_trl_default": 0.5,
                               "final_loss_rel_diff_vs_hf_trainer": pytest.approx(0.01),
                               "max_step_loss_rel_diff_vs_hf_trainer": pytest.approx(0.1)}
