"""Conversations to input_ids and labels with the model's own chat template.

What is trained (`completion_only_loss: true`): for every assistant turn, exactly what the model has to
produce at inference after the template's generation prompt for that turn, up to and including the
template's end-of-turn marker (`<|im_end|>`, `<|eot_id|>`, `<end_of_turn>`, `</s>`, `<|end|>`, ...).
Everything else (system and user turns, role headers, the generation prompt itself, text after the marker)
is masked. Consequences per family, by construction rather than by a table of templates:
- a template that writes something the generation prompt does not (Qwen3's `<think>\n\n</think>\n\n`
  before the last answer, unless `chat_template_kwargs: {enable_thinking: false}` puts it in the
  generation prompt) trains that text too, because the model must produce it;
- a template that trims or rewrites content (Llama 3 trims, Qwen3 and DeepSeek-R1 drop the reasoning of
  earlier turns) trains the content as the template renders it in the whole conversation;
- a generation prompt the conversation does not contain (DeepSeek-R1's `<think>\n`) is matched as far as
  it agrees.

How spans are found (the TypeScript twin, src/insight/conversationEncoder.ts, follows the same steps):
1. `full` = the whole conversation rendered without a generation prompt.
2. For assistant turn i, `prompt` = messages[:i] rendered with the generation prompt; the span starts
   where `full` stops agreeing with `prompt`, provided that point lies inside the generation prompt
   (after the rendered history). If the template renders history differently for shorter conversations
   (Mistral moves the system prompt to the last user turn) the span starts after the first occurrence
   of the generation prompt's text after the previous span.
3. The span ends after the first end-of-turn marker at or after its start. The marker is learnt once per
   tokenizer from two probe conversations (the tokens common to "after an answer that ends the
   conversation" and "after an answer followed by a user turn", trailing whitespace dropped).
4. The span must contain the answer's visible text; otherwise the row is refused with the fix.
Tokens: `full` is tokenized whole; each span boundary maps to a token index by tokenizing the text
before it, which equals the prompt the model sees at inference. When a token would straddle a boundary
the pieces are tokenized separately instead.

Overlong rows (`excess_length_strategy`): truncate (default) keeps the first max_length tokens and, when
the cut falls inside an answer, ends the row with the end-of-turn marker; a row left with no answer token
is dropped and counted. drop = every row longer than max_length is dropped and counted. error = the run
stops at the first row whose answer would be cut away entirely.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .readers import DataError

IGNORE_INDEX = -100
EXCESS_LENGTH_STRATEGIES = ("truncate", "drop", "error")
_PROBE_QUESTION, _PROBE_ANSWER, _PROBE_FOLLOW_UP = "PING", "PONG", "PING AGAIN"


@dataclass
class Example:
    input_ids: list[int]
    labels: list[int]
    truncated: bool = False
    segments: list[int] = field(default_factory=list)
    """Lengths of the examples packed into this row (empty = one example); each restarts position_ids."""

    @property
    def trained_tokens(self) -> int:
        return len(self.labels) - self.labels.count(IGNORE_INDEX)

    def segment_lengths(self) -> list[int]:
        return self.segments or [len(self.input_ids)]


class OverlongRow(DataError):
    """A row the excess-length strategy leaves out; counted and reported, not fatal."""


def _common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    lo, hi = 0, n
    while lo < hi:  # the longest agreeing prefix, by halving (strings compare in C)
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _after_occurrence(ids: list[int], needle: list[int], n: int) -> int | None:
    """Index just after the n-th (1-based) occurrence of `needle` in `ids`, or None."""
    if len(needle) == 1:  # the usual one-token marker: list.index scans in C
        at = -1
        try:
            for _ in range(n):
                at = ids.index(needle[0], at + 1)
        except ValueError:
            return None
        return at + 1 if n > 0 else None
    k, found, i = len(needle), 0, 0
    while i + k <= len(ids):
        if ids[i:i + k] == needle:
            found += 1
            if found == n:
                return i + k
            i += k
        else:
            i += 1
    return None


def visible_answer(content: Any) -> str:
    """The part of an answer every template keeps: the text after any reasoning block, stripped."""
    return content.split("</think>")[-1].strip() if isinstance(content, str) else ""


class ConversationTokenizer:
    """Turns conversations (or plain text) into input_ids and labels with the model's chat template."""

    def __init__(self, tokenizer: Any, max_length: int, completion_only: bool, *,
                 template_kwargs: dict[str, Any] | None = None, excess_length: str = "truncate"):
        if not getattr(tokenizer, "chat_template", None):
            raise DataError("the tokenizer has no chat_template",
                            "Set `chat_template: plain` (or `chatml`, or a .jinja file) in the config, "
                            "or use `dataset_format: text`.")
        if tokenizer.eos_token_id is None:
            raise DataError("the tokenizer has no eos_token", "Set `eos_token` in the model's tokenizer_config.json.")
        self.tok = tokenizer
        self.max_length = max_length
        self.completion_only = completion_only
        self.template_kwargs = dict(template_kwargs or {})
        self.excess_length = excess_length
        self._end_of_turn: tuple[str, list[int]] | None = None
        self._backend = getattr(tokenizer, "backend_tokenizer", None) if getattr(tokenizer, "is_fast", False) else None
        self._added_ids = set(getattr(tokenizer, "added_tokens_decoder", {}) or {})

    # ------------------------------------------------------------------ rendering
    def render(self, messages: list[dict[str, Any]], add_generation_prompt: bool,
               tools: list[Any] | None = None) -> str:
        extra = {"tools": tools} if tools else {}
        return self.tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt,
                                            **extra, **self.template_kwargs)

    def encode_text(self, text: str) -> list[int]:
        if self._backend is not None:
            # The Rust tokenizer directly: the same ids as tokenizer(text), without the wrapper's per-call
            # bookkeeping, which costs more than the tokenization itself for Alpaca-size datasets.
            return self._backend.encode(text, add_special_tokens=False).ids
        return list(self.tok(text, add_special_tokens=False)["input_ids"])

    def encode_texts(self, texts: list[str]) -> list[list[int]]:
        """Many texts at once: the Rust tokenizer spreads a batch over the CPU cores."""
        if self._backend is not None and texts:
            return [e.ids for e in self._backend.encode_batch_fast(texts, add_special_tokens=False)]
        return [self.encode_text(t) for t in texts]

    def prompt_ids(self, messages: list[dict[str, Any]], tools: list[Any] | None = None) -> list[int]:
        return self.encode_text(self.render(messages, add_generation_prompt=True, tools=tools))

    @property
    def end_of_turn(self) -> tuple[str, list[int]]:
        """(text, token ids) of the marker the template writes after every assistant answer."""
        if self._end_of_turn is None:
            self._end_of_turn = self._probe_end_of_turn()
        return self._end_of_turn

    def stop_token_ids(self) -> list[int]:
        """Token ids that end a generated answer: EOS and a one-token end-of-turn marker."""
        ids = [self.tok.eos_token_id]
        _, marker = self.end_of_turn
        if len(marker) == 1 and marker[0] not in ids:
            ids.append(marker[0])
        return ids

    def _probe_end_of_turn(self) -> tuple[str, list[int]]:
        first = [{"role": "user", "content": _PROBE_QUESTION}, {"role": "assistant", "content": _PROBE_ANSWER}]
        try:
            alone = self.render(first, False)
            followed = self.render(first + [{"role": "user", "content": _PROBE_FOLLOW_UP}], False)
        except Exception as exc:  # a template that raises on a plain user/assistant exchange
            raise DataError(f"the chat template cannot render a user/assistant exchange ({exc})",
                            "Set `chat_template` in the config to a template for this model (e.g. `chatml`).") from None
        after_alone = alone[alone.rfind(_PROBE_ANSWER) + len(_PROBE_ANSWER):]
        after_followed = followed[followed.find(_PROBE_ANSWER) + len(_PROBE_ANSWER):]
        # What both endings share, cut back to a whole-token prefix of the ending, without trailing whitespace.
        shared = after_alone[:_common_prefix(after_alone, after_followed)]
        alone_ids = self.encode_text(after_alone)
        for cut in range(len(shared), 0, -1):
            ids = self.encode_text(shared[:cut])
            if alone_ids[:len(ids)] == ids:
                shared = shared[:cut]
                break
        text = shared.rstrip()
        ids = self.encode_text(text)
        if len(ids) > 1 and ids[0] in self._added_ids:
            # A special token ends the turn; what follows it belongs to the next turn's header (the first
            # Llama 3 template writes an assistant header after every conversation, shared by both probes).
            text = next(text[:cut] for cut in range(1, len(text) + 1) if self.encode_text(text[:cut]) == ids[:1])
        if not text:
            raise DataError("the chat template writes no end-of-turn marker after an assistant answer, so a trained "
                            "model would not learn to stop",
                            "Set `chat_template: plain` (turns end with the EOS token) or a template that ends "
                            "assistant turns with a special token.")
        return text, self.encode_text(text)

    # ------------------------------------------------------------------ spans
    def answer_spans(self, messages: list[dict[str, Any]], where: str,
                     tools: list[Any] | None = None) -> tuple[str, list[tuple[int, int]]]:
        """The whole rendering and the character spans [start, end) of every trained assistant turn."""
        full = self._render_checked(messages, False, tools, where)
        marker, _ = self.end_of_turn
        for message in messages:
            text = message.get("content")
            if message.get("role") == "system" and isinstance(text, str) and text.strip() and text.strip() not in full:
                raise DataError(f"{where}: the chat template leaves the system message out of this conversation (Mistral's "
                                "templates write it only before the last user turn, which a training row never ends with)",
                                "Move the system text into the first user message, or set `chat_template` to a "
                                "template that keeps system messages (e.g. `chatml`).")
        spans: list[tuple[int, int]] = []
        previous_end = 0
        for i, message in enumerate(messages):
            if message.get("role") != "assistant" or message.get("train") is False:
                continue
            if i == 0:
                raise DataError(f"{where}: the conversation starts with an assistant turn, so there is no prompt "
                                "to answer", "Start every conversation with a user (or system) message.")
            prompt = self._render_checked(messages[:i], True, tools, where)
            start = _common_prefix(full, prompt)
            if start < len(prompt):
                history = self._render_checked(messages[:i], False, tools, where)
                history_end = _common_prefix(prompt, history)
                if start < max(history_end, previous_end):
                    start = self._find_turn_start(full, prompt, messages[i - 1], prompt[history_end:], previous_end, i, where)
            end = full.find(marker, start)
            if end < 0:
                raise DataError(f"{where}: assistant turn {i} has no end-of-turn marker {marker!r} in the rendered "
                                "conversation", self._template_hint())
            end += len(marker)
            answer = visible_answer(message.get("content"))
            if answer and answer not in full[start:end]:
                raise DataError(f"{where}: the chat template does not render assistant turn {i} where its "
                                "generation prompt ends", self._template_hint())
            spans.append((start, end))
            previous_end = end
        return full, spans

    def _render_checked(self, messages: list[dict[str, Any]], add_generation_prompt: bool,
                        tools: list[Any] | None, where: str) -> str:
        try:
            return self.render(messages, add_generation_prompt, tools)
        except Exception as exc:  # jinja's raise_exception, e.g. "roles must alternate"
            raise DataError(f"{where}: the chat template refuses this conversation: {exc}",
                            "Fix the row's turns (most templates need user/assistant turns to alternate), "
                            "or set `chat_template` to a template that accepts them.") from None

    @staticmethod
    def _find_turn_start(full: str, prompt: str, before: dict[str, Any], generation_prompt: str, after: int,
                         turn: int, where: str) -> int:
        """Where turn `turn` starts when the template renders shorter conversations differently: after the
        preceding message's content and what the prompt writes after it, else after the generation prompt."""
        content = before.get("content")
        if isinstance(content, str) and content.strip():
            at, tail = full.find(content, after), prompt[prompt.rfind(content) + len(content):]
            if at >= 0 and tail and full.startswith(tail, at + len(content)):
                return at + len(content) + len(tail)
        for needle in (generation_prompt, generation_prompt.strip()):
            if needle:
                at = full.find(needle, after)
                if at >= 0:
                    return at + len(needle)
        raise DataError(f"{where}: cannot find where assistant turn {turn} begins: the chat template renders the "
                        "earlier turns differently for shorter conversations",
                        "Set `chat_template: chatml` (or a .jinja file) in the config, or remove the system message.")

    @staticmethod
    def _template_hint() -> str:
        return ("Set `chat_template` in the config (`chatml`, `plain` or a .jinja file) to a template that renders "
                "each answer followed by its end-of-turn marker.")

    # ------------------------------------------------------------------ tokens
    def _boundaries(self, full: str, spans: list[tuple[int, int]]) -> tuple[list[int], dict[int, int]]:
        """Span boundaries that need the text before them tokenized, and those placed by counting markers.

        A span ends after a marker made of added tokens, which the tokenizer splits off before anything else,
        so no token straddles that end and its token index is found by counting markers in the ids."""
        marker, marker_ids = self.end_of_turn
        countable = bool(marker_ids) and set(marker_ids) <= self._added_ids
        ends = {end for _, end in spans}
        tokenize, counted = [], {}
        for b in sorted({b for span in spans for b in span if 0 < b < len(full)}):
            if countable and b in ends:
                counted[b] = full.count(marker, 0, b)
            else:
                tokenize.append(b)
        return tokenize, counted

    def _assemble(self, full: str, spans: list[tuple[int, int]], ids: list[int], before: dict[int, list[int]],
                  counted: dict[int, int]) -> tuple[list[int], list[tuple[int, int]]]:
        """The token ranges [start, end) of the spans in `ids` (= the ids of `full`); `before[b]` = ids of full[:b]."""
        token_at: dict[int, int] = {0: 0, len(full): len(ids)}
        for b, prefix in before.items():
            if ids[:len(prefix)] != prefix:
                return self._piecewise(full, spans)  # a token straddles b: tokenize the pieces apart
            token_at[b] = len(prefix)
        for b, n in counted.items():
            at = _after_occurrence(ids, self.end_of_turn[1], n)
            if at is None:
                return self._piecewise(full, spans)
            token_at[b] = at
        return ids, [(token_at[start], token_at[end]) for start, end in spans]

    def _tokens_with_spans(self, full: str, spans: list[tuple[int, int]]) -> tuple[list[int], list[tuple[int, int]]]:
        tokenize, counted = self._boundaries(full, spans)
        before = dict(zip(tokenize, self.encode_texts([full[:b] for b in tokenize])))
        return self._assemble(full, spans, self.encode_text(full), before, counted)

    def _piecewise(self, full: str, spans: list[tuple[int, int]]) -> tuple[list[int], list[tuple[int, int]]]:
        ids: list[int] = []
        ranges: list[tuple[int, int]] = []
        cursor = 0
        for start, end in spans:
            ids += self.encode_text(full[cursor:start]) if start > cursor else []
            first = len(ids)
            ids += self.encode_text(full[start:end]) if end > start else []
            ranges.append((first, len(ids)))
            cursor = end
        ids += self.encode_text(full[cursor:]) if cursor < len(full) else []
        return ids, ranges

    # ------------------------------------------------------------------ examples
    def encode(self, messages: list[dict[str, Any]], where: str, tools: list[Any] | None = None) -> Example:
        result = self.encode_batch([(messages, where, tools)])[0]
        if isinstance(result, DataError):
            raise result
        return result

    def encode_batch(self, conversations: list[tuple[list[dict[str, Any]], str, list[Any] | None]]) -> list[Example | DataError]:
        """`encode` for many conversations, tokenized in batches; a row's problem is returned in its place."""
        laid_out: list[Any] = []
        for messages, where, tools in conversations:
            try:
                full, spans = self.answer_spans(messages, where, tools)
                if not spans:
                    raise DataError(f"{where}: the conversation has no trained assistant message")
                laid_out.append((full, spans, where) + self._boundaries(full, spans))
            except DataError as problem:
                laid_out.append(problem)
        good = [item for item in laid_out if not isinstance(item, DataError)]
        full_ids = iter(self.encode_texts([item[0] for item in good]))
        prefix_ids = iter(self.encode_texts([item[0][:b] for item in good for b in item[3]]))
        out: list[Example | DataError] = []
        for item in laid_out:
            if isinstance(item, DataError):
                out.append(item)
                continue
            full, spans, where, tokenize, counted = item
            before = {b: next(prefix_ids) for b in tokenize}
            ids, ranges = self._assemble(full, spans, next(full_ids), before, counted)
            try:
                out.append(self._finish(ids, ranges, where, self.end_of_turn[1]))
            except DataError as problem:
                out.append(problem)
        return out

    def encode_prompt_completion(self, prompt: str, completion: str, where: str) -> Example:
        """Plain prompt/completion: P(prompt) P(completion) EOS, the completion and EOS trained."""
        text = prompt + completion
        ids, ranges = self._tokens_with_spans(text, [(len(prompt), len(text))])
        eos = self.tok.eos_token_id
        return self._finish(ids + [eos], [(ranges[0][0], len(ids) + 1)], where, [eos])

    def encode_plain(self, text: str, where: str = "") -> Example:
        ids = self.encode_text(text) + [self.tok.eos_token_id]
        return self._finish(ids, [(0, len(ids))], where, [])

    def _finish(self, ids: list[int], ranges: list[tuple[int, int]], where: str, end_marker: list[int]) -> Example:
        """Labels from the trained token ranges, then the excess-length strategy."""
        if self.completion_only:
            labels = [IGNORE_INDEX] * len(ids)
            for start, end in ranges:
                labels[start:end] = ids[start:end]
        else:
            labels = list(ids)
        limit = self.max_length
        if len(ids) <= limit:
            return Example(ids, labels)
        if self.excess_length == "drop":
            raise OverlongRow(f"{where}: {len(ids)} tokens, longer than max_length={limit}")
        if self.completion_only and not any(start < limit and start < end for start, end in ranges):
            message = f"{where}: after truncation to max_length={limit} no answer token is left"
            if self.excess_length == "error":
                raise DataError(message, "Raise `max_length`, shorten the prompt, or set "
                                         "`excess_length_strategy: truncate` to drop such rows and count them.")
            raise OverlongRow(message)
        ids, labels = ids[:limit], labels[:limit]
        k = len(end_marker)
        # The cut falls inside an answer: the row still ends the way answers end.
        if k and limit > k and any(start <= limit - k and end > limit for start, end in ranges):
            ids[limit - k:] = end_marker
            labels[limit - k:] = end_marker
        return Example(ids, labels, truncated=True)
