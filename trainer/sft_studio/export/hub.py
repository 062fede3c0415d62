"""`export CHECKPOINT --format hub --repo-id OWNER/NAME`: push a merged model or a LoRA adapter to the Hub.

The repository is created first (private unless --public), before any merging: a missing or read-only token,
or a namespace the token cannot write to, fails within a second instead of after minutes of work. A repository
of the same name the token can write to is updated with a new commit. What is pushed:
- `merged` (default): the standalone folder of `--format merged`, written to CHECKPOINT/merged (or --out) and
  kept there, with a model card naming the repository;
- `adapter`: the LoRA adapter alone, with the tokenizer, the chat template and a card; its adapter_config.json
  names the base by its Hub id, so `PeftModel.from_pretrained` finds it from anywhere. Only for a run whose
  base model came from the Hub.
The token is HF_TOKEN (the editor passes the one in its secret storage), else a `hf auth login` token.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

from ..errors import ExportError
from .source import ADAPTER_CONFIG, ExportSource

SET_TOKEN = "'SFT Studio: Set Hugging Face Token' (or HF_TOKEN in the environment)"
# Checkpoint files that are for resuming or were written by peft for a local folder, never for a reader.
_NOT_PUSHED = {"trainer_state.json", "trainer_state.safetensors", "complete.json", "README.md"}

Progress = Callable[[str], None]


def push_to_hub(source: ExportSource, repo_id: str, *, public: bool = False, what: str = "merged",
                out: Path | None = None, max_shard_size: str | None = None, dtype: str = "auto",
                progress: Progress = print) -> dict[str, Any]:
    from huggingface_hub import HfApi, get_token
    from huggingface_hub.utils import disable_progress_bars

    from ..model import hub

    if not hub.is_hub_id(repo_id):
        raise ExportError(f"`{repo_id}` is not a Hub repository id",
                          "Pass --repo-id OWNER/NAME, e.g. my-user/my-model.")
    if what == "adapter" and not source.adapter:
        raise ExportError(f"{source.checkpoint} holds a whole model, not a LoRA adapter",
                          "Push the merged model (--push merged, the default).")
    base_id = source.base_hub_id()[0] if what == "adapter" else None
    if what == "adapter" and base_id is None:
        raise ExportError(f"the adapter's base is a local model ({Path(source.base or '').name}), which no one who "
                          "downloads the adapter has", "Push the merged model instead (--push merged, the default).")
    token = get_token()
    if not token:
        raise ExportError("no Hugging Face token", f"Set a token with write access with {SET_TOKEN}; create one at "
                                                   f"{_endpoint()}/settings/tokens.", kind="token")
    disable_progress_bars()  # this command prints its own progress lines; the live display redraws one line
    api = HfApi(token=token)
    created = _create_repo(api, repo_id, private=not public, progress=progress)
    merged = None
    if what == "adapter":
        with tempfile.TemporaryDirectory(prefix="sft-studio-push-") as staging:
            folder = _stage_adapter(source, base_id, repo_id, Path(staging))
            files, size, commit = _upload(api, repo_id, folder, f"Upload the LoRA adapter{_at(source)}", progress)
    else:
        from .merged import DEFAULT_SHARD_SIZE, export_merged

        merged = export_merged(source, out, max_shard_size=max_shard_size or DEFAULT_SHARD_SIZE, dtype=dtype,
                               repo_id=repo_id, progress=progress)
        files, size, commit = _upload(api, repo_id, Path(merged["path"]), f"Upload the merged model{_at(source)}",
                                      progress)
    private = (not public) if created else _call(lambda: api.repo_info(repo_id).private, repo_id, "upload")
    if not created and private == public:
        progress(f"note: {repo_id} already existed and stays {'private' if private else 'public'}; change it in its "
                 "settings on the Hub")
    url = f"{api.endpoint}/{repo_id}"
    progress(f"pushed {what} to {url}")
    return {"format": "hub", "repo_id": repo_id, "url": url, "pushed": what, "created": created,
            "private": bool(private), "commit": commit.oid, "files": files, "bytes": size,
            **({"path": merged["path"]} if merged else {})}


def _at(source: ExportSource) -> str:
    return f" (SFT Studio, step {source.step})" if source.step is not None else " (SFT Studio)"


def _upload(api: Any, repo_id: str, folder: Path, message: str, progress: Progress) -> tuple[list[str], int, Any]:
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    size = sum((folder / f).stat().st_size for f in files)
    progress(f"uploading {len(files)} files ({size / 1e6:.1f} MB) to {api.endpoint}/{repo_id}")
    commit = _call(lambda: api.upload_folder(repo_id=repo_id, folder_path=str(folder), commit_message=message),
                   repo_id, "upload")
    return files, size, commit


def _create_repo(api: Any, repo_id: str, private: bool, progress: Progress) -> bool:
    """True when the repository was created, False when it existed and the token can write to it."""
    from huggingface_hub.errors import HfHubHTTPError

    try:
        api.create_repo(repo_id, private=private, repo_type="model")
    except HfHubHTTPError as exc:
        if exc.response is not None and exc.response.status_code == 409:
            progress(f"{repo_id} exists; pushing a new commit to it")
            return False
        raise _explain(exc, repo_id, "create") from None
    except Exception as exc:  # noqa: BLE001 - transport errors of huggingface_hub's HTTP client; others re-raised
        raise _explain(exc, repo_id, "create") from None
    progress(f"created {'private' if private else 'public'} repository {repo_id}")
    return True


def _call(work: Callable[[], Any], repo_id: str, stage: str) -> Any:
    try:
        return work()
    except Exception as exc:  # noqa: BLE001 - explained when it is the Hub's or the network's, re-raised otherwise
        raise _explain(exc, repo_id, stage) from None


def _explain(exc: Exception, repo_id: str, stage: str) -> Exception:
    """huggingface_hub's exception as one message and the fix; anything else unchanged."""
    from huggingface_hub.errors import HfHubHTTPError

    owner = repo_id.split("/")[0]
    if _is_network(exc):
        return ExportError(f"cannot reach the Hub at {_endpoint()} ({exc})",
                           "Check the network connection (and HF_ENDPOINT or proxy settings), then export again.",
                           kind="network")
    if not isinstance(exc, HfHubHTTPError) or exc.response is None:
        return exc
    status = exc.response.status_code
    if status == 401:
        return ExportError("the Hub refused the token (401 Unauthorized): it is invalid or expired",
                           f"Set a valid token with write access with {SET_TOKEN}.", kind="token")
    if status == 403 and stage == "create":
        return ExportError(f"the token cannot create `{repo_id}`: the namespace `{owner}` belongs to another account "
                           f"or organisation, or the token is read-only",
                           f"Use a repo id under your own user name (or an organisation you can write to), or set a "
                           f"token with write access with {SET_TOKEN}.", kind="hub")
    if status in (403, 404):
        return ExportError(f"the Hub refused the upload to `{repo_id}` ({status}): it belongs to another account, or "
                           "the token cannot write to it",
                           f"Use a repo id under your own user name, or set a token with write access to `{owner}` "
                           f"with {SET_TOKEN}.", kind="hub")
    first = str(exc).splitlines()[0] if str(exc) else f"HTTP {status}"
    return ExportError(f"the Hub answered with an error for `{repo_id}`: {first}",
                       "Try again later; if it persists, check HF_ENDPOINT and the network's proxy settings.",
                       kind="hub")


def _is_network(exc: Exception) -> bool:
    # huggingface_hub's HTTP client raises its own TransportError family for refused connections and timeouts.
    return isinstance(exc, (ConnectionError, TimeoutError)) or any(
        cls.__name__ in ("TransportError", "TimeoutException") for cls in type(exc).__mro__)


def _stage_adapter(source: ExportSource, base_id: str, repo_id: str, folder: Path) -> Path:
    """The adapter, its tokenizer and a card in `folder`; adapter_config.json names the base by its Hub id."""
    from .merged import drop_loader_options, run_tokenizer
    from .model_card import render_card

    for path in source.checkpoint.iterdir():
        if path.is_file() and path.name not in _NOT_PUSHED:
            shutil.copy2(path, folder / path.name)
    config = json.loads((folder / ADAPTER_CONFIG).read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = base_id
    (folder / ADAPTER_CONFIG).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    # Saved again so the chat template carries the run's chat_template_kwargs as defaults, as a merged export does.
    run_tokenizer(source).save_pretrained(folder)
    drop_loader_options(folder / "tokenizer_config.json")
    (folder / "README.md").write_text(render_card(source, "adapter", repo_id=repo_id), encoding="utf-8")
    return folder


def _endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT.rstrip("/")
