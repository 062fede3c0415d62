"""`export CHECKPOINT --format merged`: a standalone Hugging Face model folder that plain transformers loads.

A LoRA adapter is merged into its base weights (the base loaded unquantised, also after QLoRA); a full
fine-tuning checkpoint is re-saved. Either way the folder holds safetensors weights (sharded above
`max_shard_size`), the tokenizer with the chat template the run trained with, a generation_config.json whose
`eos_token_id` lists the template's end-of-turn token beside EOS (what `generate` and `chat` stop at), and a
model card. No adapter_config.json, and no code of this project: `AutoModelForCausalLM.from_pretrained(folder)`
is all a reader needs.

The folder is written beside its destination under a temporary name and renamed into place, so a reader never
sees half an export; an interrupted export leaves only that temporary folder, which the next one clears.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from ..errors import ExportError
from .source import ExportSource

MERGED = "merged"
# The trainer's merge_lora_on_save writes CHECKPOINT/merged as part of the checkpoint; exports then go here.
MERGED_BESIDE_TRAINERS = "merged-export"
DEFAULT_SHARD_SIZE = "5GB"
DTYPES = ("auto", "float32", "bfloat16", "float16")
# Options save_pretrained records because this copy was read with them; they describe the reading, not the
# tokenizer, and a Hub reader must not inherit `local_files_only`.
_LOADER_KEYS = ("local_files_only", "is_local")

Progress = Callable[[str], None]


def default_out(source: ExportSource) -> Path:
    """CHECKPOINT/merged, or CHECKPOINT/merged-export when the trainer wrote CHECKPOINT/merged itself: that
    folder is listed in the checkpoint's complete.json, and changing it would make the checkpoint unresumable."""
    marker = source.checkpoint / "complete.json"
    try:
        listed = json.loads(marker.read_text(encoding="utf-8")).get("files", {}) if marker.is_file() else {}
    except (OSError, ValueError):
        listed = {}
    return source.checkpoint / (MERGED_BESIDE_TRAINERS if any(k.startswith(f"{MERGED}/") for k in listed) else MERGED)


def export_merged(source: ExportSource, out: Path | None = None, *, max_shard_size: str = DEFAULT_SHARD_SIZE,
                  dtype: str = "auto", repo_id: str | None = None, progress: Progress = print) -> dict[str, Any]:
    """Writes the standalone folder and returns what --json reports about it."""
    from .model_card import render_card

    out = (out or default_out(source)).resolve()
    _check_destination(out, source.checkpoint)
    model = merged_model(source, dtype, progress)
    tokenizer = run_tokenizer(source)
    stop_ids = end_of_answer_ids(source, tokenizer)
    generation = model.generation_config
    if stop_ids:
        generation.eos_token_id = stop_ids if len(stop_ids) > 1 else stop_ids[0]
    if tokenizer.pad_token_id is not None:
        generation.pad_token_id = tokenizer.pad_token_id
    progress(f"writing safetensors (shards of at most {max_shard_size}), tokenizer and generation config")
    with staged(out) as tmp:
        model.save_pretrained(tmp, max_shard_size=max_shard_size)
        generation.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        drop_loader_options(tmp / "tokenizer_config.json")
        (tmp / "README.md").write_text(render_card(source, "merged", repo_id=repo_id), encoding="utf-8")
    files = sorted(p.name for p in out.iterdir() if p.is_file())
    weights = [name for name in files if name.endswith(".safetensors")]
    size = sum((out / name).stat().st_size for name in files)
    plural = "s" if len(weights) != 1 else ""
    progress(f"wrote {out} ({len(weights)} safetensors file{plural}, {size / 1e6:.1f} MB in all)")
    return {"format": "merged", "path": str(out), "source": "lora" if source.adapter else "full",
            "files": files, "shards": len(weights), "bytes": size, "dtype": str(model.dtype).removeprefix("torch."),
            "eos_token_id": stop_ids}


def _check_destination(out: Path, checkpoint: Path) -> None:
    """The export replaces `out` whole, so `out` may only be new or an earlier export: never the checkpoint, a
    folder holding it, or a folder of other files."""
    if checkpoint == out or checkpoint.is_relative_to(out):
        raise ExportError(f"--out {out} holds the checkpoint itself, which the export would replace",
                          "Pass a new folder, or leave --out out (CHECKPOINT/merged).")
    if out.is_dir() and any(out.iterdir()):
        names = {p.name for p in out.iterdir()}
        earlier = "config.json" in names and any(n.endswith(".safetensors") for n in names) and \
            not names & {"adapter_config.json", "complete.json", "trainer_state.json"}
        if not earlier:
            raise ExportError(f"{out} already holds files that are not an earlier export, and the export would "
                              "replace the folder whole", "Pass a new or empty folder with --out.")
    elif out.exists() and not out.is_dir():
        raise ExportError(f"{out} is a file", "Pass a folder with --out.")


def merged_model(source: ExportSource, dtype: str, progress: Progress) -> Any:
    from types import SimpleNamespace

    from transformers.utils import logging as hf_logging

    from ..data.classify import auto_model_class
    from ..model import hub

    hf_logging.disable_progress_bar()  # a bar per loaded file would bury the progress lines
    auto_class, task_kwargs = auto_model_class(SimpleNamespace(task=source.task,
                                                               num_labels=source.config.get("num_labels", 2)))
    extra = {"trust_remote_code": True} if source.trust_remote_code else {}
    if not source.adapter:
        progress(f"loading the fine-tuned model {source.checkpoint}")
        model = auto_class.from_pretrained(str(source.checkpoint), local_files_only=True, dtype=dtype,
                                           **task_kwargs, **extra)
        return model.eval()
    from peft import PeftModel

    base = hub.cached_folder(source.base)
    if not Path(base).is_dir():
        raise ExportError(f"the adapter's base model `{source.base}` is not on this machine",
                          f"Fetch it first (python -m sft_studio download {source.base}) or restore the folder.")
    progress(f"loading the base model {base}")
    model = auto_class.from_pretrained(base, local_files_only=True, dtype=dtype, **task_kwargs, **extra)
    progress("merging the LoRA adapter into the base weights")
    with warnings.catch_warnings():
        # peft asks about a transformers attribute deprecated in favour of another; nothing the user can act on.
        warnings.simplefilter("ignore", FutureWarning)
        # merge_and_unload adds each B·A·scale into its base weight and returns the plain transformers model.
        return PeftModel.from_pretrained(model, str(source.checkpoint)).merge_and_unload().eval()


def run_tokenizer(source: ExportSource) -> Any:
    """The checkpoint's tokenizer with the template the run trained with, kwargs included as its defaults."""
    from transformers import AutoTokenizer

    from ..data.chat_templates import apply_template_choice
    from ..model import hub

    folder = str(source.checkpoint)
    if not (source.checkpoint / "tokenizer_config.json").is_file() and source.adapter:
        folder = hub.cached_folder(source.base)
    extra = {"trust_remote_code": True} if source.trust_remote_code else {}
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, **extra)
    if source.task == "causal_lm":
        # The trainer set the run's template on the tokenizer before saving it; this only matters for a
        # checkpoint saved elsewhere without one, which then gets what the trainer would have used.
        apply_template_choice(tokenizer, None if tokenizer.chat_template else source.config.get("chat_template"))
        tokenizer.chat_template = _with_default_variables(tokenizer.chat_template, source.template_kwargs)
    return tokenizer


def end_of_answer_ids(source: ExportSource, tokenizer: Any) -> list[int]:
    """EOS and the template's one-token end-of-turn marker, learnt from the exported template as the trainer
    learns it; empty for a classifier."""
    if source.task != "causal_lm":
        return []
    from ..data.conversation import ConversationTokenizer
    from ..errors import DataError

    try:
        return ConversationTokenizer(tokenizer, tokenizer.model_max_length, completion_only=True).stop_token_ids()
    except DataError as exc:
        raise ExportError(str(exc), exc.hint) from None


def _with_default_variables(template: Any, variables: dict[str, Any]) -> Any:
    """The run's chat_template_kwargs as defaults written into the template: rendering it with no kwargs gives
    what the run trained on, and a caller passing one of them (e.g. enable_thinking) still wins."""
    if not variables or template is None:
        return template
    if isinstance(template, dict):
        return {name: _with_default_variables(text, variables) for name, text in template.items()}
    header = "".join(f"{{%- if {name} is not defined %}}{{%- set {name} = {_jinja_literal(value)} %}}{{%- endif %}}"
                     for name, value in variables.items() if name.isidentifier())
    return header + template


def _jinja_literal(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_jinja_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {_jinja_literal(v)}" for k, v in value.items()) + "}"
    raise ExportError(f"chat_template_kwargs holds a {type(value).__name__}, which a template cannot default to",
                      "Use strings, numbers, booleans, lists or mappings in chat_template_kwargs.")


def drop_loader_options(path: Path) -> None:
    config = json.loads(path.read_text(encoding="utf-8"))
    if any(key in config for key in _LOADER_KEYS):
        for key in _LOADER_KEYS:
            config.pop(key, None)
        path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


@contextmanager
def staged(out: Path) -> Iterator[Path]:
    """`with staged(out) as tmp:` fills `tmp` (a sibling of `out`), then swaps it in for `out` with renames;
    on any failure or interruption the temporary folder goes and `out` stays as it was."""
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    out.parent.mkdir(parents=True, exist_ok=True)
    _clear_leftovers(out)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.exists():
        os.replace(out, old)
        os.replace(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out)


def _clear_leftovers(out: Path) -> None:
    """Folders an export killed mid-way left beside `out`: a temporary one goes; an old one whose replacement
    never arrived is put back. Those of a live export (its pid still running) are left alone."""
    for child in out.parent.glob(f".{out.name}.*-*"):
        stage, _, pid = child.name[len(out.name) + 2:].rpartition("-")
        if stage not in ("tmp", "old") or not pid.isdigit() or _alive(int(pid)):
            continue
        if stage == "old" and not out.exists():
            os.replace(child, out)
        else:
            shutil.rmtree(child, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False
    if os.name == "nt":
        return True  # os.kill(pid, 0) would terminate the process there; leave another pid's folder alone
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True
