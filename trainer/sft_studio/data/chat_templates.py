"""Which chat template a run uses: the config's choice, else the tokenizer's, else the bundled `plain` one.

The chosen template is set on the tokenizer before anything renders, so it is also what every checkpoint
saves and what generation, export and chat use later. The extension's token insight resolves it the same
way (src/insight/chatTemplates.ts) from the same files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

TEMPLATES_DIR = Path(__file__).resolve().parent / "chat_templates"
DEFAULT_TEMPLATE = "plain"


def bundled_names() -> list[str]:
    return sorted(p.stem for p in TEMPLATES_DIR.glob("*.jinja"))


def is_template_file(value: str) -> bool:
    return value.endswith(".jinja")


def template_text(choice: str) -> str:
    """The Jinja source of a bundled name or of a .jinja file (already resolved to an absolute path)."""
    path = Path(choice) if is_template_file(choice) else TEMPLATES_DIR / f"{choice}.jinja"
    return path.read_text(encoding="utf-8")


def apply_template_choice(tokenizer: Any, choice: str | None) -> None:
    """Give `tokenizer` the template the config asks for, or the default when it has none."""
    if choice:
        tokenizer.chat_template = template_text(choice)
    elif not getattr(tokenizer, "chat_template", None):
        tokenizer.chat_template = template_text(DEFAULT_TEMPLATE)
