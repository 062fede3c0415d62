"""Hub datasets as training or validation data: `hf://datasets/ORG/NAME[@REVISION][/SUBSET][[SPLIT]]`.

`hf://datasets/` is the `datasets` library's own prefix for a dataset repository; `@REVISION` (a branch, tag or
commit; `/` written as `%2F`) is huggingface_hub's way of naming a revision in such a URL; `/SUBSET` names a
configuration as the Hub's dataset viewer does (`.../viewer/SUBSET/SPLIT`), and `[SPLIT]` is the split, written
as rows of it are named in messages: `hf://datasets/org/name[train] row 12`. The split defaults to `train` for
training data and `validation` for `validation_file`.

Rows come through `datasets.load_dataset` and its cache (HF_HOME / HF_DATASETS_CACHE), so a dataset loaded once
trains again with HF_HUB_OFFLINE=1; a token reaches the Hub as HF_TOKEN in the environment. `datasets` is imported
only when a config names a Hub dataset. The editor's validator applies the same grammar (src/config/dataSource.ts).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, Iterator
from urllib.parse import unquote

from ..errors import HubError

PREFIX = "hf://"
DATASETS_PREFIX = "hf://datasets/"
REFERENCE = re.compile(r"^hf://datasets/(?P<repo>[\w.-]+/[\w.-]+)(?:@(?P<revision>[^/@\[\]]+))?"
                       r"(?:/(?P<subset>[^/@\[\]]+))?(?:\[(?P<split>[\w.-]+)\])?$", re.ASCII)
SYNTAX = "hf://datasets/ORG/NAME, optionally followed by @REVISION, /SUBSET and [SPLIT]"
EXAMPLE = "hf://datasets/HuggingFaceH4/ultrachat_200k[train_sft]"


@dataclass(frozen=True)
class HubDataset:
    """One split of one subset of a Hub dataset repository at one revision."""

    repo: str
    split: str
    revision: str | None = None
    subset: str | None = None

    def __str__(self) -> str:
        revision = f"@{self.revision.replace('/', '%2F')}" if self.revision else ""
        subset = f"/{self.subset}" if self.subset else ""
        return f"{DATASETS_PREFIX}{self.repo}{revision}{subset}[{self.split}]"


def is_hub_reference(value: Any) -> bool:
    """Whether a data path is meant as a Hub dataset (it may still be malformed: see `reference_problem`)."""
    return isinstance(value, str) and value.startswith(PREFIX)


def parse(value: str, default_split: str = "train") -> HubDataset | None:
    """The dataset a well-formed `hf://datasets/...` value names; None for anything else."""
    match = REFERENCE.match(value)
    if not match or match["repo"].startswith(("./", "../")):
        return None
    revision = unquote(match["revision"]) if match["revision"] else None
    return HubDataset(match["repo"], match["split"] or default_split, revision, match["subset"])


def reference_problem(value: str) -> str | None:
    """Why an `hf://` value is not a Hub dataset reference, or None when it is one."""
    if parse(value) is not None:
        return None
    if not value.startswith(DATASETS_PREFIX):
        return f"not a Hub dataset: only {DATASETS_PREFIX}ORG/NAME can be read from hf://"
    return f"not a Hub dataset reference: write {SYNTAX}, e.g. {EXAMPLE}"


def _offline() -> bool:
    from huggingface_hub import constants

    return constants.is_offline_mode()


def load_records(dataset: HubDataset, field: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(`hf://...[split] row N`, row) for every row of the split, N from 1; problems are HubErrors naming `field`.
    The split is loaded (memory-mapped by `datasets`) at once, its rows become dicts one at a time."""
    try:
        import datasets
    except ImportError:
        raise HubError(f"{field}: {dataset} is a Hub dataset, and the `datasets` package is not installed",
                       "Install the trainer's requirements (pip install -c trainer/constraints.txt "
                       "-r trainer/requirements.txt), or run *SFT Studio: Set Up Training Environment*.") from None
    datasets.logging.set_verbosity_error()
    datasets.disable_progress_bars()
    try:
        loaded = datasets.load_dataset(f"{DATASETS_PREFIX}{dataset.repo}", dataset.subset, split=dataset.split,
                                       revision=dataset.revision, token=os.environ.get("HF_TOKEN") or None)
    except Exception as exc:  # noqa: BLE001 - datasets raises many kinds; each becomes one message with its fix
        raise _load_failure(dataset, field, exc) from None
    where = f"{dataset} row"
    return ((f"{where} {i}", dict(record)) for i, record in enumerate(loaded, start=1))


_SPLIT = re.compile(r"Unknown split \"[^\"]*\"\. Should be one of \[([^\]]*)\]")
_SUBSETS = re.compile(r"(?:configurations in the cache: |Available configs in the cache: \[|Please pick one among the "
                      r"available configs: \[)([^\]\n]*)")


def _names(text: str) -> str:
    return ", ".join(name.strip().strip("'\"") for name in text.split(",") if name.strip())


def _load_failure(dataset: HubDataset, field: str, exc: Exception) -> HubError:
    text = str(exc)
    base = f"{DATASETS_PREFIX}{dataset.repo}"
    split = _SPLIT.search(text)
    if split:
        return HubError(f"{field}: {dataset} has no split `{dataset.split}` (it has: {_names(split[1])})",
                        f"Name the split in brackets, e.g. {base}[{_names(split[1]).split(', ')[0]}].")
    subsets = _SUBSETS.search(text)
    if subsets:
        which = f"no subset `{dataset.subset}`" if dataset.subset else "several subsets"
        first = _names(subsets[1]).split(", ")[0]
        return HubError(f"{field}: {dataset} has {which} (it has: {_names(subsets[1])})",
                        f"Name the subset after the dataset, e.g. {base}/{first}[{dataset.split}].")
    if _offline():
        return HubError(f"{field}: {dataset} is not in the Hugging Face datasets cache, and HF_HUB_OFFLINE=1 "
                        f"keeps the Hub out of reach ({type(exc).__name__}: {text.splitlines()[0] if text else ''})",
                        "Load it once with a network (unset HF_HUB_OFFLINE; HF_HOME must be the same), or fix the "
                        "dataset name in the config.")
    if "gated" in text or "authenticated" in text or "doesn't exist" in text or "cannot be accessed" in text:
        return HubError(f"{field}: {dataset} does not exist on the Hub, or it is private or gated and the token "
                        f"cannot read it ({text.splitlines()[0]})",
                        f"Check the name at https://huggingface.co/datasets/{dataset.repo}; for private or gated "
                        "datasets accept its terms there and set a token (*SFT Studio: Set Hugging Face Token*, "
                        "or HF_TOKEN).")
    return HubError(f"{field}: {dataset} could not be loaded ({type(exc).__name__}: {text.splitlines()[0] if text else ''})",
                    "Check the network and the dataset name; a dataset loaded once trains offline with "
                    "HF_HUB_OFFLINE=1.")


__all__ = ["HubDataset", "is_hub_reference", "parse", "reference_problem", "load_records", "SYNTAX", "EXAMPLE"]
