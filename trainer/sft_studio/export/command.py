"""`export CHECKPOINT --format merged|hub|onnx|gguf`: take a checkpoint to where models run.

Progress goes to stdout a line at a time (the editor shows each in its notification); with --json the last
line of stdout is one JSON object, the result or {"error", "hint", "kind"}. A problem the user can fix ends in
one line on stderr with the fix and exit 2 (1 when the network is down); SIGTERM (the editor's Cancel) stops
the export with nothing written at its destination and exit 130. torch and transformers load only here.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any

from ..errors import ExportError, OnnxExportError
from .merged import DEFAULT_SHARD_SIZE
from .source import ADAPTER_CONFIG, read_source

FORMATS = ("merged", "hub", "onnx", "gguf")
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_CANCELLED = 0, 1, 2, 130


def add_export_command(sub: Any) -> None:
    from .gguf import DEFAULT_GGUF_TYPE, GGUF_TYPES
    from .merged import DEFAULT_SHARD_SIZE, DTYPES

    export = sub.add_parser("export", help="a standalone merged model, a push to the Hugging Face Hub, the ONNX "
                                           "graph for chatting in the editor, or a GGUF file for llama.cpp and Ollama")
    export.add_argument("checkpoint", help="a checkpoint folder, e.g. RUN_DIR/checkpoints/step-600")
    export.add_argument("--format", choices=FORMATS, default="merged",
                        help="merged: LoRA merged into the base (or a full fine-tune), a folder plain transformers "
                             "loads; hub: push to the Hub; onnx: CHECKPOINT/onnx for the editor's chat; gguf: "
                             "model.gguf and an Ollama Modelfile for llama.cpp / Ollama (default merged)")
    export.add_argument("--out", help="merged: the folder to write (default CHECKPOINT/merged); gguf: the folder for "
                                      "model.gguf and Modelfile (default CHECKPOINT/gguf-TYPE)")
    export.add_argument("--gguf-type", choices=GGUF_TYPES, default=None,
                        help=f"gguf: the weights' type in the file (default {DEFAULT_GGUF_TYPE}; q8_0 is about half "
                             "the size of f16)")
    export.add_argument("--max-shard-size", default=DEFAULT_SHARD_SIZE,
                        help=f"largest safetensors file, e.g. 2GB (default {DEFAULT_SHARD_SIZE})")
    export.add_argument("--dtype", choices=DTYPES, default="auto",
                        help="weights' dtype in the export (default auto: the model's own)")
    export.add_argument("--repo-id", help="hub: OWNER/NAME of the repository to push to")
    export.add_argument("--public", action="store_true", help="hub: create the repository public (default private)")
    export.add_argument("--push", choices=("merged", "adapter"), default="merged",
                        help="hub: the merged model (default) or the LoRA adapter alone")
    export.add_argument("--trust-remote-code", action="store_true",
                        help="allow model code shipped with the checkpoint or its base to run")
    export.add_argument("--json", action="store_true", help="end stdout with one JSON object")
    export.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    def say(line: str) -> None:
        print(line, flush=True)

    def interrupted(*_: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupted)
    try:
        result = _export(args, say)
    except ExportError as exc:
        return _fail(exc, args.json)
    except ImportError as exc:
        return _fail(ExportError(str(exc), "Install the trainer's requirements (pip install -c trainer/constraints.txt "
                                           "-r trainer/requirements.txt)."), args.json)
    except KeyboardInterrupt:
        print("export cancelled; nothing was written at its destination", file=sys.stderr, flush=True)
        if args.json:
            print(json.dumps({"cancelled": True}), flush=True)
        return EXIT_CANCELLED
    finally:
        signal.signal(signal.SIGTERM, previous)
    if args.json:
        print(json.dumps(result), flush=True)
    return EXIT_OK


def _export(args: argparse.Namespace, say: Any) -> dict[str, Any]:
    hub_only = [flag for flag, given in (("--repo-id", args.repo_id), ("--public", args.public),
                                         ("--push", args.push != "merged")) if given]
    if args.format != "hub" and hub_only:
        raise ExportError(f"{', '.join(hub_only)} only apply to --format hub", "Add --format hub, or leave them out.")
    if args.format != "gguf" and args.gguf_type:
        raise ExportError("--gguf-type only applies to --format gguf", "Add --format gguf, or leave it out.")
    if args.format == "gguf" and (args.dtype != "auto" or args.max_shard_size != DEFAULT_SHARD_SIZE):
        raise ExportError("--dtype and --max-shard-size do not apply to --format gguf",
                          "Pick the file's type with --gguf-type instead.")
    if args.format == "hub" and not args.repo_id:
        raise ExportError("--format hub needs --repo-id OWNER/NAME", "Add --repo-id, e.g. my-user/my-model.")
    if args.format == "onnx":
        if args.out:
            raise ExportError("--out does not apply to --format onnx (the editor's chat reads CHECKPOINT/onnx)",
                              "Leave --out out.")
        return _onnx(args.checkpoint, args.trust_remote_code, say)
    source = read_source(args.checkpoint)
    if args.trust_remote_code:
        source.config["trust_remote_code"] = True
    out = Path(args.out) if args.out else None
    if args.format == "gguf":
        from .gguf import DEFAULT_GGUF_TYPE, export_gguf

        return export_gguf(source, out, gguf_type=args.gguf_type or DEFAULT_GGUF_TYPE, progress=say)
    if args.format == "merged":
        from .merged import export_merged

        return export_merged(source, out, max_shard_size=args.max_shard_size, dtype=args.dtype, progress=say)
    from .hub import push_to_hub

    return push_to_hub(source, args.repo_id, public=args.public, what=args.push, out=out,
                       max_shard_size=args.max_shard_size, dtype=args.dtype, progress=say)


def _onnx(checkpoint: str, trust_remote_code: bool, say: Any) -> dict[str, Any]:
    from .onnx import export_onnx

    if (Path(checkpoint) / ADAPTER_CONFIG).is_file():
        raise ExportError(f"{checkpoint} holds a LoRA adapter, and the ONNX graph is traced from a whole model",
                          f"Export it merged first (--format merged), then export {Path(checkpoint) / 'merged'} "
                          "to ONNX.")
    say(f"tracing {checkpoint} to ONNX")
    try:
        path = export_onnx(checkpoint, trust_remote_code)
    except OnnxExportError as exc:
        raise ExportError(str(exc), "Pass a checkpoint folder such as RUN_DIR/checkpoints/step-600.") from None
    say(f"wrote {path}")
    return {"format": "onnx", "path": str(path)}


def _fail(exc: ExportError, as_json: bool) -> int:
    print(f"export: {exc.message} — {exc.hint}", file=sys.stderr, flush=True)
    if as_json:
        print(json.dumps({"error": exc.message, "hint": exc.hint, "kind": exc.kind}), flush=True)
    return EXIT_FAILED if exc.kind == "network" else EXIT_BAD_INPUT
