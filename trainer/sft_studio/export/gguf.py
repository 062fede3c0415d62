"""`export CHECKPOINT --format gguf`: one GGUF file that llama.cpp and Ollama run, with an Ollama Modelfile.

The converter is written here on llama.cpp's own `gguf` package (its writer, its table of Hugging Face tensor
names and its numpy quantisers), for the architectures llama.cpp runs that this product trains: Llama and Qwen2.
A LoRA adapter is merged into its base first (export_merged), so the file is the model `generate` answers with.

What llama.cpp needs to answer like the trainer:
- the hyper-parameters (`{arch}.context_length`, `.embedding_length`, `.block_count`, `.feed_forward_length`,
  `.attention.head_count[_kv]`, `.rope.freq_base`, `.attention.layer_norm_rms_epsilon`, RoPE scaling);
- the weights under GGUF names. llama.cpp's `llama` graph rotates pairs of adjacent query/key channels (Meta's
  layout) while transformers rotates the two halves of each head, so Llama's q/k rows are re-ordered per head
  (Qwen2 runs the halves layout in llama.cpp and is written as is). Norms and biases stay f32, as llama.cpp
  expects of 1-D tensors; a matrix whose rows do not split into 32-value blocks is written f16 under q8_0;
- the tokenizer as llama.cpp's byte-level BPE (`gpt2`): tokens, their types, merges, and the pre-tokenizer
  split named as llama.cpp names it (found from the tokenizer's own split rule, never guessed);
- the chat template the run trained with, its end-of-turn token (`eot_token_id`) beside EOS, BOS, padding.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..errors import ExportError
from .source import ExportSource

GGUF_TYPES = ("f16", "q8_0", "bf16", "f32")
DEFAULT_GGUF_TYPE = "f16"
GGUF_FILE = "model.gguf"
MODELFILE = "Modelfile"
SUPPORTED = {"llama": "LLAMA", "qwen2": "QWEN2"}
"""transformers `model_type` -> gguf MODEL_ARCH member."""
# The Llama 3 / Qwen2 split rules as their tokenizer.json writes them, and llama.cpp's names for them.
_LLAMA3_SPLIT = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
_QWEN2_SPLIT = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
_SPLITS = {_LLAMA3_SPLIT: "llama-bpe", _QWEN2_SPLIT: "qwen2"}
Progress = Callable[[str], None]


@dataclass
class Vocab:
    tokens: list[str]
    types: list[int]
    merges: list[str]
    pre: str


def default_out(source: ExportSource, gguf_type: str) -> Path:
    return source.checkpoint / f"gguf-{gguf_type}"


def export_gguf(source: ExportSource, out: Path | None = None, *, gguf_type: str = DEFAULT_GGUF_TYPE,
                progress: Progress = print) -> dict[str, Any]:
    """Writes OUT/model.gguf and OUT/Modelfile (OUT defaults to CHECKPOINT/gguf-TYPE); returns --json's report."""
    from .merged import end_of_answer_ids, merged_model, run_tokenizer, staged
    from .ollama_modelfile import render_modelfile

    if gguf_type not in GGUF_TYPES:
        raise ExportError(f"--gguf-type {gguf_type} is not one this export writes", f"Pick one of {', '.join(GGUF_TYPES)}.")
    if source.task != "causal_lm":
        raise ExportError(f"{source.checkpoint} is a {source.task} checkpoint, and llama.cpp runs causal language models",
                          "Export it with --format merged instead.")
    started = time.monotonic()
    out = (out or default_out(source, gguf_type)).resolve()
    _check_destination(out, source.checkpoint)
    model_type = _model_type(source)
    model = merged_model(source, "auto", progress)
    tokenizer = run_tokenizer(source)
    stop_ids = end_of_answer_ids(source, tokenizer)
    vocab = read_vocab(tokenizer, model.config.vocab_size)
    with staged(out) as tmp:
        progress(f"converting {model_type} weights to GGUF ({gguf_type})")
        tensors = write_gguf(tmp / GGUF_FILE, model, tokenizer, vocab, stop_ids, gguf_type,
                             name=_model_name(source))
        modelfile = render_modelfile(GGUF_FILE, tokenizer, stop_ids)
        (tmp / MODELFILE).write_text(modelfile.text, encoding="utf-8")
    size = (out / GGUF_FILE).stat().st_size
    progress(f"wrote {out / GGUF_FILE} ({size / 1e6:.1f} MB, {tensors} tensors) and {out / MODELFILE}")
    return {"format": "gguf", "path": str(out / GGUF_FILE), "modelfile": str(out / MODELFILE),
            "gguf_type": gguf_type, "architecture": model_type, "bytes": size, "tensors": tensors,
            "source": "lora" if source.adapter else "full", "eos_token_id": stop_ids,
            "ollama_template": modelfile.template_derived, "seconds": round(time.monotonic() - started, 2)}


def _check_destination(out: Path, checkpoint: Path) -> None:
    if checkpoint == out or checkpoint.is_relative_to(out):
        raise ExportError(f"--out {out} holds the checkpoint itself, which the export would replace",
                          "Pass a new folder, or leave --out out (CHECKPOINT/gguf-TYPE).")
    if out.is_dir() and any(out.iterdir()):
        if {p.name for p in out.iterdir()} - {GGUF_FILE, MODELFILE}:
            raise ExportError(f"{out} already holds files that are not an earlier GGUF export, and the export would "
                              "replace the folder whole", "Pass a new or empty folder with --out.")
    elif out.exists() and not out.is_dir():
        raise ExportError(f"{out} is a file", "Pass a folder with --out (the export writes model.gguf and Modelfile).")


def _model_type(source: ExportSource) -> str:
    """The architecture, read from config.json before any weights load, so an unsupported one fails at once."""
    folder = source.checkpoint
    if source.adapter:
        from ..model import hub

        folder = Path(hub.cached_folder(source.base))
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ExportError(f"cannot read {folder / 'config.json'}: {exc}", "Restore the model's config.json.") from None
    model_type = config.get("model_type")
    if model_type not in SUPPORTED:
        raise ExportError(f"GGUF export supports the {' and '.join(sorted(SUPPORTED))} architectures, and this model "
                          f"is `{model_type}` ({', '.join(config.get('architectures') or ['no architectures listed'])})",
                          "Export it with --format merged and convert it with llama.cpp's convert_hf_to_gguf.py, "
                          "which knows more architectures.")
    return model_type


def _model_name(source: ExportSource) -> str:
    step = f"-step-{source.step}" if source.step is not None else ""
    return f"{source.run_dir.name if source.run_dir else source.checkpoint.name}{step}"


def read_vocab(tokenizer: Any, vocab_size: int) -> Vocab:
    """The tokenizer as llama.cpp's byte-level BPE, or an ExportError saying what it is instead."""
    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    model = spec.get("model") or {}
    decoder = spec.get("decoder") or {}
    if model.get("type") != "BPE" or decoder.get("type") != "ByteLevel":
        kind = "SentencePiece-style" if model.get("byte_fallback") or decoder.get("type") == "Sequence" else model.get("type")
        raise ExportError(f"the tokenizer is a {kind} tokenizer, and this export writes byte-level BPE tokenizers "
                          "(GPT-2, Llama 3, Qwen2 style) only",
                          "Export with --format merged and convert with llama.cpp's convert_hf_to_gguf.py.")
    pre = _pre_tokenizer_name(spec.get("pre_tokenizer"))
    by_id = {i: t for t, i in tokenizer.get_vocab().items()}
    added = {int(i): t for i, t in tokenizer.added_tokens_decoder.items()}
    if len(by_id) > vocab_size:
        raise ExportError(f"the tokenizer has {len(by_id)} tokens and the model's embeddings {vocab_size} rows",
                          "Export a checkpoint whose embeddings were resized to its tokenizer.")
    tokens, types = [], []
    for i in range(vocab_size):
        if i not in by_id:
            tokens.append(f"[PAD{i}]")
            types.append(5)  # UNUSED: an embedding row no text maps to
        elif i in added:
            tokens.append(by_id[i])
            types.append(3 if added[i].special else 4)  # CONTROL / USER_DEFINED
        else:
            tokens.append(by_id[i])
            types.append(1)  # NORMAL
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges") or []]
    return Vocab(tokens, types, merges, pre)


def _pre_tokenizer_name(pre: dict[str, Any] | None) -> str:
    steps = (pre or {}).get("pretokenizers", [pre]) if (pre or {}).get("type") == "Sequence" else [pre]
    shape = [(s or {}).get("type") for s in steps]
    last = steps[-1] or {}
    if last.get("type") == "ByteLevel" and not last.get("add_prefix_space"):
        if shape == ["ByteLevel"] and last.get("use_regex", True):
            return "gpt2"
        if shape == ["Digits", "ByteLevel"] and steps[0].get("individual_digits") and last.get("use_regex", True):
            return "smollm"  # SmolLM's rule: every digit alone, then GPT-2's split
        if shape == ["Split", "ByteLevel"] and not last.get("use_regex", True):
            pattern = (steps[0].get("pattern") or {}).get("Regex")
            if pattern in _SPLITS and steps[0].get("behavior") == "Isolated":
                return _SPLITS[pattern]
    raise ExportError(f"the tokenizer splits text with a rule llama.cpp has no name for ({json.dumps(pre)[:200]})",
                      "GGUF export knows the GPT-2, SmolLM, Llama 3 and Qwen2 rules; export with --format merged "
                      "and convert with llama.cpp's convert_hf_to_gguf.py.")


def write_gguf(path: Path, model: Any, tokenizer: Any, vocab: Vocab, stop_ids: list[int], gguf_type: str,
               name: str) -> int:
    """Writes the file; returns how many tensors it holds."""
    import gguf

    config = model.config
    arch = getattr(gguf.MODEL_ARCH, SUPPORTED[config.model_type])
    writer = _writer(path, gguf.MODEL_ARCH_NAMES[arch])
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    writer.add_name(name)
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(_kv_heads(config))
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_vocab_size(config.vocab_size)
    writer.add_rope_dimension_count(head_dim)
    if head_dim != config.hidden_size // config.num_attention_heads:
        writer.add_key_length(head_dim)
        writer.add_value_length(head_dim)
    rope_freqs = _rope(writer, config, head_dim)
    writer.add_file_type({"f32": gguf.LlamaFileType.ALL_F32, "f16": gguf.LlamaFileType.MOSTLY_F16,
                          "bf16": gguf.LlamaFileType.MOSTLY_BF16, "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0}[gguf_type])
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    _add_tokenizer(writer, tokenizer, vocab, stop_ids)

    names = gguf.get_tensor_name_map(arch, config.num_hidden_layers)
    count = 0
    if rope_freqs is not None:
        writer.add_tensor(gguf.TENSOR_NAMES[gguf.MODEL_TENSOR.ROPE_FREQS] + ".weight", rope_freqs)
        count += 1
    tied = bool(getattr(config, "tie_word_embeddings", False))
    for hf_name, weight in model.state_dict().items():
        if hf_name.endswith("rotary_emb.inv_freq") or (tied and hf_name == "lm_head.weight"):
            continue
        mapped = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if mapped is None:
            raise ExportError(f"the weight {hf_name} has no GGUF name in llama.cpp's {config.model_type} layout",
                              "Export with --format merged and convert with llama.cpp's convert_hf_to_gguf.py.")
        data = weight.detach().float().cpu().numpy()
        if config.model_type == "llama" and hf_name.endswith(("q_proj.weight", "k_proj.weight")):
            heads = config.num_attention_heads if "q_proj" in hf_name else _kv_heads(config)
            data = interleave_rotary_rows(data, heads)
        array, raw = encode_tensor(data, gguf_type)
        writer.add_tensor(mapped, array, raw_dtype=raw)
        count += 1
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return count


def _kv_heads(config: Any) -> int:
    return getattr(config, "num_key_value_heads", None) or config.num_attention_heads


def interleave_rotary_rows(weight: Any, heads: int) -> Any:
    """transformers' Llama rotates channel i with i + d/2 of each head; llama.cpp's `llama` graph rotates 2i with
    2i+1. Re-ordering each head's rows (first half and second half interleaved) makes the two the same rotation."""
    rows = weight.shape[0]
    return weight.reshape(heads, 2, rows // heads // 2, *weight.shape[1:]).swapaxes(1, 2).reshape(weight.shape)


def encode_tensor(data: Any, gguf_type: str) -> tuple[Any, Any]:
    """(array, raw GGML type or None) for one tensor: 1-D tensors f32; matrices in the asked type, f16 where a
    q8_0 block (32 values of a row) does not fit."""
    import gguf
    import numpy as np

    if data.ndim <= 1 or gguf_type == "f32":
        return data.astype(np.float32), None
    if gguf_type == "f16" or (gguf_type == "q8_0" and data.shape[-1] % 32):
        return data.astype(np.float16), None
    qtype = gguf.GGMLQuantizationType.BF16 if gguf_type == "bf16" else gguf.GGMLQuantizationType.Q8_0
    return gguf.quants.quantize(data, qtype), qtype


def _rope(writer: Any, config: Any, head_dim: int) -> Any:
    """Writes the RoPE keys; returns Llama 3's per-frequency divisors (the `rope_freqs` tensor) when it scales so."""
    import gguf
    import numpy as np

    params = dict(getattr(config, "rope_parameters", None) or getattr(config, "rope_scaling", None) or {})
    base = params.get("rope_theta", getattr(config, "rope_theta", 10000.0))
    writer.add_rope_freq_base(float(base))
    kind = params.get("rope_type", params.get("type", "default"))
    if kind == "default":
        return None
    if kind == "linear":
        writer.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        writer.add_rope_scaling_factor(float(params["factor"]))
        return None
    if kind == "llama3":
        # Llama 3.1's rule: wavelengths under old_context/high_freq_factor keep their frequency, those over
        # old_context/low_freq_factor are divided by `factor`, and the ones between blend the two smoothly.
        factor, low, high = params["factor"], params["low_freq_factor"], params["high_freq_factor"]
        old = params["original_max_position_embeddings"]
        freqs = 1.0 / base ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
        divisors = []
        for freq in freqs:
            wavelen = 2 * math.pi / freq
            if wavelen < old / high:
                divisors.append(1.0)
            elif wavelen > old / low:
                divisors.append(factor)
            else:
                smooth = (old / wavelen - low) / (high - low)
                divisors.append(1 / ((1 - smooth) / factor + smooth))
        return np.array(divisors, dtype=np.float32)
    raise ExportError(f"RoPE scaling `{kind}` is not one this export writes (default, linear, llama3)",
                      "Export with --format merged and convert with llama.cpp's convert_hf_to_gguf.py.")


def _add_tokenizer(writer: Any, tokenizer: Any, vocab: Vocab, stop_ids: list[int]) -> None:
    import gguf

    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(vocab.pre)
    writer.add_token_list(vocab.tokens)
    writer.add_token_types(vocab.types)
    writer.add_key_value(gguf.Keys.Tokenizer.MERGES, vocab.merges, gguf.GGUFValueType.ARRAY,
                         sub_type=gguf.GGUFValueType.STRING)
    probe = tokenizer("a")["input_ids"]
    bos, eos, pad = tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id
    if bos is not None:
        writer.add_bos_token_id(bos)
    writer.add_add_bos_token(bool(probe) and bos is not None and probe[0] == bos)
    writer.add_add_eos_token(bool(probe) and eos is not None and probe[-1] == eos and len(probe) > 1)
    if eos is not None:
        writer.add_eos_token_id(eos)
    if pad is not None:
        writer.add_pad_token_id(pad)
    end_of_turn = [i for i in stop_ids if i != eos]
    if end_of_turn:
        writer.add_eot_token_id(end_of_turn[0])
    template = tokenizer.chat_template
    if isinstance(template, dict):  # named templates: "default" becomes tokenizer.chat_template, others .NAME
        template = [{"name": name, "template": text} for name, text in template.items()]
    if template:
        writer.add_chat_template(template)


def _writer(path: Path, arch_name: str) -> Any:
    """gguf's writer, able to write an empty array: llama.cpp refuses a BPE vocabulary without a merges key, and a
    merge-free (pure byte) tokenizer has none to list, which gguf's writer would refuse to encode."""
    import gguf

    class Writer(gguf.GGUFWriter):
        def _pack_val(self, val: Any, vtype: Any, add_vtype: bool, sub_type: Any = None) -> bytes:
            if vtype == gguf.GGUFValueType.ARRAY and sub_type is not None and len(val) == 0:
                head = self._pack("I", vtype) if add_vtype else b""
                return bytes(head + self._pack("I", sub_type) + self._pack("Q", 0))
            return super()._pack_val(val, vtype, add_vtype, sub_type)

    return Writer(str(path), arch_name)
