"""The trainer's error classes that one module raises and another catches, in one module that imports nothing of
the package: any module can raise or catch any of them without importing the module that raises it (which is how
model/lora.py and model/load.py once imported each other). Exceptions a module raises and catches itself (train/recipe.py's
NothingToResume, data/readers.py's _LeaveToWholeText) stay in that module."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .source_map import Position


@dataclass(frozen=True)
class ConfigIssue:
    """One problem found in a config, located in the file (or in a `--set` override)."""

    where: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        if self.line <= 0:
            return f"{self.where}: {self.message}"
        return f"{self.where}:{self.line}:{self.column}: {self.message}"


class ConfigError(Exception):
    """A config that does not validate (config.py); `issues` in file order, `--set` overrides last."""

    def __init__(self, issues: list[ConfigIssue]):
        super().__init__("\n".join(str(i) for i in issues))
        self.issues = issues

    def report(self) -> None:
        """Each issue, then how many, on stderr: what `train`, `estimate` and `submit` say before exiting 2."""
        for issue in self.issues:
            print(issue, file=sys.stderr)
        count = len(self.issues)
        print(f"{count} problem{'s' if count != 1 else ''} in the config; nothing was started.", file=sys.stderr)


class SourceError(ValueError):
    """The file is not parseable YAML/JSON at all (source_map.py)."""

    def __init__(self, path: str, position: Position, message: str):
        super().__init__(f"{path}:{position.line}:{position.column}: {message}")
        self.path = path
        self.position = position
        self.message = message


class DataError(Exception):
    """A bad dataset row or file; the message names file:line and the fix."""

    def __init__(self, message: str, hint: str = "Fix the row or remove it from the file."):
        super().__init__(message)
        self.hint = hint


class HubError(Exception):
    """A Hub model that cannot be had (model/hub.py): the message says what happened, the hint what to do."""

    def __init__(self, message: str, hint: str):
        super().__init__(message)
        self.message = message
        self.hint = hint


class ModelSetupError(ValueError):
    """A config value that does not fit the loaded model (e.g. more frozen layers than the model has)."""


class TokenizerError(ModelSetupError):
    """A model folder whose tokenizer files cannot be read (model.load_tokenizer): the message names the file (and
    line:column for broken JSON); `hint` says how to repair it. A ModelSetupError, so every command that reports
    those reports this too."""

    hint = ("Save the tokenizer again next to the model (tokenizer.save_pretrained(folder) in Python), or copy the "
            "tokenizer files from the model's source.")


class CheckpointError(Exception):
    """A checkpoint that cannot be resumed from; the message names the file and why."""


class CheckpointWriteError(Exception):
    """Writing a checkpoint failed (full disk, lost permission); its temporary folder is already removed."""


class RunFolderLocked(Exception):
    """Another live trainer holds the run folder (run/run_lock.py); the message names it and says what to do."""


class ExportError(Exception):
    """An export that cannot go on (export/command.py and its formats): `message` says what happened, `hint` what to do,
    `kind` lets the editor offer the matching action (`input`, `token`, `hub`, `network`)."""

    def __init__(self, message: str, hint: str, kind: str = "input"):
        super().__init__(message)
        self.message, self.hint, self.kind = message, hint, kind


class OnnxExportError(Exception):
    """A checkpoint that export/onnx.py cannot trace; the message says what to do."""
