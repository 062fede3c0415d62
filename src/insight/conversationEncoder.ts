// PORT of trainer/sft_studio/data/conversation.py (and dataset.py's CausalRowEncoder), held equal by
// test/unit/insight.crosscheck.unit.test.ts (the trainer's own ids and labels for every data path) and
// test/unit/insight.families.unit.test.ts with trainer/tests/test_chat_families.py (real chat templates): change the
// two together.
// Conversations to input ids and labels with the model's chat template: the trainer's
// ConversationTokenizer (trainer/sft_studio/data/conversation.py) in TypeScript, step for step, because the
// token counts and the label-mask preview must be the trainer's own. What is trained: per assistant turn,
// what the model produces after the template's generation prompt up to and including the end-of-turn
// marker; the module docstring of conversation.py explains how spans are found and why.
import { DataError, textField, type Row } from './datasetRows';
import { rowConversation, type FormatOptions } from './rowFormats';

export const IGNORE_INDEX = -100;
export const EXCESS_LENGTH_STRATEGIES = ['truncate', 'drop', 'error'] as const;
export type ExcessLengthStrategy = (typeof EXCESS_LENGTH_STRATEGIES)[number];

/** A message as the chat template sees it; `train: false` marks an assistant turn that is context only. */
export interface TemplateMessage {
  role: string;
  content?: unknown;
  train?: boolean;
  [key: string]: unknown;
}

/** An added token as tokenizer.json lists it: what choosing anchors (ConversationEncoder.anchors) looks at. */
export interface AddedTokenInfo {
  id: number;
  content: string;
  lstrip?: boolean;
  single_word?: boolean;
  normalized?: boolean;
}

/** What the encoder needs from a tokenizer; tokenizerLoader adapts transformers.js to it. */
export interface ChatTokenizer {
  readonly hasChatTemplate: boolean;
  readonly eosToken: string | undefined;
  readonly eosTokenId: number | undefined;
  /** Ids of added (special and user-added) tokens: the tokenizer splits them off before anything else. */
  readonly addedTokenIds?: ReadonlySet<number>;
  /** The added tokens with their matching options (no anchors without them). */
  readonly addedTokens?: readonly AddedTokenInfo[];
  render(messages: readonly TemplateMessage[], addGenerationPrompt: boolean, tools?: readonly unknown[]): string;
  encode(text: string): number[];
}

export interface EncodedExample {
  inputIds: number[];
  labels: number[];
  truncated: boolean;
  /** The text the chat template produced for the whole conversation (before truncation). */
  rendered: string;
}

/** A row the excess-length strategy leaves out: counted and reported, not fatal. */
export class OverlongRow extends DataError {
  constructor(message: string) {
    super(message);
    this.name = 'OverlongRow';
  }
}

export function trainedTokens(example: Pick<EncodedExample, 'labels'>): number {
  let n = 0;
  for (const label of example.labels) if (label !== IGNORE_INDEX) n += 1;
  return n;
}

const PROBE_QUESTION = 'PING';
const PROBE_ANSWER = 'PONG';
const PROBE_FOLLOW_UP = 'PING AGAIN';

export function commonPrefix(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

function startsWithIds(ids: readonly number[], prefix: readonly number[]): boolean {
  if (prefix.length > ids.length) return false;
  for (let i = 0; i < prefix.length; i++) if (ids[i] !== prefix[i]) return false;
  return true;
}

function afterOccurrence(ids: readonly number[], needle: readonly number[], n: number): number | undefined {
  const k = needle.length;
  let found = 0;
  let i = 0;
  while (i + k <= ids.length) {
    let match = true;
    for (let j = 0; j < k; j++) {
      if (ids[i + j] !== needle[j]) {
        match = false;
        break;
      }
    }
    if (match) {
      found += 1;
      if (found === n) return i + k;
      i += k;
    } else i += 1;
  }
  return undefined;
}

/** Where the text before a boundary ends in `ids` when its last part `piece` starts at the n-th `token`. */
function anchoredAt(ids: readonly number[], piece: readonly number[], token: number, n: number): number | undefined {
  const after = afterOccurrence(ids, [token], n);
  if (after === undefined) return undefined;
  for (let i = 0; i < piece.length; i++) if (ids[after - 1 + i] !== piece[i]) return undefined;
  return after - 1 + piece.length;
}

/** Whether occurrences of a and b can share characters (`proper`: a with itself, shifted). */
function overlaps(a: string, b: string, proper = false): boolean {
  if (!proper && (a.includes(b) || b.includes(a))) return true;
  for (let k = 1; k < b.length; k++) if (a.endsWith(b.slice(0, k))) return true;
  if (!proper) for (let k = 1; k < a.length; k++) if (b.endsWith(a.slice(0, k))) return true;
  return false;
}

function countOccurrences(text: string, needle: string, end: number): number {
  let n = 0;
  let at = text.indexOf(needle);
  while (at >= 0 && at + needle.length <= end) {
    n += 1;
    at = text.indexOf(needle, at + needle.length);
  }
  return n;
}

/** The part of an answer every template keeps: the text after any reasoning block, trimmed. */
export function visibleAnswer(content: unknown): string {
  return typeof content === 'string' ? (content.split('</think>').at(-1) as string).trim() : '';
}

const TEMPLATE_HINT =
  'Set `chat_template` in the config (`chatml`, `plain` or a .jinja file) to a template that renders each answer followed by its end-of-turn marker.';

type Span = [start: number, end: number];

export class ConversationEncoder {
  private endOfTurnCache: { text: string; ids: number[] } | undefined;
  private anchorsCache: { text: string; id: number }[] | undefined;

  constructor(
    private readonly tok: ChatTokenizer,
    readonly maxLength: number,
    readonly completionOnly: boolean,
    readonly excessLength: ExcessLengthStrategy = 'truncate',
  ) {
    if (!tok.hasChatTemplate) {
      throw new DataError(
        'the tokenizer has no chat_template',
        'Set `chat_template: plain` (or `chatml`, or a .jinja file) in the config, or use `dataset_format: text`.',
      );
    }
    if (tok.eosTokenId === undefined || tok.eosToken === undefined) {
      throw new DataError('the tokenizer has no eos_token', "Set `eos_token` in the model's tokenizer_config.json.");
    }
  }

  /** (text, ids) of the marker the template writes after every assistant answer. */
  get endOfTurn(): { text: string; ids: number[] } {
    this.endOfTurnCache ??= this.probeEndOfTurn();
    return this.endOfTurnCache;
  }

  private probeEndOfTurn(): { text: string; ids: number[] } {
    const first: TemplateMessage[] = [
      { role: 'user', content: PROBE_QUESTION },
      { role: 'assistant', content: PROBE_ANSWER },
    ];
    let alone: string;
    let followed: string;
    try {
      alone = this.tok.render(first, false);
      followed = this.tok.render([...first, { role: 'user', content: PROBE_FOLLOW_UP }], false);
    } catch (error) {
      throw new DataError(
        `the chat template cannot render a user/assistant exchange (${(error as Error).message})`,
        'Set `chat_template` in the config to a template for this model (e.g. `chatml`).',
      );
    }
    const afterAlone = alone.slice(alone.lastIndexOf(PROBE_ANSWER) + PROBE_ANSWER.length);
    const afterFollowed = followed.slice(followed.indexOf(PROBE_ANSWER) + PROBE_ANSWER.length);
    let shared = afterAlone.slice(0, commonPrefix(afterAlone, afterFollowed));
    const aloneIds = this.tok.encode(afterAlone);
    for (let cut = shared.length; cut > 0; cut--) {
      if (startsWithIds(aloneIds, this.tok.encode(shared.slice(0, cut)))) {
        shared = shared.slice(0, cut);
        break;
      }
    }
    let text = shared.trimEnd();
    const ids = this.tok.encode(text);
    if (ids.length > 1 && this.tok.addedTokenIds?.has(ids[0])) {
      // A special token ends the turn; what follows it belongs to the next turn's header (the first
      // Llama 3 template writes an assistant header after every conversation, shared by both probes).
      for (let cut = 1; cut <= text.length; cut++) {
        const head = this.tok.encode(text.slice(0, cut));
        if (head.length === 1 && head[0] === ids[0]) {
          text = text.slice(0, cut);
          break;
        }
      }
    }
    if (!text) {
      throw new DataError(
        'the chat template writes no end-of-turn marker after an assistant answer, so a trained model would not learn to stop',
        'Set `chat_template: plain` (turns end with the EOS token) or a template that ends assistant turns with a special token.',
      );
    }
    return { text, ids: this.tok.encode(text) };
  }

  /**
   * The added tokens the template writes before an answer that can anchor a boundary (conversation.py `anchors`):
   * matched on the raw text, not stretched over whitespace before them nor needing a word boundary, sharing no
   * text with any other added token or with themselves shifted, so that each occurrence of the text is the token.
   */
  get anchors(): { text: string; id: number }[] {
    this.anchorsCache ??= this.findAnchors();
    return this.anchorsCache;
  }

  private findAnchors(): { text: string; id: number }[] {
    const added = this.tok.addedTokens ?? [];
    let prompt: string;
    try {
      prompt = this.tok.render([{ role: 'user', content: PROBE_QUESTION }], true);
    } catch {
      return [];
    }
    const generation = prompt.slice(prompt.lastIndexOf(PROBE_QUESTION) + PROBE_QUESTION.length);
    const texts = added.map((token) => token.content);
    return added
      .filter(
        (token) =>
          token.content &&
          generation.includes(token.content) &&
          token.content === token.content.trim() &&
          texts.filter((text) => text === token.content).length === 1 &&
          !token.lstrip &&
          !token.single_word &&
          token.normalized === false &&
          !overlaps(token.content, token.content, true) &&
          !texts.some((other) => other !== token.content && overlaps(token.content, other)),
      )
      .map((token) => ({ text: token.content, id: token.id }));
  }

  /** The last anchor wholly before `b` (not at the very start): where it starts, its id and which of its kind it is. */
  private anchorBefore(full: string, b: number): { start: number; id: number; n: number } | undefined {
    let best: { start: number; text: string; id: number } | undefined;
    for (const { text, id } of this.anchors) {
      const start = b >= text.length ? full.lastIndexOf(text, b - text.length) : -1;
      if (start > 0 && (!best || start > best.start)) best = { start, text, id };
    }
    return best && { start: best.start, id: best.id, n: countOccurrences(full, best.text, best.start + best.text.length) };
  }

  private renderChecked(messages: readonly TemplateMessage[], addGenerationPrompt: boolean, tools: readonly unknown[] | undefined, where: string): string {
    try {
      return this.tok.render(messages, addGenerationPrompt, tools);
    } catch (error) {
      throw new DataError(
        `${where}: the chat template refuses this conversation: ${(error as Error).message}`,
        'Fix the row\'s turns (most templates need user/assistant turns to alternate), or set `chat_template` to a template that accepts them.',
      );
    }
  }

  /** The whole rendering and the character spans of every trained assistant turn. */
  answerSpans(messages: readonly TemplateMessage[], where: string, tools?: readonly unknown[]): { full: string; spans: Span[] } {
    const full = this.renderChecked(messages, false, tools, where);
    const marker = this.endOfTurn.text;
    for (const message of messages) {
      const text = message.content;
      if (message.role === 'system' && typeof text === 'string' && text.trim() && !full.includes(text.trim())) {
        throw new DataError(
          `${where}: the chat template leaves the system message out of this conversation (Mistral's templates write it only before the last user turn, which a training row never ends with)`,
          'Move the system text into the first user message, or set `chat_template` to a template that keeps system messages (e.g. `chatml`).',
        );
      }
    }
    const spans: Span[] = [];
    let previousEnd = 0;
    messages.forEach((message, i) => {
      if (message.role !== 'assistant' || message.train === false) return;
      if (i === 0) {
        throw new DataError(
          `${where}: the conversation starts with an assistant turn, so there is no prompt to answer`,
          'Start every conversation with a user (or system) message.',
        );
      }
      const prompt = this.renderChecked(messages.slice(0, i), true, tools, where);
      let start = commonPrefix(full, prompt);
      if (start < prompt.length) {
        const history = this.renderChecked(messages.slice(0, i), false, tools, where);
        const historyEnd = commonPrefix(prompt, history);
        if (start < Math.max(historyEnd, previousEnd)) start = findTurnStart(full, prompt, messages[i - 1], prompt.slice(historyEnd), previousEnd, i, where);
      }
      let end = full.indexOf(marker, start);
      if (end < 0) {
        throw new DataError(`${where}: assistant turn ${i} has no end-of-turn marker ${JSON.stringify(marker)} in the rendered conversation`, TEMPLATE_HINT);
      }
      end += marker.length;
      const answer = visibleAnswer(message.content);
      if (answer && !full.slice(start, end).includes(answer)) {
        throw new DataError(`${where}: the chat template does not render assistant turn ${i} where its generation prompt ends`, TEMPLATE_HINT);
      }
      spans.push([start, end]);
      previousEnd = end;
    });
    return { full, spans };
  }

  /**
   * Token ids of `full` and the token ranges of its spans (see conversation.py for the rule). A boundary with an
   * anchor before it tokenizes only the text from the anchor on: the added token splits the text into pieces
   * tokenized apart, so the ids before the anchor are those of `full` up to its n-th occurrence.
   */
  private tokensWithSpans(full: string, spans: readonly Span[]): { ids: number[]; ranges: Span[] } {
    const { text: marker, ids: markerIds } = this.endOfTurn;
    const added = this.tok.addedTokenIds;
    const countable = markerIds.length > 0 && added !== undefined && markerIds.every((id) => added.has(id));
    const ends = new Set(spans.map(([, end]) => end));
    const bounds = [...new Set(spans.flat())].filter((b) => b > 0 && b < full.length).sort((a, b) => a - b);
    const ids = this.tok.encode(full);
    const tokenAt = new Map<number, number>([
      [0, 0],
      [full.length, ids.length],
    ]);
    for (const b of bounds) {
      let at: number | undefined;
      if (countable && ends.has(b)) {
        at = afterOccurrence(ids, markerIds, countOccurrences(full, marker, b));
        if (at === undefined) return this.piecewise(full, spans);
      } else {
        const anchor = this.anchorBefore(full, b);
        if (anchor) at = anchoredAt(ids, this.tok.encode(full.slice(anchor.start, b)), anchor.id, anchor.n);
        if (at === undefined) {
          // No anchor, or it did not line up: the plain rule decides.
          const before = this.tok.encode(full.slice(0, b));
          if (!startsWithIds(ids, before)) return this.piecewise(full, spans);
          at = before.length;
        }
      }
      tokenAt.set(b, at);
    }
    return { ids, ranges: spans.map(([start, end]) => [tokenAt.get(start) as number, tokenAt.get(end) as number]) };
  }

  private piecewise(full: string, spans: readonly Span[]): { ids: number[]; ranges: Span[] } {
    const ids: number[] = [];
    const ranges: Span[] = [];
    let cursor = 0;
    for (const [start, end] of spans) {
      if (start > cursor) ids.push(...this.tok.encode(full.slice(cursor, start)));
      const first = ids.length;
      if (end > start) ids.push(...this.tok.encode(full.slice(start, end)));
      ranges.push([first, ids.length]);
      cursor = end;
    }
    if (cursor < full.length) ids.push(...this.tok.encode(full.slice(cursor)));
    return { ids, ranges };
  }

  encode(messages: readonly TemplateMessage[], where: string, tools?: readonly unknown[]): EncodedExample {
    const { full, spans } = this.answerSpans(messages, where, tools);
    if (spans.length === 0) throw new DataError(`${where}: the conversation has no trained assistant message`);
    const { ids, ranges } = this.tokensWithSpans(full, spans);
    return this.finish(ids, ranges, where, this.endOfTurn.ids, full);
  }

  /** Plain prompt/completion: P(prompt) P(completion) EOS, the completion and EOS trained. */
  encodePromptCompletion(prompt: string, completion: string, where: string): EncodedExample {
    const text = prompt + completion;
    const { ids, ranges } = this.tokensWithSpans(text, [[prompt.length, text.length]]);
    const eos = this.tok.eosTokenId as number;
    return this.finish([...ids, eos], [[ranges[0][0], ids.length + 1]], where, [eos], text + (this.tok.eosToken as string));
  }

  /** dataset_format text: the text and EOS, every position trained. */
  encodePlain(text: string, where = ''): EncodedExample {
    const ids = [...this.tok.encode(text), this.tok.eosTokenId as number];
    return this.finish(ids, [[0, ids.length]], where, [], text + (this.tok.eosToken as string));
  }

  /** One row as the trainer trains it (data/dataset.py CausalRowEncoder); `format` is resolved (never `auto` for text). */
  encodeRow(row: Row, format: string, opts: FormatOptions = {}): EncodedExample {
    if (format === 'text') return this.encodePlain(textField(row, 'text'), row.where);
    const conversation = rowConversation(row, format, opts);
    if (conversation.messages === null) return this.encodePromptCompletion(conversation.prompt ?? '', conversation.completion ?? '', row.where);
    return this.encode(conversation.messages as unknown as TemplateMessage[], row.where, conversation.tools ?? undefined);
  }

  private finish(ids: number[], ranges: readonly Span[], where: string, endMarker: readonly number[], rendered: string): EncodedExample {
    let labels: number[];
    if (this.completionOnly) {
      labels = new Array<number>(ids.length).fill(IGNORE_INDEX);
      for (const [start, end] of ranges) for (let t = start; t < end; t++) labels[t] = ids[t];
    } else labels = [...ids];
    const limit = this.maxLength;
    if (ids.length <= limit) return { inputIds: ids, labels, truncated: false, rendered };
    if (this.excessLength === 'drop') throw new OverlongRow(`${where}: ${ids.length} tokens, longer than max_length=${limit}`);
    if (this.completionOnly && !ranges.some(([start, end]) => start < limit && start < end)) {
      const message = `${where}: after truncation to max_length=${limit} no answer token is left`;
      if (this.excessLength === 'error') {
        throw new DataError(message, 'Raise `max_length`, shorten the prompt, or set `excess_length_strategy: truncate` to drop such rows and count them.');
      }
      throw new OverlongRow(message);
    }
    const kept = ids.slice(0, limit);
    const keptLabels = labels.slice(0, limit);
    const k = endMarker.length;
    // The cut falls inside an answer: the row still ends the way answers end.
    if (k && limit > k && ranges.some(([start, end]) => start <= limit - k && end > limit)) {
      kept.splice(limit - k, k, ...endMarker);
      keptLabels.splice(limit - k, k, ...endMarker);
    }
    return { inputIds: kept, labels: keptLabels, truncated: true, rendered };
  }
}

/**
 * Where turn `turn` starts when the template renders shorter conversations differently: after the preceding
 * message's content and what the prompt writes after it, else after the generation prompt.
 */
function findTurnStart(full: string, prompt: string, before: TemplateMessage, generationPrompt: string, after: number, turn: number, where: string): number {
  const content = before.content;
  if (typeof content === 'string' && content.trim()) {
    const at = full.indexOf(content, after);
    const tail = prompt.slice(prompt.lastIndexOf(content) + content.length);
    if (at >= 0 && tail && full.startsWith(tail, at + content.length)) return at + content.length + tail.length;
  }
  for (const needle of [generationPrompt, generationPrompt.trim()]) {
    if (!needle) continue;
    const at = full.indexOf(needle, after);
    if (at >= 0) return at + needle.length;
  }
  throw new DataError(
    `${where}: cannot find where assistant turn ${turn} begins: the chat template renders the earlier turns differently for shorter conversations`,
    'Set `chat_template: chatml` (or a .jinja file) in the config, or remove the system message.',
  );
}
