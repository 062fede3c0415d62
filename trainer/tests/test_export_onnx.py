"""export-onnx: the graph's layout is the one transformers.js drives, and it computes the PyTorch model's logits.

The greedy-equality check through transformers.js itself lives in test/unit/insight.chat.unit.test.ts.
"""

from __future__ import annotations

import shutil

import numpy as np
import onnx
import pytest
import torch
from onnx.reference import ReferenceEvaluator
from transformers import AutoModelForCausalLM

from sft_studio.cli import main
from sft_studio.errors import OnnxExportError
from sft_studio.export.onnx import export_onnx

from .conftest import MODEL

LAYERS = 4


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    checkpoint = tmp_path_factory.mktemp("ckpt") / "step-1"
    shutil.copytree(MODEL, checkpoint)
    return checkpoint, export_onnx(checkpoint)


def test_graph_has_the_decoder_with_past_layout(exported):
    checkpoint, path = exported
    assert path == checkpoint / "onnx" / "model.onnx"
    graph = onnx.load(str(path)).graph
    inputs = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in graph.input}
    outputs = {o.name: [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim] for o in graph.output}
    past = [f"past_key_values.{i}.{k}" for i in range(LAYERS) for k in ("key", "value")]
    assert list(inputs) == ["input_ids", "attention_mask", "position_ids", *past]
    assert list(outputs) == ["logits", *[f"present.{i}.{k}" for i in range(LAYERS) for k in ("key", "value")]]
    assert inputs["past_key_values.0.key"] == ["batch_size", 4, "past_sequence_length", 48]
    assert outputs["present.3.value"] == ["batch_size", 4, "total_sequence_length", 48]
    assert outputs["logits"] == ["batch_size", "sequence_length", 261]
    assert not list(checkpoint.glob("onnx/.*partial"))


def test_graph_computes_the_pytorch_logits_with_and_without_past(exported):
    checkpoint, path = exported
    model = AutoModelForCausalLM.from_pretrained(str(checkpoint)).eval()
    session = ReferenceEvaluator(str(path))
    ids = torch.tensor([[2, 15, 88, 116, 119, 121, 1, 15, 3, 15]])
    empty = {f"past_key_values.{i}.{k}": np.zeros((1, 4, 0, 48), np.float32) for i in range(LAYERS) for k in ("key", "value")}
    # Prefill 7 tokens from an empty cache, then 3 more with the cache it returned: the two calls
    # transformers.js makes, against one full PyTorch forward.
    first = session.run(None, {"input_ids": ids[:, :7].numpy(), "attention_mask": np.ones((1, 7), np.int64),
                               "position_ids": np.arange(7)[None], **empty})
    present = dict(zip(empty, first[1:]))
    second = session.run(None, {"input_ids": ids[:, 7:].numpy(), "attention_mask": np.ones((1, 10), np.int64),
                                "position_ids": np.arange(7, 10)[None], **present})
    with torch.no_grad():
        want = model(ids).logits[0].numpy()
    got = np.concatenate([first[0][0], second[0][0]])
    assert np.abs(got - want).max() < 1e-4
    assert (got.argmax(-1) == want.argmax(-1)).all()


def test_cli_refuses_a_folder_without_a_checkpoint(tmp_path, capsys):
    assert main(["export-onnx", str(tmp_path)]) == 2
    assert "no config.json" in capsys.readouterr().err
    with pytest.raises(OnnxExportError, match="not a folder"):
        export_onnx(tmp_path / "missing")
