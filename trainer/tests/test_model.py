"""Which parts train (frozen layers, LoRA adapters), mixed precision, and how failures end a run."""

from __future__ import annotations

import hashlib

import pytest
import torch
from safetensors.torch import load_file

from sft_studio.config import ConfigError, load_config
from sft_studio.data.dataset import load_splits
from sft_studio.model.load import load_tokenizer, load_trained_model
from sft_studio.train.checkpoint import load_trainer_state
from sft_studio.train.evaluate import evaluate_split

from .conftest import MODEL, read_events
from .inprocess import copy_as_of, small_config, train_here


def eval_loss(model, config) -> float:
    cfg, _ = load_config(config)
    tokenizer = load_tokenizer(cfg)
    val = load_splits(cfg, tokenizer).validation
    return evaluate_split(model, val, 16, tokenizer.pad_token_id, torch.device("cpu"), False)["loss"]


def test_frozen_layers_stay_bit_identical_with_and_without_checkpointing(tmp_path):
    run_dir = tmp_path / "run"
    assert train_here(small_config(tmp_path), run_dir, "freeze_layers=2", "freeze_embeddings=true", "max_steps=3") == 0
    base = load_file(MODEL / "model.safetensors")
    tuned = load_file(run_dir / "checkpoints" / "step-3" / "model.safetensors")
    frozen = [k for k in base if k.startswith(("model.layers.0.", "model.layers.1.", "model.embed_tokens."))]
    trained = [k for k in base if k.startswith(("model.layers.2.", "model.layers.3.", "model.norm."))]
    assert len(frozen) == 19 and len(trained) == 19
    assert all(torch.equal(base[k], tuned[k]) for k in frozen)
    assert all(not torch.equal(base[k], tuned[k]) for k in trained)
    started = read_events(run_dir)[0]
    frozen_count = sum(base[k].numel() for k in frozen)
    assert started["trainable_parameters"] == started["num_parameters"] - frozen_count

    # Non-reentrant gradient checkpointing recomputes the same activations: same losses, same weights.
    recomputed = tmp_path / "recomputed"
    assert train_here(small_config(tmp_path), recomputed, "freeze_layers=2", "freeze_embeddings=true", "max_steps=3",
                      "gradient_checkpointing=true") == 0
    want = [e["loss"] for e in read_events(run_dir) if e["type"] == "train"]
    assert [e["loss"] for e in read_events(recomputed) if e["type"] == "train"] == pytest.approx(want, rel=1e-6, abs=0)
    again = load_file(recomputed / "checkpoints" / "step-3" / "model.safetensors")
    assert all(torch.allclose(again[k], tuned[k], rtol=0, atol=1e-6) for k in trained)


def test_freezing_more_layers_than_the_model_has_is_a_config_error(tmp_path):
    run_dir = tmp_path / "run"
    assert train_here(small_config(tmp_path), run_dir, "freeze_layers=9") == 2
    error = next(e for e in read_events(run_dir) if e["type"] == "error")
    assert error["kind"] == "config"
    assert error["message"] == "`freeze_layers` is 9 but the model has 4 decoder layers; set `freeze_layers` to at most 4"


@pytest.fixture(scope="module")
def lora_run(tmp_path_factory):
    """Four LoRA steps (adapter saved at step 2 and at the end, merged copy at the end)."""
    folder = tmp_path_factory.mktemp("lora")
    config = small_config(folder, use_lora=True, lora_r=4, lora_alpha=8, lora_dropout=0.0,
                          lora_target_modules=["q_proj", "v_proj", "down_proj"], merge_lora_on_save=True,
                          eval_strategy="steps", eval_steps=100, save_strategy="steps", save_steps=2)
    digest = hashlib.sha256((MODEL / "model.safetensors").read_bytes()).hexdigest()
    run_dir = folder / "run"
    assert train_here(config, run_dir) == 0
    assert hashlib.sha256((MODEL / "model.safetensors").read_bytes()).hexdigest() == digest
    return config, run_dir


def test_lora_checkpoint_holds_only_the_adapter_and_reloads_to_the_same_eval_loss(lora_run):
    config, run_dir = lora_run
    final = run_dir / "checkpoints" / "step-4"
    adapter = load_file(final / "adapter_model.safetensors")
    assert adapter and all("lora_A" in k or "lora_B" in k for k in adapter)
    assert any("lora_B" in k and v.abs().max() > 0 for k, v in adapter.items())  # B starts at zero: it trained
    events = read_events(run_dir)
    started, last_eval = events[0], [e for e in events if e["type"] == "eval"][-1]
    assert started["trainable_parameters"] == sum(v.numel() for v in adapter.values())

    reloaded = load_trained_model(final, torch.device("cpu"))
    assert eval_loss(reloaded, config) == pytest.approx(last_eval["loss"], rel=1e-5)
    base = load_file(MODEL / "model.safetensors")
    unloaded = reloaded.unload().state_dict()
    assert all(torch.equal(unloaded[k], base[k]) for k in base)  # the base under the adapter is the original

    merged = load_trained_model(final / "merged", torch.device("cpu"))
    assert eval_loss(merged, config) == pytest.approx(last_eval["loss"], rel=1e-5)
    merged_weights = load_file(final / "merged" / "model.safetensors")
    assert not torch.equal(merged_weights["model.layers.0.self_attn.q_proj.weight"],
                           base["model.layers.0.self_attn.q_proj.weight"])


def test_lora_resume_continues_with_the_same_losses(lora_run, tmp_path):
    _, run_dir = lora_run
    want = {e["step"]: e["loss"] for e in read_events(run_dir) if e["type"] == "train"}
    copy = tmp_path / "copy"
    cut = copy_as_of(run_dir, 2, copy)
    assert train_here(None, copy, resume=True) == 0
    after = [e for e in read_events(copy)[cut + 1:] if e["type"] == "train"]
    assert [e["step"] for e in after] == [3, 4]
    for e in after:
        assert e["loss"] == pytest.approx(want[e["step"]], rel=1e-6, abs=0)
    assert torch.equal(load_file(copy / "checkpoints" / "step-4" / "adapter_model.safetensors")["base_model.model.model.layers.3.mlp.down_proj.lora_B.weight"],
                       load_file(run_dir / "checkpoints" / "step-4" / "adapter_model.safetensors")["base_model.model.model.layers.3.mlp.down_proj.lora_B.weight"])


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_16_bit_autocast_trains(tmp_path, precision):
    run_dir = tmp_path / "run"
    config = small_config(tmp_path, max_steps=5, learning_rate=2e-3)
    assert train_here(config, run_dir, f"{precision}=true") == 0
    losses = [e["loss"] for e in read_events(run_dir) if e["type"] == "train"]
    assert len(losses) == 5 and all(l == l for l in losses)
    assert sum(losses[-2:]) / 2 < 0.7 * losses[0]
    state = load_trainer_state(run_dir / "checkpoints" / "step-5")
    if precision == "fp16":
        assert state["grad_scaler"]["scale"] > 0  # the scaler's state is saved so a resume continues it
    else:
        assert state["grad_scaler"] is None


@pytest.mark.parametrize("extra, expected", [
    ("bf16: true\nfp16: true\n", ":4:7: `bf16` and `fp16` are both true; choose one 16-bit autocast (bf16 needs no gradient scaler)"),
    ("fp16: true\ntorch_dtype: float16\n", ":3:7: `fp16` keeps float32 master weights for its gradient scaler; set `torch_dtype: float32` (or use `bf16`)"),
    ("lora_r: 8\nmodules_to_save: [lm_head]\n", ":4:18: `modules_to_save` applies to LoRA only; add `use_lora: true` or remove `modules_to_save`"),
])
def test_model_and_precision_config_errors(tmp_path, extra, expected):
    path = tmp_path / "c.sft.yaml"
    path.write_text(f"model_name_or_path: {MODEL}\ntrain_file: {MODEL.parent / 'data' / 'instruct_train.jsonl'}\n" + extra)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert [str(i) for i in err.value.issues] == [str(path) + expected]


def test_nan_loss_ends_with_an_error_naming_the_knobs(tmp_path):
    run_dir = tmp_path / "run"
    # A learning rate this large blows the weights up within a few steps.
    assert train_here(small_config(tmp_path), run_dir, "learning_rate=1e6", "max_steps=20", "max_grad_norm=0") == 1
    events = read_events(run_dir)
    error = next(e for e in events if e["type"] == "error")
    assert error["kind"] == "nan"
    assert error["message"].startswith(("the loss became", "the gradient norm became"))
    assert all(knob in error["hint"] for knob in ("learning_rate", "warmup_ratio", "max_grad_norm", "bf16"))
    assert events[-1]["type"] == "run_finished" and events[-1]["status"] == "failed"


def test_out_of_memory_ends_with_an_error_and_keeps_checkpoints(tmp_path, monkeypatch):
    from sft_studio.train import recipe

    real_step = recipe.SFTRecipe._optimizer_step

    def step_then_oom(self, plan):
        if self.step == 2:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_step(self, plan)

    monkeypatch.setattr(recipe.SFTRecipe, "_optimizer_step", step_then_oom)
    run_dir = tmp_path / "run"
    assert train_here(small_config(tmp_path), run_dir, "save_strategy=steps", "save_steps=1") == 1
    events = read_events(run_dir)
    error = next(e for e in events if e["type"] == "error")
    assert error["kind"] == "oom" and error["message"].startswith("out of memory at step 3: CUDA out of memory")
    assert all(knob in error["hint"] for knob in ("per_device_train_batch_size", "max_length",
                                                  "gradient_checkpointing", "use_lora"))
    assert events[-1]["status"] == "failed"
    assert (run_dir / "checkpoints" / "step-2" / "model.safetensors").is_file()
