"""export --format gguf without llama.cpp: what the file says and holds, read back with gguf's own reader.

The embedded tiny Llama (byte tokenizer, no merges), random Llama (BPE with merges, Llama 3 split, GQA, Llama 3.1
RoPE scaling, untied output, padding rows) and random Qwen2 (Qwen2 split, biases, tied) models of gguf_models are
exported; a LoRA adapter is merged first. That llama.cpp answers like PyTorch with these files is
test_export_gguf_llamacpp.py (npm run test:gguf).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from sft_studio.cli import main
from sft_studio.export.gguf import interleave_rotary_rows
from sft_studio.export.ollama_modelfile import derive_turn_model

from .conftest import MODEL, REPO
from .gguf_models import TEMPLATE, build_model


def export(folder: Path, gguf_type: str, capsys: pytest.CaptureFixture) -> dict:
    capsys.readouterr()
    code = main(["export", str(folder), "--format", "gguf", "--gguf-type", gguf_type, "--json"])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0, result
    return result


def read(path: str):
    import gguf

    reader = gguf.GGUFReader(path)
    fields = {name: field.contents() for name, field in reader.fields.items()}
    return fields, {t.name: t for t in reader.tensors}


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("gguf-models")
    return {arch: build_model(root / arch, arch) for arch in ("tiny", "llama", "qwen2")}


def hf_state(folder: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(folder / "model.safetensors"))


def test_tiny_llama_metadata_tokenizer_and_template(models, capsys) -> None:
    from transformers import AutoTokenizer

    result = export(models["tiny"], "f16", capsys)
    fields, tensors = read(result["path"])
    tokenizer = AutoTokenizer.from_pretrained(MODEL)
    assert fields["general.architecture"] == "llama"
    assert {k: fields[f"llama.{k}"] for k in ("context_length", "embedding_length", "block_count",
                                               "feed_forward_length", "attention.head_count",
                                               "attention.head_count_kv", "rope.dimension_count", "vocab_size")} == {
        "context_length": 512, "embedding_length": 192, "block_count": 4, "feed_forward_length": 512,
        "attention.head_count": 4, "attention.head_count_kv": 4, "rope.dimension_count": 48, "vocab_size": 261}
    assert fields["llama.rope.freq_base"] == 10000.0
    assert fields["llama.attention.layer_norm_rms_epsilon"] == pytest.approx(1e-5)
    assert fields["tokenizer.ggml.model"] == "gpt2" and fields["tokenizer.ggml.pre"] == "smollm"
    vocab = {t: i for i, t in enumerate(fields["tokenizer.ggml.tokens"])}
    assert vocab == tokenizer.get_vocab()
    types = fields["tokenizer.ggml.token_type"]
    assert [types[i] for i in range(5)] == [3] * 5 and set(types[5:]) == {1}  # control specials, then bytes
    assert fields["tokenizer.ggml.merges"] == []  # a byte tokenizer: no merges, the key still there
    assert fields["tokenizer.ggml.eos_token_id"] == 1 and fields["tokenizer.ggml.padding_token_id"] == 0
    assert "tokenizer.ggml.bos_token_id" not in fields and fields["tokenizer.ggml.add_bos_token"] is False
    assert fields["tokenizer.chat_template"] == tokenizer.chat_template == TEMPLATE
    # Tied embeddings: no output.weight (llama.cpp reuses token_embd); norms f32, matrices f16.
    assert "output.weight" not in tensors and len(tensors) == 2 + 4 * 9
    assert {t.tensor_type.name for n, t in tensors.items() if n.endswith("norm.weight")} == {"F32"}
    assert {t.tensor_type.name for n, t in tensors.items() if not n.endswith("norm.weight")} == {"F16"}
    assert result["tensors"] == len(tensors) and result["architecture"] == "llama"


def test_f16_weights_are_the_models_with_llamas_rotary_order(models, capsys) -> None:
    state = hf_state(models["tiny"])
    _, tensors = read(export(models["tiny"], "f16", capsys)["path"])
    q = np.asarray(tensors["blk.1.attn_q.weight"].data, dtype=np.float32)
    assert q.shape == (192, 192)
    # The file's q rows are the model's, re-ordered per head; undoing that gives the weights back (f16-rounded).
    unpermuted = q.reshape(4, 24, 2, 192).swapaxes(1, 2).reshape(192, 192)
    want = state["model.layers.1.self_attn.q_proj.weight"]
    assert np.abs(unpermuted - want).max() <= np.abs(want).max() * 2 ** -11
    assert np.array_equal(interleave_rotary_rows(want, 4), want.reshape(4, 2, 24, 192).swapaxes(1, 2).reshape(192, 192))
    np.testing.assert_array_equal(np.asarray(tensors["blk.1.attn_v.weight"].data),
                                  state["model.layers.1.self_attn.v_proj.weight"].astype(np.float16))
    np.testing.assert_array_equal(np.asarray(tensors["output_norm.weight"].data), state["model.norm.weight"])


def test_q8_0_round_trip_error_is_within_half_a_step(models, capsys) -> None:
    import gguf

    state = hf_state(models["tiny"])
    result = export(models["tiny"], "q8_0", capsys)
    _, tensors = read(result["path"])
    assert result["bytes"] < 0.6 * (models["tiny"] / "gguf-f16" / "model.gguf").stat().st_size
    for name, hf in (("token_embd.weight", "model.embed_tokens.weight"),
                     ("blk.3.ffn_down.weight", "model.layers.3.mlp.down_proj.weight")):
        t = tensors[name]
        assert t.tensor_type == gguf.GGMLQuantizationType.Q8_0
        back = gguf.quants.dequantize(t.data, t.tensor_type)
        want = state[hf]
        assert back.shape == want.shape
        # Per block of 32: step d = max|x| / 127 (stored as f16); rounding costs at most d/2, the f16 scale
        # 127·d·2^-11 more.
        blocks = want.reshape(-1, 32)
        step = np.abs(blocks).max(axis=1, keepdims=True) / 127
        err = np.abs(back.reshape(-1, 32) - blocks)
        assert (err <= step * (0.5 + 127 * 2 ** -11) + 1e-12).all()
        assert err.max() > 0  # quantised for real


def test_bpe_tokenizers_llama3_rope_and_qwen2(models, capsys) -> None:
    from transformers import AutoTokenizer

    for arch, pre in (("llama", "llama-bpe"), ("qwen2", "qwen2")):
        folder = models[arch]
        fields, tensors = read(export(folder, "q8_0", capsys)["path"])
        tokenizer = AutoTokenizer.from_pretrained(folder)
        spec = json.loads(tokenizer.backend_tokenizer.to_str())
        assert fields["general.architecture"] == arch and fields["tokenizer.ggml.pre"] == pre
        assert fields["tokenizer.ggml.merges"] == [m if isinstance(m, str) else " ".join(m)
                                                   for m in spec["model"]["merges"]]
        assert len(fields["tokenizer.ggml.merges"]) > 300
        assert fields[f"{arch}.attention.head_count_kv"] == 2 and fields[f"{arch}.attention.head_count"] == 4
        assert fields["tokenizer.chat_template"] == TEMPLATE
        config = json.loads((folder / "config.json").read_text())
        tokens = fields["tokenizer.ggml.tokens"]
        assert len(tokens) == config["vocab_size"]
        if arch == "llama":  # 8 embedding rows beyond the tokenizer, untied output, Llama 3.1 RoPE divisors
            assert tokens[-8:] == [f"[PAD{i}]" for i in range(len(tokens) - 8, len(tokens))]
            assert fields["tokenizer.ggml.token_type"][-8:] == [5] * 8
            assert "output.weight" in tensors
            freqs = np.asarray(tensors["rope_freqs.weight"].data)
            assert freqs.shape == (8,) and freqs[0] == 1.0 and freqs[-1] == 8.0
        else:  # Qwen2: attention biases, f32 like the norms
            assert tensors["blk.0.attn_q.bias"].tensor_type.name == "F32" and "output.weight" not in tensors
            # k rows of 64 values: q8_0 blocks fit; Qwen2's q/k are written in transformers' order
            assert tensors["blk.0.attn_k.weight"].tensor_type.name == "Q8_0"


def test_modelfile_beside_the_file(models, capsys) -> None:
    result = export(models["tiny"], "q8_0", capsys)
    text = Path(result["modelfile"]).read_text()
    lines = text.splitlines()
    assert lines[0] == "FROM ./model.gguf" and Path(result["modelfile"]).parent == Path(result["path"]).parent
    assert 'PARAMETER stop "<|end|>"' in lines
    template = next(line for line in lines if line.startswith("TEMPLATE"))
    assert '{{ "\\n<|assistant|>\\n" }}' in template and "{{ .Content }}" in template
    assert result["ollama_template"] is True


def test_turn_model_reproduces_templates_or_declines() -> None:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def renderer(source: str):
        template = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True).from_string(source)
        return lambda messages, gen: template.render(messages=messages, add_generation_prompt=gen, bos_token="<s>")

    chatml = (REPO / "trainer/sft_studio/data/chat_templates/chatml.jinja").read_text()
    for source in (TEMPLATE, chatml):
        model = derive_turn_model(renderer(source))
        assert model is not None
        conversation = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there"},
                        {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Sort 3 1 2"}]
        assert model.render(conversation, True) == renderer(source)(conversation, True)
    # A template that rewrites what it is given (upper-cases user turns) has no such model: no TEMPLATE.
    assert derive_turn_model(renderer("{% for m in messages %}{{ m['content'] | upper }}\n{% endfor %}")) is None


def test_lora_adapter_is_merged_first(tmp_path, capsys) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(MODEL),
                           LoraConfig(r=4, lora_alpha=8, target_modules=["v_proj"]))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.05)  # a trained adapter: B is no longer zero
    adapter = tmp_path / "step-10"
    model.save_pretrained(adapter)
    merged = model.merge_and_unload().state_dict()["model.layers.0.self_attn.v_proj.weight"].numpy()
    _, tensors = read(export(adapter, "f16", capsys)["path"])
    got = np.asarray(tensors["blk.0.attn_v.weight"].data, dtype=np.float32)
    base = hf_state(MODEL)["model.layers.0.self_attn.v_proj.weight"]
    assert np.abs(got - merged).max() <= np.abs(merged).max() * 2 ** -11 < np.abs(merged - base).max()


def test_refusals(tmp_path, capsys) -> None:
    gpt2 = tmp_path / "gpt2"
    gpt2.mkdir()
    (gpt2 / "config.json").write_text(json.dumps({"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"]}))
    assert main(["export", str(gpt2), "--format", "gguf", "--json"]) == 2
    error = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["error"]
    assert "llama and qwen2" in error and "`gpt2`" in error
    assert main(["export", str(MODEL), "--gguf-type", "q8_0"]) == 2
    assert "--gguf-type only applies to --format gguf" in capsys.readouterr().err
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("mine")
    copy = tmp_path / "tiny"
    shutil.copytree(MODEL, copy)
    assert main(["export", str(copy), "--format", "gguf", "--out", str(occupied)]) == 2
    assert (occupied / "notes.txt").read_text() == "mine"
