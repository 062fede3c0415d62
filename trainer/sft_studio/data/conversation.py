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
the pieces are tokenized separately instead. Two shortcuts give the same indices without tokenizing the
text before a boundary again: an end after an end-of-turn marker made of added tokens is found by counting
markers in the ids, and a start after an added token the template writes before answers (an anchor, see
`ConversationTokenizer.anchors`) by tokenizing only the text from the anchor on, since added tokens cut the
text into pieces the tokenizer handles apart; an anchor whose piece does not line up falls back to the rule.

Overlong rows (`excess_length_strategy`): truncate (default) keeps the first max_length tokens and, when
the cut falls inside an answer, ends the row with the end-of-turn marker; a row left with no answer token
is dropped and counted. drop = every row longer than max_length is dropped and counted. error = the run
stops at the first row whose answer would be cut away entirely.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import DataError

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


@dataclass
class Encoded:
    """An example before its labels are spelt out: the ids and the token ranges [start, end) that are trained
    (labels = ids there, IGNORE_INDEX elsewhere). dataset.py keeps a whole dataset in this form (example_store.py)."""

    ids: list[int]
    ranges: list[tuple[int, int]]
    truncated: bool = False

    def example(self) -> Example:
        labels = [IGNORE_INDEX] * len(self.ids)
        for start, end in self.ranges:
            labels[start:end] = self.ids[start:end]
        return Example(self.ids, labels, self.truncated)


class Tokenized:
    """A batch being tokenized: `result()` gives the token ids of every text, in order."""

    def __init__(self, conv: "ConversationTokenizer", texts: list[str], submit: Any = None):
        fast = conv._backend is not None and submit is not None and texts
        # The Rust tokenizer lets go of the GIL, so a batch tokenized in another thread overlaps with the
        # Python work (reading, chat templates) of the next; a Python tokenizer runs here and now.
        self._future = submit(conv._backend.encode_batch_fast, texts, add_special_tokens=False) if fast else None
        self._ids = None if fast else conv.encode_texts(texts)

    def result(self) -> list[list[int]]:
        if self._ids is None:
            self._ids = [e.ids for e in self._future.result()]
        return self._ids


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


def _anchored_at(ids: list[int], piece: list[int], token: int, n: int) -> int | None:
    """Where the text before a boundary ends in `ids` when its last part `piece` starts at the n-th `token`."""
    after = _after_occurrence(ids, [token], n)
    if after is None or ids[after - 1:after - 1 + len(piece)] != piece:
        return None
    return after - 1 + len(piece)


def _overlaps(a: str, b: str, proper: bool = False) -> bool:
    """Whether occurrences of a and b can share characters: one inside the other, or an end of one beginning the
    other (`proper`: a with itself, shifted)."""
    if not proper and (a in b or b in a):
        return True
    return any(a.endswith(b[:k]) for k in range(1, len(b))) or (not proper and any(b.endswith(a[:k]) for k in range(1, len(a))))


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
        self._anchors: list[tuple[str, int]] | None = None

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
    def answer_spans(self, messages: list[dict[str, Any]], where: str, tools: list[Any] | None = None,
                     known: dict[tuple[int, bool], str] | None = None) -> tuple[str, list[tuple[int, int]]]:
        """The whole rendering and the character spans [start, end) of every trained assistant turn (`known`:
        renderings made already, by (number of messages, add_generation_prompt))."""
        full = self._render_checked(messages, False, tools, where, known)
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
            prompt = self._render_checked(messages[:i], True, tools, where, known)
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
                        tools: list[Any] | None, where: str, known: dict[tuple[int, bool], str] | None = None) -> str:
        if known and (len(messages), add_generation_prompt) in known:
            return known[len(messages), add_generation_prompt]
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
    def _boundaries(self, full: str, spans: list[tuple[int, int]]) -> tuple[list[int], dict[int, int], dict[int, Any]]:
        """Span boundaries that need text before them tokenized, those placed by counting markers, and for some of
        the first an anchor: (start, token id, n) when only full[start:b] needs tokenizing.

        A span ends after a marker made of added tokens, which the tokenizer splits off before anything else,
        so no token straddles that end and its token index is found by counting markers in the ids. For the
        same reason the tokens of full[:b] are those of the text before the last anchor (an added token the template
        writes before answers, see `anchors`) followed by those of full[start:b]: the anchor is the n-th of its kind,
        and its token, found by counting, starts that second part in the ids of `full` too. Long prompts and
        later turns are thus not tokenized again from the start."""
        marker, marker_ids = self.end_of_turn
        countable = bool(marker_ids) and set(marker_ids) <= self._added_ids
        ends = {end for _, end in spans}
        tokenize, counted, anchored = [], {}, {}
        for b in sorted({b for span in spans for b in span if 0 < b < len(full)}):
            if countable and b in ends:
                counted[b] = full.count(marker, 0, b)
                continue
            tokenize.append(b)
            start, text, token = max(((full.rfind(text, 0, b), text, token) for text, token in self.anchors),
                                     default=(-1, "", 0))
            if start > 0:
                anchored[b] = (start, token, full.count(text, 0, start + len(text)))
        return tokenize, counted, anchored

    def _assemble(self, full: str, spans: list[tuple[int, int]], ids: list[int], before: dict[int, list[int]],
                  counted: dict[int, int], anchored: dict[int, Any]) -> tuple[list[int], list[tuple[int, int]]]:
        """The token ranges [start, end) of the spans in `ids` (= the ids of `full`); `before[b]` = ids of full[:b],
        or of full[start:b] for an anchored b."""
        token_at: dict[int, int] = {0: 0, len(full): len(ids)}
        for b, prefix in before.items():
            if b in anchored:
                at = _anchored_at(ids, prefix, *anchored[b][1:])
                if at is not None:
                    token_at[b] = at
                    continue
                prefix = self.encode_text(full[:b])  # the anchor did not line up: the plain rule decides
            if ids[:len(prefix)] != prefix:
                return self._piecewise(full, spans)  # a token straddles b: tokenize the pieces apart
            token_at[b] = len(prefix)
        for b, n in counted.items():
            at = _after_occurrence(ids, self.end_of_turn[1], n)
            if at is None:
                return self._piecewise(full, spans)
            token_at[b] = at
        return ids, [(token_at[start], token_at[end]) for start, end in spans]

    @staticmethod
    def _before_texts(full: str, tokenize: list[int], anchored: dict[int, Any]) -> list[str]:
        """What is tokenized for each boundary: full[:b], or full[start:b] after its anchor."""
        return [full[anchored[b][0] if b in anchored else 0:b] for b in tokenize]

    def _tokens_with_spans(self, full: str, spans: list[tuple[int, int]]) -> tuple[list[int], list[tuple[int, int]]]:
        tokenize, counted, anchored = self._boundaries(full, spans)
        before = dict(zip(tokenize, self.encode_texts(self._before_texts(full, tokenize, anchored))))
        return self._assemble(full, spans, self.encode_text(full), before, counted, anchored)

    @property
    def anchors(self) -> list[tuple[str, int]]:
        """(text, id) of the added tokens the template writes before an answer that can anchor a boundary: matched
        on the raw text (not normalized), never stretched over the whitespace before them or needing a word
        boundary, and sharing no text with any other added token (or with themselves, overlapped), so that every
        occurrence of the text in a conversation is that token. Fast (Rust) tokenizers only: their added tokens
        split the text into pieces that are tokenized apart."""
        if self._anchors is None:
            self._anchors = self._find_anchors()
        return self._anchors

    def _find_anchors(self) -> list[tuple[str, int]]:
        added = getattr(self.tok, "added_tokens_decoder", None) or {}
        if self._backend is None or not added:
            return []
        try:
            prompt = self.render([{"role": "user", "content": _PROBE_QUESTION}], True)
        except Exception:  # noqa: BLE001 - a template that cannot render the probe simply gets no anchors
            return []
        # What the template writes between a question and its answer: the end of the user's turn and the
        # generation prompt (some templates write the assistant header with or without it).
        generation = prompt[prompt.rfind(_PROBE_QUESTION) + len(_PROBE_QUESTION):]
        texts = [getattr(token, "content", str(token)) for token in added.values()]
        anchors = []
        for (token_id, token), text in zip(added.items(), texts):
            if (text and text in generation and text == text.strip() and texts.count(text) == 1
                    and not (getattr(token, "lstrip", True) or getattr(token, "single_word", True)
                             or getattr(token, "normalized", True))
                    and not _overlaps(text, text, proper=True)
                    and not any(_overlaps(text, other) for other in texts if other != text)):
                anchors.append((text, token_id))
        return anchors

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
        return [r.example() if isinstance(r, Encoded) else r for r in self.start_batch(conversations)()]

    def start_batch(self, conversations: list[tuple[list[dict[str, Any]], str, list[Any] | None]],
                    submit: Any = None) -> Callable[[], list[Encoded | DataError]]:
        """Renders and lays out the conversations now and starts tokenizing them (in a thread of
        `submit`, an executor's submit, when given); the returned call finishes them."""
        laid_out: list[Any] = []
        for (messages, where, tools), known in zip(conversations, self._prerender(conversations)):
            try:
                full, spans = self.answer_spans(messages, where, tools, known)
                if not spans:
                    raise DataError(f"{where}: the conversation has no trained assistant message")
                laid_out.append((full, spans, where) + self._boundaries(full, spans))
            except DataError as problem:
                laid_out.append(problem)
        good = [item for item in laid_out if not isinstance(item, DataError)]
        texts = [item[0] for item in good] + [text for item in good for text in self._before_texts(item[0], item[3], item[5])]
        tokenized = Tokenized(self, texts, submit)

        def finish() -> list[Encoded | DataError]:
            tokens = tokenized.result()
            full_ids, prefix_ids = iter(tokens[:len(good)]), iter(tokens[len(good):])
            out: list[Encoded | DataError] = []
            for item in laid_out:
                if isinstance(item, DataError):
                    out.append(item)
                    continue
                full, spans, where, tokenize, counted, anchored = item
                before = {b: next(prefix_ids) for b in tokenize}
                try:
                    ids, ranges = self._assemble(full, spans, next(full_ids), before, counted, anchored)
                    out.append(self._fit(ids, ranges, where, self.end_of_turn[1]))
                except DataError as problem:
                    out.append(problem)
            return out

        return finish

    def _prerender(self, conversations: list[tuple[list[dict[str, Any]], str, list[Any] | None]]
                   ) -> list[dict[tuple[int, bool], str]]:
        """The renderings answer_spans asks for first (each whole conversation; each trained turn's prompt), made
        by one batched apply_chat_template call per add_generation_prompt value, which renders every conversation
        exactly as a call of its own does, without that call's fixed cost each time. Conversations with tools
        render alone; if the template refuses any conversation of a call, all of its conversations do, so that
        the error is reported for its own row."""
        known: list[dict[tuple[int, bool], str]] = [{} for _ in conversations]
        wanted: dict[bool, list[tuple[int, int]]] = {False: [], True: []}
        for k, (messages, _, tools) in enumerate(conversations):
            if tools or not messages:
                continue
            wanted[False].append((k, len(messages)))
            wanted[True] += [(k, i) for i, m in enumerate(messages)
                             if i > 0 and m.get("role") == "assistant" and m.get("train") is not False]
        for add_generation_prompt, items in wanted.items():
            if len(items) < 2:
                continue
            try:
                texts = self.tok.apply_chat_template([conversations[k][0][:n] for k, n in items], tokenize=False,
                                                     add_generation_prompt=add_generation_prompt, **self.template_kwargs)
            except Exception:  # noqa: BLE001 - see the docstring
                continue
            for (k, n), text in zip(items, texts):
                known[k][n, add_generation_prompt] = text
        return known

    def encode_prompt_completion(self, prompt: str, completion: str, where: str) -> Example:
        """Plain prompt/completion: P(prompt) P(completion) EOS, the completion and EOS trained."""
        return self.lay_out_prompt_completion(prompt, completion, where).example()

    def lay_out_prompt_completion(self, prompt: str, completion: str, where: str) -> Encoded:
        text = prompt + completion
        ids, ranges = self._tokens_with_spans(text, [(len(prompt), len(text))])
        eos = self.tok.eos_token_id
        return self._fit(ids + [eos], [(ranges[0][0], len(ids) + 1)], where, [eos])

    def encode_plain(self, text: str, where: str = "") -> Example:
        return self.lay_out_plain(text, where).example()

    def lay_out_plain(self, text: str, where: str = "") -> Encoded:
        ids = self.encode_text(text) + [self.tok.eos_token_id]
        return self._fit(ids, [(0, len(ids))], where, [])

    def _fit(self, ids: list[int], ranges: list[tuple[int, int]], where: str, end_marker: list[int]) -> Encoded:
        """The excess-length strategy applied to ids whose token ranges `ranges` are the answers."""
        trained = ranges if self.completion_only else [(0, len(ids))]
        limit = self.max_length
        if len(ids) <= limit:
            return Encoded(ids, trained)
        if self.excess_length == "drop":
            raise OverlongRow(f"{where}: {len(ids)} tokens, longer than max_length={limit}")
        if self.completion_only and not any(start < limit and start < end for start, end in ranges):
            message = f"{where}: after truncation to max_length={limit} no answer token is left"
            if self.excess_length == "error":
                raise DataError(message, "Raise `max_length`, shorten the prompt, or set "
                                         "`excess_length_strategy: truncate` to drop such rows and count them.")
            raise OverlongRow(message)
        ids = ids[:limit]
        k = len(end_marker)
        # The cut falls inside an answer: the row still ends the way answers end (those positions are trained,
        # so their labels are the marker too).
        if k and limit > k and any(start <= limit - k and end > limit for start, end in ranges):
            ids[limit - k:] = end_marker
        return Encoded(ids, [(min(start, limit), min(end, limit)) for start, end in trained], truncated=True)
