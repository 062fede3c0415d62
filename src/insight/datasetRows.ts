// Dataset rows as the trainer reads them (trainer/sft_studio/readers.py and data.py: read_rows,
// row_to_messages, alpaca_user_content). Kept rule for rule equivalent, because the token counts shown in
// the editor must be the trainer's own numbers.
import * as fs from 'node:fs';

export type Role = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: Role;
  content: string;
}

/** A bad dataset row or file: `message` names file:line, `hint` says what to change. */
export class DataError extends Error {
  constructor(
    message: string,
    readonly hint = 'Fix the row or remove it from the file.',
  ) {
    super(message);
    this.name = 'DataError';
  }
}

/** One record of a data file, read through the config's column mapping. */
export class Row {
  constructor(
    /** `path:line`, the prefix of every message about this row. */
    readonly where: string,
    readonly data: Record<string, unknown>,
    readonly mapping: Readonly<Record<string, string>> = {},
  ) {}

  /** 1-based line in the file. */
  get line(): number {
    return Number(this.where.slice(this.where.lastIndexOf(':') + 1));
  }

  column(name: string): string {
    return this.mapping[name] ?? name;
  }

  get(name: string): unknown {
    return this.data[this.column(name)];
  }

  missing(name: string): DataError {
    const column = this.column(name);
    if (column !== name) {
      return new DataError(
        `${this.where}: missing field \`${column}\` (column_mapping reads \`${name}\` from it)`,
        `Add \`${column}\` to the row, or fix \`column_mapping\` in the config.`,
      );
    }
    return new DataError(
      `${this.where}: missing field \`${name}\``,
      `Add \`${name}\` to the row, map another column to it with \`column_mapping\`, or check \`dataset_format\` in the config.`,
    );
  }
}

function pythonTypeName(value: unknown): string {
  if (value === null) return 'NoneType';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  return { string: 'str', boolean: 'bool' }[typeof value as string] ?? typeof value;
}

function asObject(where: string, value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new DataError(
      `${where}: expected a JSON object, got ${pythonTypeName(value)}`,
      'Each row must be one JSON object such as {"instruction": ..., "output": ...}.',
    );
  }
  return value as Record<string, unknown>;
}

/** All rows of a data file in file order; the suffix decides the format, as in the trainer. */
export function readRows(file: string, mapping: Readonly<Record<string, string>> = {}): Row[] {
  const lower = file.toLowerCase();
  if (!lower.endsWith('.jsonl') && !lower.endsWith('.json')) {
    const supported = lower.endsWith('.csv') || lower.endsWith('.parquet');
    throw new DataError(
      supported ? `${file}: token insight reads .jsonl and .json data files` : `${file}: unsupported data file type`,
      supported ? 'Run `python -m sft_studio train CONFIG --dry-run --json` for the counts of this file.' : 'Use one of .jsonl, .json, .csv, .parquet (the suffix decides how the file is read).',
    );
  }
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new DataError(`${file}: cannot read the file (${code ?? String(error)})`, 'Fix the path in the config; paths are relative to the config file.');
  }
  const records = lower.endsWith('.jsonl') ? jsonlRecords(text, file) : jsonRecords(text, file);
  if (records.length === 0) throw new DataError(`${file}: the file has no rows`, 'Add at least one example.');
  return records.map(([where, data]) => new Row(where, data, mapping));
}

type SourceRecord = [where: string, data: Record<string, unknown>];

export function jsonlRecords(text: string, file: string): SourceRecord[] {
  const records: SourceRecord[] = [];
  const lines = text.split('\n');
  // A final newline does not start another line, as in Python's line iteration.
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((raw, index) => {
    if (!raw.trim()) return;
    const where = `${file}:${index + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      throw new DataError(`${where}: not valid JSON (${(error as Error).message})`, 'Each line must be one complete JSON object.');
    }
    records.push([where, asObject(where, value)]);
  });
  return records;
}

/** A .json file is one list of objects; each row is located at the line its element starts on. */
export function jsonRecords(text: string, file: string): SourceRecord[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new DataError(
      `${file}: not valid JSON (${(error as Error).message})`,
      'A .json data file must be one JSON list of objects; use .jsonl for one object per line.',
    );
  }
  if (!Array.isArray(data)) {
    throw new DataError(
      `${file}:1: expected a JSON list of objects, got ${pythonTypeName(data)}`,
      'Write the rows as [{...}, {...}], or use .jsonl with one object per line.',
    );
  }
  const starts = topLevelElementStarts(text);
  return data.map((value, i) => {
    const where = `${file}:${lineAt(text, starts[i])}`;
    return [where, asObject(where, value)];
  });
}

/** Offsets where the elements of the top-level JSON list begin (text is known to be valid JSON). */
function topLevelElementStarts(text: string): number[] {
  const starts: number[] = [];
  let depth = 0;
  let inString = false;
  let expectElement = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') continue;
    if (depth === 1 && expectElement && c !== ']') {
      starts.push(i);
      expectElement = false;
    }
    if (c === '"') inString = true;
    else if (c === '[' || c === '{') {
      depth++;
      if (depth === 1) expectElement = true;
    } else if (c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 1) expectElement = true;
  }
  return starts;
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

export function textField(row: Row, key: string, required = true): string {
  const value = row.get(key);
  if (value === undefined || value === null) {
    if (required) throw row.missing(key);
    return '';
  }
  if (typeof value !== 'string') {
    throw new DataError(`${row.where}: field \`${row.column(key)}\` must be a string, got ${pythonTypeName(value)}`);
  }
  return value;
}

export function alpacaUserContent(instruction: string, input: string): string {
  return input.trim() ? `${instruction}\n\n${input}` : instruction;
}

const ROLES: readonly string[] = ['system', 'user', 'assistant'];

export function rowToMessages(row: Row, format: string): ChatMessage[] {
  if (format === 'alpaca') {
    const instruction = textField(row, 'instruction');
    const input = textField(row, 'input', false);
    const output = textField(row, 'output');
    return [
      { role: 'user', content: alpacaUserContent(instruction, input) },
      { role: 'assistant', content: output },
    ];
  }
  const messages = row.get('messages');
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new DataError(
      `${row.where}: missing or empty \`${row.column('messages')}\` list`,
      'Each row needs {"messages": [{"role": "user", "content": ...}, {"role": "assistant", ...}]}.',
    );
  }
  const out = messages.map((message: unknown, i): ChatMessage => {
    const m = message as Record<string, unknown> | null;
    if (!m || typeof m !== 'object' || !ROLES.includes(m.role as string) || typeof m.content !== 'string') {
      throw new DataError(`${row.where}: messages[${i}] must be {"role": system|user|assistant, "content": string}`);
    }
    return { role: m.role as Role, content: m.content };
  });
  if (!out.some((m) => m.role === 'assistant')) {
    throw new DataError(`${row.where}: the conversation has no assistant message, so nothing would be trained`);
  }
  return out;
}
