// The judge's reply format, shared by every model-backed provider: the `make_choice` tool, the same
// shape as a JSON schema for structured output, and parsers that refuse anything but 0, 1 or 2.
import { JudgeCallError } from './errors';
import type { Choice, TokenUsage } from './types';

export const MAKE_CHOICE = 'make_choice';

/** `argument` comes first so a model that writes fields in order reasons before it decides. */
export const CHOICE_SCHEMA = {
  type: 'object',
  properties: {
    argument: { type: 'string', description: 'A short justification of the choice.' },
    choice: {
      type: 'integer',
      enum: [0, 1, 2],
      description: '1 if answer 1 is better, 2 if answer 2 is better, 0 if they are equivalent.',
    },
  },
  required: ['argument', 'choice'],
  additionalProperties: false,
} as const;

export const MAKE_CHOICE_DESCRIPTION = 'Record which of the two answers is better, with a short argument.';

const SYSTEM_BASE = 'You are a careful, impartial judge of answers to instructions.';

export const SYSTEM_FOR_TOOLS = `${SYSTEM_BASE} Report your decision by calling ${MAKE_CHOICE}.`;

export const SYSTEM_FOR_JSON =
  `${SYSTEM_BASE} Reply with only a JSON object of the form ` +
  '{"argument": "<short justification>", "choice": <0, 1 or 2>} and nothing else.';

export interface ParsedChoice {
  choice: Choice;
  argument: string;
}

/** Validates a decoded reply object; numeric strings ("2") are accepted, anything else is invalid. */
export function choiceFromObject(value: unknown, usage?: TokenUsage): ParsedChoice {
  const parsed = readChoice(value);
  if (typeof parsed === 'string') throw new JudgeCallError(parsed, 'invalid', { usage });
  return parsed;
}

/** The verdict in a decoded object, or what is wrong with it (no exception: replies may hold thousands of candidates). */
function readChoice(value: unknown): ParsedChoice | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'judge reply is not a JSON object';
  const raw = (value as Record<string, unknown>).choice;
  const choice = typeof raw === 'string' && /^\s*\d+\s*$/.test(raw) ? Number(raw) : raw;
  if (choice !== 0 && choice !== 1 && choice !== 2) {
    return `choice out of range: ${truncate(JSON.stringify(raw) ?? 'missing')} (expected 0, 1 or 2)`;
  }
  const argument = (value as Record<string, unknown>).argument;
  return { choice, argument: typeof argument === 'string' ? argument : '' };
}

/** Tool-call arguments: a JSON string. */
export function parseChoiceArguments(args: string, usage?: TokenUsage): ParsedChoice {
  let value: unknown;
  try {
    value = JSON.parse(args);
  } catch {
    throw new JudgeCallError(`malformed tool arguments: ${truncate(args)}`, 'invalid', { usage });
  }
  return choiceFromObject(value, usage);
}

/**
 * Only the end of a reply is read. The verdict closes the reply, and a model that rambles (or a
 * server that streams junk) must not make parsing cost more than this.
 */
export const MAX_REPLY_CHARS = 16 * 1024;

/**
 * Free text that should hold a JSON verdict, possibly inside a code fence or after some prose. The
 * LAST valid verdict object wins: a judge that quotes an answer containing `{"choice": 2}` before
 * writing its own verdict must not be read as choosing 2.
 */
export function parseChoiceText(text: string, usage?: TokenUsage): ParsedChoice {
  return lastVerdict(text.slice(-MAX_REPLY_CHARS), usage);
}

/** The last valid verdict object in all of `text` (no length cap); linear in its length. */
export function lastVerdict(text: string, usage?: TokenUsage): ParsedChoice {
  const candidates = verdictCandidates(text);
  let lastProblem: string | undefined;
  for (let i = candidates.length - 1; i >= 0; i--) {
    let value: unknown;
    try {
      value = JSON.parse(candidates[i]);
    } catch {
      continue;
    }
    const parsed = readChoice(value);
    if (typeof parsed !== 'string') return parsed;
    lastProblem ??= parsed;
  }
  if (lastProblem) throw new JudgeCallError(lastProblem, 'invalid', { usage });
  throw new JudgeCallError(`no JSON verdict object in judge reply: ${truncate(text)}`, 'invalid', { usage });
}

/**
 * The spans of `text` that may be a verdict, in the order they close: balanced `{…}` with no object
 * nested inside (a verdict holds a string and a number) and a `"choice"` key at their own level.
 * One pass with a stack, and the spans are disjoint, so scanning and parsing them is linear in the
 * text (trying every `{` as a start was quadratic: 100k of them blocked the host for 26 s).
 * Quotes outside any brace are prose, not JSON strings, so a stray quote in a sentence cannot
 * swallow the verdict after it.
 */
export function verdictCandidates(text: string): string[] {
  // The stack of open braces lives in typed arrays: a reply of nothing but '{' would otherwise
  // allocate an object per character and spend its time collecting them.
  const starts = new Int32Array(text.length);
  const flags = new Uint8Array(text.length);
  let depth = 0;
  const found: string[] = [];
  let inString = false;
  let stringStart = 0;
  // The last string closed at this level was "choice"; a ':' next makes it a key.
  let choiceKeyPending = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) {
        inString = false;
        choiceKeyPending = i - stringStart === 7 && text.startsWith('choice', stringStart + 1);
      }
      continue;
    }
    if (c === QUOTE && depth > 0) {
      inString = true;
      stringStart = i;
    } else if (c === OPEN) {
      if (depth > 0) flags[depth - 1] |= NESTED;
      starts[depth] = i;
      flags[depth] = 0;
      depth++;
    } else if (c === CLOSE && depth > 0) {
      depth--;
      if (flags[depth] === HAS_CHOICE) found.push(text.slice(starts[depth], i + 1));
    } else if (c === COLON && choiceKeyPending && depth > 0) {
      flags[depth - 1] |= HAS_CHOICE;
    }
    if (c !== SPACE && c !== NEWLINE && c !== RETURN && c !== TAB) choiceKeyPending = false;
  }
  return found;
}

const [OPEN, CLOSE, QUOTE, BACKSLASH, COLON, SPACE, NEWLINE, RETURN, TAB] = [...'{}"\\: \n\r\t'].map((c) => c.charCodeAt(0));
/** Frame flags: an object opened inside this one; a "choice" key at this level. */
const NESTED = 1;
const HAS_CHOICE = 2;

function truncate(text: string, max = 120): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** Rough token count for servers that report no usage: about 4 characters per token. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/**
 * The reply's token limit when none is configured: a short argument and a choice need far less,
 * and a limit must be sent so the spend cap can count on it.
 */
export const DEFAULT_MAX_OUTPUT_TOKENS = 512;

/** Chat formats add a few tokens per message (role markers, separators) on top of the text. */
const MESSAGE_OVERHEAD_TOKENS = 8;

/** What one attempt may cost: the estimated prompt (plus `extra` text such as a system message) and the reply limit. */
export function estimateAttempt(prompt: string, maxOutputTokens: number, extra = ''): TokenUsage {
  return {
    input_tokens: estimateTokens(prompt) + estimateTokens(extra) + 2 * MESSAGE_OVERHEAD_TOKENS,
    output_tokens: maxOutputTokens,
  };
}
