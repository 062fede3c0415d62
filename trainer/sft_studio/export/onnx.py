"""`export-onnx CHECKPOINT`: write CHECKPOINT/onnx/model.onnx for in-editor chat with transformers.js.

The graph has the decoder-with-past layout transformers.js drives: inputs `input_ids`, `attention_mask`,
`position_ids` and `past_key_values.{i}.key|value` (batch, kv_heads, past_len, head_dim); outputs
`logits` and `present.{i}.key|value`. One graph serves the first step (past_len = 0) and every later
step, so transformers.js can generate with its KV cache. The checkpoint's config, generation config and
tokenizer files stay where they are: transformers.js reads them from CHECKPOINT and the graph from
CHECKPOINT/onnx/.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from ..errors import OnnxExportError

ONNX_SUBDIR = "onnx"
ONNX_FILE = "model.onnx"
# 17 has every op the traced Llama needs (LayerNormalization is not used; RMSNorm is traced as ops).
OPSET = 17


def _past_names(layers: int) -> list[str]:
    return [f"past_key_values.{i}.{kind}" for i in range(layers) for kind in ("key", "value")]


def _present_names(layers: int) -> list[str]:
    return [f"present.{i}.{kind}" for i in range(layers) for kind in ("key", "value")]


def _decoder_with_past(model: Any, layers: int) -> Any:
    """Wraps the HF model so the cache travels as flat tensors, the form an ONNX graph can carry."""
    import torch
    from transformers import DynamicCache

    class DecoderWithPast(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, position_ids, *past):  # noqa: ANN001 - traced tensors
            cache = DynamicCache()
            for i in range(layers):
                cache.update(past[2 * i], past[2 * i + 1], i)
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                             past_key_values=cache, use_cache=True)
            present = []
            for layer in out.past_key_values.layers:
                present += [layer.keys, layer.values]
            return (out.logits, *present)

    return DecoderWithPast()


def _load_checkpoint(checkpoint: Path, trust_remote_code: bool) -> Any:
    if not checkpoint.is_dir():
        raise OnnxExportError(f"{checkpoint}: not a folder; pass a checkpoint folder such as RUN_DIR/checkpoints/step-600")
    if not (checkpoint / "config.json").is_file():
        raise OnnxExportError(f"{checkpoint}: no config.json; pass a Hugging Face checkpoint folder "
                              "(RUN_DIR/checkpoints/step-N)")
    import torch
    from transformers import AutoModelForCausalLM

    # Eager attention traces to plain ops; the float32 copy keeps ONNX Runtime's CPU kernels exact.
    model = AutoModelForCausalLM.from_pretrained(str(checkpoint), attn_implementation="eager",
                                                 dtype=torch.float32, trust_remote_code=trust_remote_code)
    return model.eval()


def _cache_shape(config: Any) -> tuple[int, int, int]:
    layers = getattr(config, "num_hidden_layers", None)
    heads = getattr(config, "num_key_value_heads", None) or getattr(config, "num_attention_heads", None)
    head_dim = getattr(config, "head_dim", None) or (config.hidden_size // config.num_attention_heads)
    if not layers or not heads:
        raise OnnxExportError(f"model type {config.model_type!r} has no num_hidden_layers/num_key_value_heads; "
                              "only decoder-only causal LMs with a per-layer key/value cache can be exported")
    return int(layers), int(heads), int(head_dim)


def export_onnx(checkpoint: str | os.PathLike[str], trust_remote_code: bool = False) -> Path:
    """Writes CHECKPOINT/onnx/model.onnx and returns its path."""
    import torch

    checkpoint = Path(checkpoint).resolve()
    model = _load_checkpoint(checkpoint, trust_remote_code)
    layers, heads, head_dim = _cache_shape(model.config)
    # Trace with a non-empty past and several new tokens, so no shape is specialised to 0 or 1.
    batch, new, past_len = 2, 3, 4
    input_ids = torch.zeros((batch, new), dtype=torch.long)
    attention_mask = torch.ones((batch, past_len + new), dtype=torch.long)
    position_ids = torch.arange(past_len, past_len + new).expand(batch, new)
    past = [torch.zeros((batch, heads, past_len, head_dim)) for _ in range(2 * layers)]

    input_names = ["input_ids", "attention_mask", "position_ids", *_past_names(layers)]
    output_names = ["logits", *_present_names(layers)]
    dynamic_axes = {
        "input_ids": {0: "batch_size", 1: "sequence_length"},
        "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
        "position_ids": {0: "batch_size", 1: "sequence_length"},
        "logits": {0: "batch_size", 1: "sequence_length"},
        **{name: {0: "batch_size", 2: "past_sequence_length"} for name in _past_names(layers)},
        **{name: {0: "batch_size", 2: "total_sequence_length"} for name in _present_names(layers)},
    }
    out_dir = checkpoint / ONNX_SUBDIR
    out_dir.mkdir(exist_ok=True)
    target = out_dir / ONNX_FILE
    partial = out_dir / f".{ONNX_FILE}.partial"
    with warnings.catch_warnings(), torch.no_grad():
        # The tracer warns about every Python branch on shapes; the cache code's branches are
        # shape-independent once past_len > 0, which the trace inputs guarantee.
        warnings.simplefilter("ignore")
        torch.onnx.export(_decoder_with_past(model, layers), (input_ids, attention_mask, position_ids, *past),
                          str(partial), input_names=input_names, output_names=output_names,
                          dynamic_axes=dynamic_axes, opset_version=OPSET, dynamo=False)
    # Renamed only when complete, so a reader never sees half a graph.
    os.replace(partial, target)
    return target


def cmd_export_onnx(checkpoint: str, trust_remote_code: bool) -> int:
    """CLI body: prints the written path, or one clear error line; returns the exit code."""
    import sys

    try:
        path = export_onnx(checkpoint, trust_remote_code)
    except OnnxExportError as exc:
        print(f"export-onnx: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:
        print(f"export-onnx: {exc}; install the trainer's requirements "
              "(pip install -c trainer/constraints.txt -r trainer/requirements.txt)", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0
