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
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new JudgeCallError('judge reply is not a JSON object', 'invalid', { usage });
  }
  const raw = (value as Record<string, unknown>).choice;
  const choice = typeof raw === 'string' && /^\s*\d+\s*$/.test(raw) ? Number(raw) : raw;
  if (choice !== 0 && choice !== 1 && choice !== 2) {
    throw new JudgeCallError(`choice out of range: ${JSON.stringify(raw) ?? 'missing'} (expected 0, 1 or 2)`, 'invalid', {
      usage,
    });
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

/** Free text that should hold a JSON object, possibly inside a code fence or after some prose. */
export function parseChoiceText(text: string, usage?: TokenUsage): ParsedChoice {
  const object = firstJsonObject(text);
  if (object === undefined) {
    throw new JudgeCallError(`no JSON object in judge reply: ${truncate(text)}`, 'invalid', { usage });
  }
  return choiceFromObject(object, usage);
}

/** The first balanced `{…}` in the text that parses as JSON. */
export function firstJsonObject(text: string): unknown {
  for (let start = text.indexOf('{'); start !== -1; start = text.indexOf('{', start + 1)) {
    const end = matchingBrace(text, start);
    if (end === -1) continue;
    try {
      return JSON.parse(text.slice(start, end + 1));
    } catch {
      // Not JSON after all (prose with braces); try the next opening brace.
    }
  }
  return undefined;
}

function matchingBrace(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i;
  }
  return -1;
}

function truncate(text: string, max = 120): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** Rough token count for servers that report no usage: about 4 characters per token. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
