// PORT of trainer/sft_studio/data/formats.py, held equal by test/unit/insight.formats.unit.test.ts and
// trainer/tests/test_formats.py (both over test/fixtures/formats/) and test/unit/insight.crosscheck.unit.test.ts:
// change the two together.
// Dataset row formats (alpaca, messages, sharegpt, prompt_completion, text, auto) turned into one
// Conversation: trainer/sft_studio/data/formats.py in TypeScript, rule for rule and message for message, because
// the editor's token counts must be the trainer's. The rules are documented there;
// test/fixtures/formats/ holds the rows and the conversations both languages must produce.
import { DataError, type Row } from './rows';

export type ConversationRole = 'system' | 'user' | 'assistant' | 'tool';

/** A turn as the chat template receives it; `train: false` marks an assistant turn that is context only. */
export type ConversationMessage = {
  role: ConversationRole;
  content: string;
  tool_calls?: unknown;
  name?: unknown;
  tool_call_id?: unknown;
  reasoning_content?: unknown;
  train?: false;
};

/** A row as the encoder takes it: chat messages (+ tools), or a plain prompt and completion. */
export interface Conversation {
  messages: ConversationMessage[] | null;
  tools: unknown[] | null;
  prompt: string | null;
  completion: string | null;
}

/** The config fields that shape conversations (message_field_mapping, role_mapping, system_prompt). */
export interface FormatOptions {
  messageFieldMapping?: Readonly<Record<string, string>> | null;
  roleMapping?: Readonly<Record<string, string>> | null;
  systemPrompt?: string | null;
}

type Fields = { role: string; content: string };
type Turn = Record<string, unknown>;

export const ROLES: readonly ConversationRole[] = ['system', 'user', 'assistant', 'tool'];
const PASSTHROUGH_KEYS = ['tool_calls', 'name', 'tool_call_id', 'reasoning_content'] as const;
export const DEFAULT_ROLE_MAPPING: Readonly<Record<string, string>> = {
  human: 'user',
  user: 'user',
  gpt: 'assistant',
  assistant: 'assistant',
  system: 'system',
  function_call: 'assistant',
  observation: 'tool',
  tool: 'tool',
};
const DEFAULT_MESSAGE_FIELDS: Readonly<Record<string, Fields>> = {
  messages: { role: 'role', content: 'content' },
  sharegpt: { role: 'from', content: 'value' },
  prompt_completion: { role: 'role', content: 'content' },
};
// The keys that identify a format, and what each format expects, in the order detectFormat tries them.
const FORMAT_KEYS: readonly [string, readonly string[]][] = [
  ['messages', ['messages']],
  ['sharegpt', ['conversations']],
  ['prompt_completion', ['prompt', 'completion']],
  ['alpaca', ['instruction', 'output']],
  ['text', ['text']],
];
const FORMAT_SHAPES: readonly [string, string][] = [
  ['messages', '{"messages": [{"role": ..., "content": ...}, ...]}'],
  ['sharegpt', '{"conversations": [{"from": ..., "value": ...}, ...]}'],
  ['prompt_completion', '{"prompt": ..., "completion": ...}'],
  ['alpaca', '{"instruction": ..., "input"?: ..., "output": ...}'],
  ['text', '{"text": ...}'],
];

function fieldsOf(format: string, opts: FormatOptions): Fields {
  return { ...DEFAULT_MESSAGE_FIELDS[format], ...(opts.messageFieldMapping ?? {}) } as Fields;
}

function rolesOf(opts: FormatOptions): Record<string, string> {
  return { ...DEFAULT_ROLE_MAPPING, ...(opts.roleMapping ?? {}) };
}

function isObject(value: unknown): value is Turn {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The name Python gives the type of a JSON value, so messages match the trainer's. */
export function typeName(value: unknown): string {
  if (value === null || value === undefined) return 'NoneType';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'object') return 'dict';
  return { string: 'str', boolean: 'bool' }[typeof value as string] ?? typeof value;
}

/** A value as JSON writes it (the trainer uses json.dumps(ensure_ascii=False)). */
function quoted(value: unknown): string {
  return JSON.stringify(value ?? null);
}

const has = (object: Readonly<Record<string, unknown>>, key: string) => Object.prototype.hasOwnProperty.call(object, key);
const present = (value: unknown) => value !== undefined && value !== null;

export function textField(row: Row, key: string, required = true): string {
  const value = row.get(key);
  if (!present(value)) {
    if (required) throw row.missing(key);
    return '';
  }
  if (typeof value !== 'string') {
    throw new DataError(`${row.where}: field \`${row.column(key)}\` must be a string, got ${typeName(value)}`);
  }
  return value;
}

export function alpacaUserContent(instruction: string, input: string): string {
  return input.trim() ? `${instruction}\n\n${input}` : instruction;
}

// ------------------------------------------------------------------------------------------- detection
function isTurnList(value: unknown, fields: Fields): boolean {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((turn) => isObject(turn) && has(turn, fields.role)) &&
    value.some((turn) => has(turn as Turn, fields.content))
  );
}

/** The format a row's keys (through column_mapping) say it is in, or undefined. */
export function rowFormat(row: Row, opts: FormatOptions = {}): string | undefined {
  if (isTurnList(row.get('messages'), fieldsOf('messages', opts))) return 'messages';
  if (isTurnList(row.get('conversations'), fieldsOf('sharegpt', opts))) return 'sharegpt';
  if (present(row.get('prompt')) && present(row.get('completion'))) return 'prompt_completion';
  if (present(row.get('instruction')) && present(row.get('output'))) return 'alpaca';
  if (present(row.get('text'))) return 'text';
  return undefined;
}

/** The first format the row has (or column_mapping names) one of the identifying keys of: its errors say
 * more about a broken row than "cannot tell". */
function partialFormat(row: Row): string | undefined {
  return FORMAT_KEYS.find(([, keys]) => keys.some((key) => present(row.get(key)) || has(row.mapping, key)))?.[0];
}

/** `dataset_format: auto`: the format of the first row; every row of a file has the same layout. A row that
 * matches no format fully but has some of one format's keys is taken to be in that format, so that encoding
 * it names what is missing. */
export function detectFormat(rows: readonly Row[], opts: FormatOptions = {}): string {
  if (rows.length === 0) throw new DataError('no rows to tell the dataset format from', 'Add at least one example.');
  const first = rows[0];
  const format = rowFormat(first, opts) ?? partialFormat(first);
  if (format === undefined) {
    const keys = Object.keys(first.data).join(', ') || 'none';
    const expected = FORMAT_SHAPES.map(([name, shape]) => `${name} = ${shape}`).join('; ');
    throw new DataError(
      `${first.where}: cannot tell the dataset format from the row's keys (${keys})`,
      `Set \`dataset_format\` in the config, or point the format's columns at yours with \`column_mapping\`. Each format expects: ${expected}.`,
    );
  }
  return format;
}

/** The config's dataset_format, with `auto` replaced by what the rows are. */
export function resolveFormat(format: string, rows: readonly Row[], opts: FormatOptions = {}): string {
  return format === 'auto' ? detectFormat(rows, opts) : format;
}

// ------------------------------------------------------------------------------------------- turns
function fieldFix(turn: Turn, fields: Fields): string {
  for (const [roleKey, contentKey] of [
    ['role', 'content'],
    ['from', 'value'],
  ]) {
    if (has(turn, roleKey) && has(turn, contentKey) && (roleKey !== fields.role || contentKey !== fields.content)) {
      return `Set \`message_field_mapping: {role: ${roleKey}, content: ${contentKey}}\` in the config.`;
    }
  }
  return 'Set `message_field_mapping: {role: ..., content: ...}` in the config to the keys your turns use for the speaker and the text.';
}

function content(row: Row, label: string, turn: Turn, key: string, fields: Fields): string {
  const value = turn[key];
  if (!present(value) && present(turn.tool_calls)) return '';
  if (!has(turn, key)) {
    const keys = Object.keys(turn).join(', ') || 'none';
    throw new DataError(`${row.where}: ${label} has no \`${key}\` key (it has: ${keys})`, fieldFix(turn, fields));
  }
  if (typeof value === 'string') return value;
  if (!Array.isArray(value)) {
    throw new DataError(`${row.where}: ${label}.${key} must be a string or a list of text parts, got ${typeName(value)}`);
  }
  return value
    .map((part: unknown, j) => {
      const where = `${label}.${key}[${j}]`;
      if (isObject(part) && present(part.type) && part.type !== 'text') {
        throw new DataError(
          `${row.where}: ${where} is a part of type ${quoted(part.type)}; only text parts can be trained`,
          'Remove the non-text parts (images, audio, files) or the row.',
        );
      }
      if (!isObject(part) || part.type !== 'text' || typeof part.text !== 'string') {
        throw new DataError(`${row.where}: ${where} must be {"type": "text", "text": string}`);
      }
      return part.text;
    })
    .join('');
}

function parseTurn(row: Row, label: string, turn: unknown, fields: Fields, roles: Record<string, string>): ConversationMessage {
  if (!isObject(turn)) {
    throw new DataError(`${row.where}: ${label} must be an object like {"${fields.role}": ..., "${fields.content}": ...}, got ${typeName(turn)}`);
  }
  if (!has(turn, fields.role)) {
    const keys = Object.keys(turn).join(', ') || 'none';
    throw new DataError(`${row.where}: ${label} has no \`${fields.role}\` key (it has: ${keys})`, fieldFix(turn, fields));
  }
  const name = turn[fields.role];
  if (typeof name !== 'string') throw new DataError(`${row.where}: ${label}.${fields.role} must be a string, got ${typeName(name)}`);
  const role = Object.prototype.hasOwnProperty.call(roles, name) ? roles[name] : undefined;
  if (role === undefined) {
    throw new DataError(
      `${row.where}: ${label} has role ${quoted(name)}, which is not one of ${Object.keys(roles).join(', ')}`,
      `Map it in the config, e.g. \`role_mapping: {${name}: assistant}\` (targets: ${ROLES.join(', ')}).`,
    );
  }
  if (!(ROLES as readonly string[]).includes(role)) {
    throw new DataError(`${row.where}: role_mapping maps ${quoted(name)} to ${quoted(role)}`, `Map roles to one of ${ROLES.join(', ')} in \`role_mapping\`.`);
  }
  const message: ConversationMessage = { role: role as ConversationRole, content: content(row, label, turn, fields.content, fields) };
  for (const key of PASSTHROUGH_KEYS) if (present(turn[key])) message[key] = turn[key];
  const weight = turn.weight;
  if (present(weight)) {
    if (weight !== 0 && weight !== 1) throw new DataError(`${row.where}: ${label}.weight must be 0 (not trained) or 1, got ${quoted(weight)}`);
    if (weight === 0 && role === 'assistant') message.train = false;
  }
  return message;
}

function turnList(row: Row, column: string, format: string, opts: FormatOptions): ConversationMessage[] {
  const value = row.get(column);
  const shape = FORMAT_SHAPES.find(([name]) => name === format)?.[1] ?? '';
  if (!Array.isArray(value) || value.length === 0) {
    throw new DataError(
      `${row.where}: missing or empty \`${row.column(column)}\` list`,
      shape ? `Each row needs ${shape}.` : 'Write the messages as a list of turns.',
    );
  }
  const fields = fieldsOf(format, opts);
  const roles = rolesOf(opts);
  return value.map((turn: unknown, i) => parseTurn(row, `${row.column(column)}[${i}]`, turn, fields, roles));
}

function withSystem(row: Row, messages: ConversationMessage[], opts: FormatOptions): ConversationMessage[] {
  const system = row.get('system');
  if (present(system)) {
    if (typeof system !== 'string') {
      throw new DataError(`${row.where}: field \`${row.column('system')}\` must be a string, got ${typeName(system)}`);
    }
    if (system.trim()) {
      if (messages.length > 0 && messages[0].role === 'system') {
        throw new DataError(`${row.where}: the row has both a \`${row.column('system')}\` field and a system turn`, 'Keep one of them.');
      }
      messages = [{ role: 'system', content: system }, ...messages];
    }
  }
  if (opts.systemPrompt && !messages.some((m) => m.role === 'system')) {
    messages = [{ role: 'system', content: opts.systemPrompt }, ...messages];
  }
  return messages;
}

function tools(row: Row): unknown[] | null {
  let value = row.get('tools');
  if (!present(value)) return null;
  const column = row.column('tools');
  if (typeof value === 'string') {
    if (!value.trim()) return null;
    try {
      value = JSON.parse(value);
    } catch {
      throw new DataError(
        `${row.where}: field \`${column}\` is a string but not valid JSON`,
        'Write the tools as a list of function schemas, or as a JSON string of that list.',
      );
    }
  }
  if (!Array.isArray(value) || !value.every(isObject)) {
    throw new DataError(
      `${row.where}: field \`${column}\` must be a list of function schemas (objects), got ${typeName(value)}`,
      'Write e.g. [{"type": "function", "function": {"name": ..., "parameters": {...}}}].',
    );
  }
  return value.length > 0 ? value : null;
}

const trained = (messages: readonly ConversationMessage[]) => messages.some((m) => m.role === 'assistant' && m.train !== false);

/** The turns of an alpaca, messages or sharegpt row with its system message; not checked for an answer. */
export function chatMessages(row: Row, format: string, opts: FormatOptions = {}): ConversationMessage[] {
  let messages: ConversationMessage[];
  if (format === 'alpaca') {
    const instruction = textField(row, 'instruction');
    const input = textField(row, 'input', false);
    const output = textField(row, 'output');
    messages = [
      { role: 'user', content: alpacaUserContent(instruction, input) },
      { role: 'assistant', content: output },
    ];
  } else if (format === 'messages') {
    messages = turnList(row, 'messages', format, opts);
  } else if (format === 'sharegpt') {
    messages = turnList(row, 'conversations', format, opts);
  } else {
    throw new Error(`not a chat format: ${format}`);
  }
  return withSystem(row, messages, opts);
}

function promptCompletion(row: Row, opts: FormatOptions): Conversation {
  const prompt = row.get('prompt');
  const completion = row.get('completion');
  if (!present(prompt)) throw row.missing('prompt');
  if (!present(completion)) throw row.missing('completion');
  if (typeof prompt === 'string' && typeof completion === 'string') return { messages: null, tools: null, prompt, completion };
  if (!Array.isArray(prompt) || !Array.isArray(completion)) {
    throw new DataError(
      `${row.where}: \`${row.column('prompt')}\` and \`${row.column('completion')}\` must both be strings (plain) or both lists of messages (conversational), got ${typeName(prompt)} and ${typeName(completion)}`,
    );
  }
  const fields = fieldsOf('prompt_completion', opts);
  const roles = rolesOf(opts);
  const asked = prompt.map((turn: unknown, i) => parseTurn(row, `${row.column('prompt')}[${i}]`, turn, fields, roles));
  const answered = completion.map((turn: unknown, i) => parseTurn(row, `${row.column('completion')}[${i}]`, turn, fields, roles));
  if (!trained(answered)) {
    throw new DataError(
      `${row.where}: \`${row.column('completion')}\` has no assistant message, so nothing would be trained`,
      'The completion holds the answer: [{"role": "assistant", "content": ...}].',
    );
  }
  // Only the completion is trained: the prompt's assistant turns are context.
  const context = asked.map((m): ConversationMessage => (m.role === 'assistant' ? { ...m, train: false } : m));
  return { messages: withSystem(row, [...context, ...answered], opts), tools: tools(row), prompt: null, completion: null };
}

/** One row of a causal-LM dataset in `format` (`auto` = this row's own keys) as a Conversation. */
export function rowConversation(row: Row, format: string, opts: FormatOptions = {}): Conversation {
  if (format === 'auto') format = detectFormat([row], opts);
  if (format === 'text') {
    throw new DataError(`${row.where}: a text row is not a conversation`, 'Set `dataset_format: text` in the config, so the text is trained as it is.');
  }
  if (format === 'prompt_completion') return promptCompletion(row, opts);
  const messages = chatMessages(row, format, opts);
  if (!trained(messages)) {
    const what = messages.some((m) => m.role === 'assistant') ? 'every assistant message has weight 0' : 'the conversation has no assistant message';
    throw new DataError(`${row.where}: ${what}, so nothing would be trained`);
  }
  return { messages, tools: tools(row), prompt: null, completion: null };
}
