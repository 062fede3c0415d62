"""Command line: `python -m sft_studio train|estimate|validate|download ...`."""

from __future__ import annotations

import argparse
import atexit
import json
import os
import sys
from pathlib import Path
from typing import Callable

from .config import MODEL_COMMIT, RunConfig, config_from_resolved, load_config
from .errors import ConfigError, DataError, HubError, RunFolderLocked
from .export.command import add_export_command
from .inference import add_inference_commands
from .launch.slurm import add_slurm_commands
from .launch.sweep import add_sweep_command
from .model import hub
from .run import run_lock
from .run.events import record_failure
from .run.run_folder import new_run_dir

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def cmd_validate(args: argparse.Namespace) -> int:
    try:
        load_config(args.config, args.set)
    except ConfigError as exc:
        for issue in exc.issues:
            print(issue)
        return EXIT_BAD_INPUT
    print(f"{args.config}: ok")
    return EXIT_OK


def cmd_train(args: argparse.Namespace) -> int:
    from .run.control import mark_start

    mark_start()
    if args.resume:
        return _resume(args)
    if not args.config:
        print("train needs a CONFIG (or --resume RUN_DIR)", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        cfg, config_path = load_config(args.config, args.set)
    except ConfigError as exc:
        if args.output_dir and not args.dry_run:
            _record_config_error(Path(args.output_dir), exc)
        return _config_error(exc, args.json)
    if args.dry_run:
        return _dry_run(cfg, args.json)
    run_dir = Path(args.output_dir).resolve() if args.output_dir else new_run_dir(cfg)
    from .train.distributed import relaunch_if_needed

    if (refused := _claim(run_dir, cfg)) is not None:
        return refused
    try:
        source = _fetch_model(cfg, config_path, run_dir)
    except HubError as exc:
        return _hub_failure(run_dir, exc)
    overrides = [arg for kv in args.set for arg in ("--set", kv)]
    launched = relaunch_if_needed(cfg, ["train", str(config_path), "--output-dir", str(run_dir), *overrides], run_dir)
    if launched is not None:
        return launched
    print(f"run directory: {run_dir}", flush=True)
    from .train.recipe import run_training  # torch loads here, not for `validate`

    return run_training(cfg, config_path, run_dir, model=source)


def _claim(run_dir: Path, cfg: RunConfig) -> int | None:
    """Lock the run folder before anything is written to it. The lock is this process's, and stays valid when it
    replaces itself with torchrun (same pid, same start time), whose rank 0 adopts it. The machines of a hostfile
    run all start this command on one shared folder: there rank 0 alone takes the lock, once the ranks have met."""
    from .train.distributed import under_torchrun

    if under_torchrun() or cfg.hostfile is not None:
        return None
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        run_lock.acquire(run_dir)
    except RunFolderLocked as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    # Released when this process ends without training (a failed Hub fetch); an exec into torchrun skips it.
    atexit.register(run_lock.release, run_dir)
    return None


def _fetch_model(cfg: RunConfig, config_path: Path, run_dir: Path, commit: str | None = None) -> hub.ModelSource | None:
    """Fetch a Hub model into the cache before training starts, once for all processes, with its progress in the
    run's events and on stderr. None for a local folder, or in a torchrun worker (its launcher fetched the model).
    """
    from .run.events import EventWriter, StatusFile
    from .train.distributed import needs_launcher, under_torchrun

    if hub.source_for(cfg) is not None or under_torchrun():
        return None
    run_dir.mkdir(parents=True, exist_ok=True)
    events = EventWriter(run_dir / "events.jsonl")
    # A heartbeat while the model downloads, so the extension sees a starting run rather than a silent one.
    status = StatusFile(run_dir / "status.json", run_name=cfg.run_name, config_path=str(config_path))
    try:
        source = hub.resolve(cfg, commit=commit, progress=hub.reporters(
            hub.ProgressLine(), lambda p: events.emit("download", **p.fields())))
    finally:
        status.close("starting")
        events.close()
    if source.commit and needs_launcher(cfg):
        os.environ[hub.COMMIT_ENV] = source.commit  # the workers torchrun starts load exactly this commit
    return source


def _hub_failure(run_dir: Path, exc: HubError) -> int:
    print(f"error (config): {exc.message}\nhint: {exc.hint}", file=sys.stderr)
    record_failure(run_dir, exc.message, exc.hint)
    return EXIT_BAD_INPUT


def _dry_run(cfg: RunConfig, as_json: bool) -> int:
    from .estimate.dry_run import describe, dry_run

    return _print_report(lambda: dry_run(_without_weights(cfg)), describe, as_json)


def _without_weights(cfg: RunConfig) -> RunConfig:
    """The config with its model read from a local folder; a Hub model's config and tokenizer (no weights) are
    fetched for the dry run and the estimate, which build the model on the meta device."""
    return hub.loading_config(cfg, hub.resolve(cfg, weights=False, progress=hub.ProgressLine()))


def cmd_estimate(args: argparse.Namespace) -> int:
    try:
        cfg, _ = load_config(args.config, args.set)
    except ConfigError as exc:
        return _config_error(exc, args.json)
    from .estimate.memory_report import describe, memory_report

    return _print_report(lambda: memory_report(_without_weights(cfg)), describe, args.json)


def _config_error(exc: ConfigError, as_json: bool) -> int:
    exc.report()
    if as_json:
        print(json.dumps({"errors": [str(i) for i in exc.issues]}))
    return EXIT_BAD_INPUT


def _print_report(build: Callable[[], dict], describe: Callable[[dict], list[str]], as_json: bool) -> int:
    """A report for people, then (with --json) the same report as the last line of stdout; data errors exit 2."""
    try:
        report = build()
    except (DataError, HubError) as exc:
        print(f"{exc}\nhint: {exc.hint}", file=sys.stderr)
        if as_json:
            print(json.dumps({"error": str(exc), "hint": exc.hint}))
        return EXIT_BAD_INPUT
    print("\n".join(describe(report)), flush=True)
    if as_json:
        print(json.dumps(report))
    return EXIT_OK


def _resume(args: argparse.Namespace) -> int:
    run_dir = Path(args.resume).resolve()
    resolved = run_dir / "config.resolved.json"
    if args.config or args.set or args.output_dir:
        print("--resume RUN_DIR takes no config, --set or --output-dir: the run keeps its own config", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not resolved.is_file():
        print(f"{run_dir} is not a run folder (no config.resolved.json); pass the folder of the run to resume",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    recorded = json.loads(resolved.read_text(encoding="utf-8"))
    cfg = config_from_resolved(recorded)
    status_path = run_dir / "status.json"
    config_path = Path(json.loads(status_path.read_text()).get("config_path", resolved)) if status_path.is_file() \
        else resolved
    from .train.distributed import relaunch_if_needed

    if (refused := _claim(run_dir, cfg)) is not None:
        return refused
    try:
        source = _fetch_model(cfg, config_path, run_dir, commit=recorded.get(MODEL_COMMIT))
    except HubError as exc:
        return _hub_failure(run_dir, exc)
    launched = relaunch_if_needed(cfg, ["train", "--resume", str(run_dir)], run_dir)
    if launched is not None:
        return launched
    print(f"run directory: {run_dir}", flush=True)
    from .train.recipe import run_training

    return run_training(cfg, config_path, run_dir, resume=True, model=source)


def _record_config_error(run_dir: Path, exc: ConfigError) -> None:
    record_failure(run_dir, "\n".join(str(i) for i in exc.issues), f"Fix {exc.issues[0]} and start the run again.")


def cmd_export_onnx(args: argparse.Namespace) -> int:
    from .export.onnx import cmd_export_onnx as run  # torch and onnx load here only

    return run(args.checkpoint, args.trust_remote_code)


def cmd_download(args: argparse.Namespace) -> int:
    """Fetch a Hub model into the Hugging Face cache ahead of a run (token from HF_TOKEN)."""
    if not hub.is_hub_id(args.model):
        message, hint = f"`{args.model}` is not a Hub id", "Pass a Hub id such as Qwen/Qwen2.5-0.5B-Instruct (org/name)."
        print(f"{message}\nhint: {hint}", file=sys.stderr)
        if args.json:
            print(json.dumps({"error": message, "hint": hint}))
        return EXIT_BAD_INPUT
    fetched: list[hub.DownloadProgress] = []
    try:
        source = hub.fetch(args.model, args.revision, trust_remote_code=args.trust_remote_code,
                           progress=hub.reporters(hub.ProgressLine(), fetched.append))
    except HubError as exc:
        print(f"{exc.message}\nhint: {exc.hint}", file=sys.stderr)
        if args.json:
            print(json.dumps({"error": exc.message, "hint": exc.hint}))
        return EXIT_BAD_INPUT
    done = fetched[-1] if fetched else None
    print(f"{args.model} ({args.revision}, commit {source.commit}): {done.files_total if done else 0} files fetched, "
          f"cached at {source.folder}", flush=True)
    if args.json:
        print(json.dumps({"model": args.model, "revision": args.revision, "commit": source.commit,
                          "path": source.folder, "files_fetched": done.files_total if done else 0,
                          "bytes_fetched": done.bytes_total if done else 0}))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sft_studio", description="SFT Studio trainer")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train from a run config")
    train.add_argument("config", nargs="?", help="path to a *.sft.yaml or *.sft.json run config")
    train.add_argument("--resume", metavar="RUN_DIR",
                       help="continue RUN_DIR from its newest complete checkpoint, with its own config")
    train.add_argument("--output-dir", help="use exactly this folder as the run directory")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config field (YAML scalar); may repeat, the later value wins")
    train.add_argument("--dry-run", action="store_true",
                       help="report dataset statistics, trainable parameters, steps and estimated memory; do not train")
    train.add_argument("--json", action="store_true", help="with --dry-run: end stdout with one JSON object")
    train.set_defaults(func=cmd_train)
    estimate = sub.add_parser("estimate", help="peak memory per device: the config's, and full / frozen / LoRA "
                                               "fine-tuning at each precision, with and without gradient checkpointing")
    estimate.add_argument("config", help="path to a *.sft.yaml or *.sft.json run config")
    estimate.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                          help="override a config field (YAML scalar); may repeat, the later value wins")
    estimate.add_argument("--json", action="store_true", help="end stdout with one JSON object")
    estimate.set_defaults(func=cmd_estimate)
    validate = sub.add_parser("validate", help="check a run config; prints path:line:col: message per problem")
    validate.add_argument("config")
    validate.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    validate.set_defaults(func=cmd_validate)
    export = sub.add_parser("export-onnx", help="write CHECKPOINT/onnx/model.onnx for chatting in the editor "
                                                  "(the same as export --format onnx)")
    export.add_argument("checkpoint", help="a checkpoint folder, e.g. RUN_DIR/checkpoints/step-600")
    export.add_argument("--trust-remote-code", action="store_true",
                        help="allow model code shipped inside the checkpoint folder to run")
    export.set_defaults(func=cmd_export_onnx)
    download = sub.add_parser("download", help="fetch a Hugging Face Hub model into the cache ahead of a run "
                                                "(token from HF_TOKEN; HF_HOME / HF_HUB_CACHE say where)")
    download.add_argument("model", help="a Hub id, e.g. Qwen/Qwen2.5-0.5B-Instruct")
    download.add_argument("--revision", default="main", help="branch, tag or commit (default main)")
    download.add_argument("--trust-remote-code", action="store_true",
                          help="also fetch the repository's *.py model code")
    download.add_argument("--json", action="store_true", help="end stdout with one JSON object")
    download.set_defaults(func=cmd_download)
    add_inference_commands(sub)
    add_export_command(sub)
    add_slurm_commands(sub)
    add_sweep_command(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
