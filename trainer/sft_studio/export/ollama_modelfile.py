"""The Ollama Modelfile written beside an exported GGUF: FROM, TEMPLATE, PARAMETER stop.

Ollama does not run Jinja: it formats chats with a Go template, picked from its own list when the GGUF's
`tokenizer.chat_template` is one it knows, else a bare `{{ .Prompt }}`, which a fine-tuned template never
matches. So the Modelfile carries a TEMPLATE derived from the chat template by rendering probe conversations:

- every turn renders as OPEN + content + CLOSE, where CLOSE depends on the role and OPEN on the role and on
  whether the turn is the first (a first turn may carry a preamble such as BOS text or a default system prompt,
  a later one a separator);
- the generation prompt is what rendering with add_generation_prompt appends after a last non-assistant turn.

These pieces are learnt from one- and two-turn renderings and then checked against longer conversations; the
TEMPLATE is written only when the model reproduces every check exactly. When it does not (templates that
rewrite content, branch on tools or on position beyond the first turn), the Modelfile says so in a comment and
leaves Ollama to the GGUF's own template. The stop parameters are the texts of the run's end-of-answer tokens.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

ROLES = ("system", "user", "assistant")
# Probe contents: plain words no template rewrites (no surrounding whitespace, no markup).
_WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
_CHECKS = [
    ["system", "user", "assistant", "user", "assistant", "user"],
    ["user", "assistant", "user", "assistant", "user"],
    ["system", "user"],
    ["user"],
    ["user", "assistant"],
]


@dataclass
class Modelfile:
    text: str
    template_derived: bool


@dataclass
class TurnModel:
    first_open: dict[str, str]
    later_open: dict[str, str]
    close: dict[str, str]
    generation_prompt: str

    def render(self, messages: list[dict[str, str]], add_generation_prompt: bool) -> str:
        out = []
        for i, message in enumerate(messages):
            opens = self.first_open if i == 0 else self.later_open
            out.append(opens[message["role"]] + message["content"] + self.close[message["role"]])
        if add_generation_prompt and messages and messages[-1]["role"] != "assistant":
            out.append(self.generation_prompt)
        return "".join(out)

    def go_template(self) -> str:
        """The same rendering as an Ollama (Go text/template) TEMPLATE: one line, literals as quoted strings so
        no whitespace trimming can touch them."""
        def by_role(pieces: dict[str, str]) -> str:
            branches = [f'eq .Role "{role}" }}}}{_go(pieces[role])}' for role in ROLES if role in pieces]
            return "{{ if " + "{{ else if ".join(branches) + "{{ end }}"

        return ("{{ range $i, $m := .Messages }}"
                "{{ $last := eq (len (slice $.Messages $i)) 1 }}"
                f"{{{{ if eq $i 0 }}}}{by_role(self.first_open)}{{{{ else }}}}{by_role(self.later_open)}{{{{ end }}}}"
                "{{ .Content }}"
                f"{by_role(self.close)}"
                f'{{{{ if and $last (ne .Role "assistant") }}}}{_go(self.generation_prompt)}{{{{ end }}}}'
                "{{ end }}")


def _go(text: str) -> str:
    """A Go string constant printing `text` (JSON escapes are Go escapes once non-ASCII stays literal)."""
    return "{{ " + json.dumps(text, ensure_ascii=False) + " }}" if text else ""


def derive_turn_model(render: Callable[[list[dict[str, str]], bool], str]) -> TurnModel | None:
    """The turn model of a template, or None when the template is not one (see the module docstring)."""
    def msgs(roles: list[str]) -> list[dict[str, str]]:
        return [{"role": role, "content": _WORDS[i]} for i, role in enumerate(roles)]

    def safe(roles: list[str], gen: bool) -> str | None:
        try:
            return render(msgs(roles), gen)
        except Exception:  # a template may refuse an order (raise_exception); that role is then left out
            return None

    first_open, close, later_open = {}, {}, {}
    for role in ROLES:
        text = safe([role], False)
        if text is None or text.count(_WORDS[0]) != 1:
            continue
        first_open[role], close[role] = text.split(_WORDS[0])
    if "user" not in first_open:
        return None
    for role in ROLES:
        text = safe(["user", role], False)
        if text is None or role not in close:
            continue
        head = first_open["user"] + _WORDS[0] + close["user"]
        if not text.startswith(head) or not text.endswith(_WORDS[1] + close[role]):
            continue
        later_open[role] = text[len(head):-len(_WORDS[1] + close[role])]
    if not {"user", "assistant"} <= later_open.keys():
        return None
    plain, prompted = safe(["user"], False), safe(["user"], True)
    if plain is None or prompted is None or not prompted.startswith(plain):
        return None
    model = TurnModel(first_open, later_open, close, prompted[len(plain):])
    for roles in _CHECKS:
        if any(role not in close for role in roles) or (roles[0] not in first_open):
            continue
        # After an assistant turn Ollama continues that answer, so only the other endings get a prompt.
        for gen in (False, True) if roles[-1] != "assistant" else (False,):
            if safe(roles, gen) != model.render(msgs(roles), gen):
                return None
    return model


def render_modelfile(gguf_name: str, tokenizer: Any, stop_ids: list[int]) -> Modelfile:
    """The Modelfile for `gguf_name` (a file in the same folder)."""
    def render(messages: list[dict[str, str]], gen: bool) -> str:
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=gen)

    model = derive_turn_model(render) if tokenizer.chat_template else None
    template = model.go_template() if model is not None else None
    lines = [f"FROM ./{gguf_name}", ""]
    if template is not None and '"""' not in template:
        lines += ["# The run's chat template (tokenizer.chat_template in the GGUF) as a Go template for Ollama.",
                  f'TEMPLATE """{template}"""']
    else:
        template = None
        lines += ["# No TEMPLATE: the run's chat template could not be rewritten as a Go template, so Ollama uses",
                  "# its own template for the GGUF's tokenizer.chat_template when it knows that template. llama.cpp",
                  "# (llama-cli, llama-server --jinja) reads the template from the GGUF itself."]
    lines.append("")
    lines += [f"PARAMETER stop {json.dumps(text, ensure_ascii=False)}"
              for text in dict.fromkeys(tokenizer.convert_ids_to_tokens(stop_ids))]
    return Modelfile("\n".join(lines) + "\n", template is not None)
