"""Dataset row formats: the layouts public SFT datasets come in, each turned into one Conversation.

The TypeScript twin (src/insight/rowFormats.ts) follows these rules one for one, messages included,
because the editor's token counts must be the trainer's; test/fixtures/formats/ holds the rows and the
conversations both must produce.

Formats (`dataset_format`; the column names are the format's, `column_mapping` may point them elsewhere):
- alpaca: {instruction, input?, output, system?}; user = instruction, or instruction + "\\n\\n" + input
  when input is not blank; assistant = output.
- messages: OpenAI style {messages: [{role, content}, ...]}. `content` is a string or a list of parts
  [{type: "text", text}, ...] joined with ""; any other part is refused. An assistant turn with
  `tool_calls` may have no content (""). `weight: 0` on an assistant turn (OpenAI fine-tuning) = not trained.
- sharegpt: {conversations: [{from, value}, ...], system?}; `from` goes through the role mapping
  (human/user -> user, gpt/assistant -> assistant, system -> system, function_call -> assistant with its
  text kept, observation/tool -> tool).
- prompt_completion (TRL): `prompt` and `completion` both strings = plain (no chat template: the
  encoder trains the completion after the prompt); both lists of messages = conversational: messages =
  prompt + completion, and the prompt's assistant turns carry "train": False, so only the completion's
  assistant turns are trained.
- text: {text}; not a conversation, the encoder trains the text itself.
- auto: the first row's keys decide (detect_format), once per file; a row that only partly matches a
  format (alpaca without `output`) is taken to be in it, so the error names the missing field.
Every conversational format also reads: a `tools` column (a list of function schemas, or a JSON string of
one) passed to the chat template as `tools=`; a `system` column (non-blank) as the first message;
`system_prompt` (config) as the first message of every conversation that has no system message.
Turns keep `tool_calls`, `name`, `tool_call_id` and `reasoning_content` for the chat template.
`message_field_mapping` names the keys holding role and content inside turns (messages/sharegpt and the
message lists of prompt_completion); `role_mapping` maps dataset role names to system/user/assistant/tool,
merged over the defaults above, in every format with turns.
Contract with the encoder (conversation.py): an assistant message with "train": False is context, masked
like a user turn; Conversation.tools goes to apply_chat_template(tools=...); a plain prompt/completion is
encoded without the chat template.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

from ..errors import DataError
from .readers import Row

ROLES = ("system", "user", "assistant", "tool")
PASSTHROUGH_KEYS = ("tool_calls", "name", "tool_call_id", "reasoning_content")
DEFAULT_ROLE_MAPPING: Mapping[str, str] = {
    "human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "system": "system",
    "function_call": "assistant", "observation": "tool", "tool": "tool",
}
DEFAULT_MESSAGE_FIELDS: Mapping[str, Mapping[str, str]] = {
    "messages": {"role": "role", "content": "content"},
    "sharegpt": {"role": "from", "content": "value"},
    "prompt_completion": {"role": "role", "content": "content"},
}
# The keys that identify a format, and what each format expects, in the order detect_format tries them.
FORMAT_KEYS = (("messages", ("messages",)), ("sharegpt", ("conversations",)), ("prompt_completion", ("prompt", "completion")),
               ("alpaca", ("instruction", "output")), ("text", ("text",)))
FORMAT_SHAPES = (
    ("messages", '{"messages": [{"role": ..., "content": ...}, ...]}'),
    ("sharegpt", '{"conversations": [{"from": ..., "value": ...}, ...]}'),
    ("prompt_completion", '{"prompt": ..., "completion": ...}'),
    ("alpaca", '{"instruction": ..., "input"?: ..., "output": ...}'),
    ("text", '{"text": ...}'),
)


@dataclass(frozen=True)
class FormatOptions:
    """The config fields that shape conversations (`message_field_mapping`, `role_mapping`, `system_prompt`)."""

    message_field_mapping: Mapping[str, str] | None = None
    role_mapping: Mapping[str, str] | None = None
    system_prompt: str | None = None

    @classmethod
    def from_config(cls, cfg: Any) -> "FormatOptions":
        return cls(getattr(cfg, "message_field_mapping", None), getattr(cfg, "role_mapping", None),
                   getattr(cfg, "system_prompt", None))

    def fields(self, fmt: str) -> dict[str, str]:
        return {**DEFAULT_MESSAGE_FIELDS[fmt], **(self.message_field_mapping or {})}

    def roles(self) -> dict[str, str]:
        return {**DEFAULT_ROLE_MAPPING, **(self.role_mapping or {})}


@dataclass
class Conversation:
    """A row as the encoder takes it: chat messages (+ tools), or a plain prompt and completion."""

    messages: list[dict[str, Any]] | None
    tools: list[Any] | None = None
    prompt: str | None = None
    completion: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"messages": self.messages, "tools": self.tools, "prompt": self.prompt, "completion": self.completion}


def type_name(value: Any) -> str:
    return type(value).__name__


def quoted(value: Any) -> str:
    """A value as JSON writes it (the TypeScript twin uses JSON.stringify, so messages agree)."""
    return json.dumps(value, ensure_ascii=False)


def text_field(row: Row, key: str, required: bool = True) -> str:
    value = row.get(key)
    if value is None:
        if required:
            raise row.missing(key)
        return ""
    if not isinstance(value, str):
        raise DataError(f"{row.where}: field `{row.column(key)}` must be a string, got {type_name(value)}")
    return value


def alpaca_user_content(instruction: str, input_text: str) -> str:
    return instruction if not input_text.strip() else f"{instruction}\n\n{input_text}"


# ---------------------------------------------------------------------------------------------- detection
def _is_turn_list(value: Any, fields: Mapping[str, str]) -> bool:
    return (isinstance(value, list) and len(value) > 0
            and all(isinstance(turn, dict) and fields["role"] in turn for turn in value)
            and any(fields["content"] in turn for turn in value))


def row_format(row: Row, opts: FormatOptions | None = None) -> str | None:
    """The format a row's keys (through column_mapping) say it is in, or None."""
    opts = opts or FormatOptions()
    if _is_turn_list(row.get("messages"), opts.fields("messages")):
        return "messages"
    if _is_turn_list(row.get("conversations"), opts.fields("sharegpt")):
        return "sharegpt"
    if row.get("prompt") is not None and row.get("completion") is not None:
        return "prompt_completion"
    if row.get("instruction") is not None and row.get("output") is not None:
        return "alpaca"
    if row.get("text") is not None:
        return "text"
    return None


def _partial_format(row: Row) -> str | None:
    """The first format the row has (or column_mapping names) one of the identifying keys of: its errors say
    more about a broken row than "cannot tell"."""
    for fmt, keys in FORMAT_KEYS:
        if any(row.get(key) is not None or key in row.mapping for key in keys):
            return fmt
    return None


def detect_format(rows: list[Row], opts: FormatOptions | None = None) -> str:
    """`dataset_format: auto`: the format of the first row; every row of a file has the same layout. A row
    that matches no format fully but has some of one format's keys is taken to be in that format, so that
    encoding it names what is missing."""
    if not rows:
        raise DataError("no rows to tell the dataset format from", "Add at least one example.")
    first = rows[0]
    fmt = row_format(first, opts) or _partial_format(first)
    if fmt is None:
        keys = ", ".join(first.data) or "none"
        expected = "; ".join(f"{name} = {shape}" for name, shape in FORMAT_SHAPES)
        raise DataError(f"{first.where}: cannot tell the dataset format from the row's keys ({keys})",
                        f"Set `dataset_format` in the config, or point the format's columns at yours with "
                        f"`column_mapping`. Each format expects: {expected}.")
    return fmt


def resolve_format(fmt: str, rows: list[Row], opts: FormatOptions | None = None) -> str:
    """The config's `dataset_format`, with `auto` replaced by what the rows are."""
    return detect_format(rows, opts) if fmt == "auto" else fmt


# ---------------------------------------------------------------------------------------------- turns
def _field_fix(turn: dict[str, Any], fields: Mapping[str, str]) -> str:
    for role_key, content_key in (("role", "content"), ("from", "value")):
        if role_key in turn and content_key in turn and (role_key, content_key) != (fields["role"], fields["content"]):
            return f"Set `message_field_mapping: {{role: {role_key}, content: {content_key}}}` in the config."
    return ("Set `message_field_mapping: {role: ..., content: ...}` in the config to the keys your turns use "
            "for the speaker and the text.")


def _content(row: Row, label: str, turn: dict[str, Any], key: str, fields: Mapping[str, str]) -> str:
    value = turn.get(key)
    if value is None and turn.get("tool_calls") is not None:
        return ""
    if key not in turn:
        keys = ", ".join(turn) or "none"
        raise DataError(f"{row.where}: {label} has no `{key}` key (it has: {keys})", _field_fix(turn, fields))
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        raise DataError(f"{row.where}: {label}.{key} must be a string or a list of text parts, got {type_name(value)}")
    texts = []
    for j, part in enumerate(value):
        where = f"{label}.{key}[{j}]"
        if isinstance(part, dict) and part.get("type") not in (None, "text"):
            raise DataError(f"{row.where}: {where} is a part of type {quoted(part.get('type'))}; only text parts can be trained",
                            "Remove the non-text parts (images, audio, files) or the row.")
        if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
            raise DataError(f"{row.where}: {where} must be {{\"type\": \"text\", \"text\": string}}")
        texts.append(part["text"])
    return "".join(texts)


def _turn(row: Row, label: str, turn: Any, fields: Mapping[str, str], roles: Mapping[str, str]) -> dict[str, Any]:
    role_key, content_key = fields["role"], fields["content"]
    if not isinstance(turn, dict):
        raise DataError(f"{row.where}: {label} must be an object like {{\"{role_key}\": ..., \"{content_key}\": ...}}, "
                        f"got {type_name(turn)}")
    if role_key not in turn:
        keys = ", ".join(turn) or "none"
        raise DataError(f"{row.where}: {label} has no `{role_key}` key (it has: {keys})", _field_fix(turn, fields))
    name = turn[role_key]
    if not isinstance(name, str):
        raise DataError(f"{row.where}: {label}.{role_key} must be a string, got {type_name(name)}")
    role = roles.get(name)
    if role is None:
        raise DataError(f"{row.where}: {label} has role {quoted(name)}, which is not one of {', '.join(roles)}",
                        f"Map it in the config, e.g. `role_mapping: {{{name}: assistant}}` "
                        f"(targets: {', '.join(ROLES)}).")
    if role not in ROLES:
        raise DataError(f"{row.where}: role_mapping maps {quoted(name)} to {quoted(role)}",
                        f"Map roles to one of {', '.join(ROLES)} in `role_mapping`.")
    message: dict[str, Any] = {"role": role, "content": _content(row, label, turn, content_key, fields)}
    for key in PASSTHROUGH_KEYS:
        if turn.get(key) is not None:
            message[key] = turn[key]
    weight = turn.get("weight")
    if weight is not None:
        if isinstance(weight, bool) or weight not in (0, 1):
            raise DataError(f"{row.where}: {label}.weight must be 0 (not trained) or 1, got {quoted(weight)}")
        if weight == 0 and role == "assistant":
            message["train"] = False
    return message


def _turn_list(row: Row, column: str, fmt: str, opts: FormatOptions) -> list[dict[str, Any]]:
    value = row.get(column)
    shape = dict(FORMAT_SHAPES).get(fmt, "")
    if not isinstance(value, list) or not value:
        raise DataError(f"{row.where}: missing or empty `{row.column(column)}` list",
                        f"Each row needs {shape}." if shape else "Write the messages as a list of turns.")
    fields, roles = opts.fields(fmt), opts.roles()
    return [_turn(row, f"{row.column(column)}[{i}]", turn, fields, roles) for i, turn in enumerate(value)]


def _with_system(row: Row, messages: list[dict[str, Any]], opts: FormatOptions) -> list[dict[str, Any]]:
    system = row.get("system")
    if system is not None:
        if not isinstance(system, str):
            raise DataError(f"{row.where}: field `{row.column('system')}` must be a string, got {type_name(system)}")
        if system.strip():
            if messages and messages[0]["role"] == "system":
                raise DataError(f"{row.where}: the row has both a `{row.column('system')}` field and a system turn",
                                "Keep one of them.")
            messages = [{"role": "system", "content": system}, *messages]
    if opts.system_prompt and not any(m["role"] == "system" for m in messages):
        messages = [{"role": "system", "content": opts.system_prompt}, *messages]
    return messages


def _tools(row: Row) -> list[Any] | None:
    value = row.get("tools")
    if value is None:
        return None
    column = row.column("tools")
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            value = json.loads(value)
        except ValueError:
            raise DataError(f"{row.where}: field `{column}` is a string but not valid JSON",
                            "Write the tools as a list of function schemas, or as a JSON string of that list.") from None
    if not isinstance(value, list) or not all(isinstance(tool, dict) for tool in value):
        raise DataError(f"{row.where}: field `{column}` must be a list of function schemas (objects), got {type_name(value)}",
                        "Write e.g. [{\"type\": \"function\", \"function\": {\"name\": ..., \"parameters\": {...}}}].")
    return value or None


def _trained(messages: list[dict[str, Any]]) -> bool:
    return any(m["role"] == "assistant" and m.get("train") is not False for m in messages)


def chat_messages(row: Row, fmt: str, opts: FormatOptions | None = None) -> list[dict[str, Any]]:
    """The turns of an alpaca, messages or sharegpt row with its system message; not checked for an answer."""
    opts = opts or FormatOptions()
    if fmt == "alpaca":
        instruction = text_field(row, "instruction")
        input_text = text_field(row, "input", required=False)
        output = text_field(row, "output")
        messages = [{"role": "user", "content": alpaca_user_content(instruction, input_text)},
                    {"role": "assistant", "content": output}]
    elif fmt == "messages":
        messages = _turn_list(row, "messages", fmt, opts)
    elif fmt == "sharegpt":
        messages = _turn_list(row, "conversations", fmt, opts)
    else:
        raise ValueError(f"not a chat format: {fmt}")
    return _with_system(row, messages, opts)


def _prompt_completion(row: Row, opts: FormatOptions) -> Conversation:
    prompt, completion = row.get("prompt"), row.get("completion")
    if prompt is None:
        raise row.missing("prompt")
    if completion is None:
        raise row.missing("completion")
    if isinstance(prompt, str) and isinstance(completion, str):
        return Conversation(None, None, prompt, completion)
    if not isinstance(prompt, list) or not isinstance(completion, list):
        raise DataError(f"{row.where}: `{row.column('prompt')}` and `{row.column('completion')}` must both be strings "
                        f"(plain) or both lists of messages (conversational), got {type_name(prompt)} and "
                        f"{type_name(completion)}")
    fields, roles = opts.fields("prompt_completion"), opts.roles()
    asked = [_turn(row, f"{row.column('prompt')}[{i}]", turn, fields, roles) for i, turn in enumerate(prompt)]
    answered = [_turn(row, f"{row.column('completion')}[{i}]", turn, fields, roles) for i, turn in enumerate(completion)]
    if not _trained(answered):
        raise DataError(f"{row.where}: `{row.column('completion')}` has no assistant message, so nothing would be trained",
                        "The completion holds the answer: [{\"role\": \"assistant\", \"content\": ...}].")
    # Only the completion is trained: the prompt's assistant turns are context.
    asked = [{**m, "train": False} if m["role"] == "assistant" else m for m in asked]
    return Conversation(_with_system(row, asked + answered, opts), _tools(row))


def row_conversation(row: Row, fmt: str, opts: FormatOptions | None = None) -> Conversation:
    """One row of a causal-LM dataset in format `fmt` (`auto` = this row's own keys) as a Conversation."""
    opts = opts or FormatOptions()
    if fmt == "auto":
        fmt = detect_format([row], opts)
    if fmt == "text":
        raise DataError(f"{row.where}: a text row is not a conversation",
                        "Set `dataset_format: text` in the config, so the text is trained as it is.")
    if fmt == "prompt_completion":
        return _prompt_completion(row, opts)
    messages = chat_messages(row, fmt, opts)
    if not _trained(messages):
        what = ("every assistant message has weight 0" if any(m["role"] == "assistant" for m in messages)
                else "the conversation has no assistant message")
        raise DataError(f"{row.where}: {what}, so nothing would be trained")
    return Conversation(messages, _tools(row))


def prompt_turns(row: Row, opts: FormatOptions | None = None) -> tuple[list[dict[str, Any]], str, str | None]:
    """A generation prompt row: (messages to continue, the prompt's text, the reference answer or None).

    Chat rows (`messages` or `conversations`) end either with the user's turn or with the reference answer;
    alpaca rows ({instruction, input?, output?}) give the reference in `output`."""
    opts = opts or FormatOptions()
    if row.get("messages") is not None or row.get("conversations") is not None:
        messages = chat_messages(row, "messages" if row.get("messages") is not None else "sharegpt", opts)
        reference = None
        if messages[-1]["role"] == "assistant":
            reference, messages = messages[-1]["content"], messages[:-1]
        return messages, messages[-1]["content"] if messages else "", reference
    content = alpaca_user_content(text_field(row, "instruction"), text_field(row, "input", required=False))
    reference = row.get("output")
    if reference is not None and not isinstance(reference, str):
        raise DataError(f"{row.where}: field `{row.column('output')}` must be a string")
    return _with_system(row, [{"role": "user", "content": content}], opts), content, reference
