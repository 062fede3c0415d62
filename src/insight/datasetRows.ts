// PORT of trainer/sft_studio/data/readers.py and dataset.py (read_rows, row_to_messages), held equal by
// test/unit/insight.readers.unit.test.ts (the trainer reads the same files in the same test) and
// test/unit/insight.crosscheck.unit.test.ts: change the two together.
// Dataset rows as the trainer reads them (trainer/sft_studio/data/readers.py and dataset.py: read_rows,
// row_to_messages; the row formats are in rowFormats.ts). Kept rule for rule equivalent, because the
// token counts shown in the editor must be the trainer's own numbers.
import * as fs from 'node:fs';
import { DATA_SUFFIXES, isHubReference } from '../config/dataSource';
import { CsvError, dictRows } from './csvReader';
import { rowConversation, type ConversationMessage, type FormatOptions } from './rowFormats';
import { DataError, Row } from './rows';

export { DataError, Row, type ChatMessage, type Role } from './rows';


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

const SUFFIXES = ['.jsonl', '.json', '.csv'] as const;

const TRAINER_ONLY: [test: (lower: string) => boolean, what: string][] = [
  [(lower) => lower.endsWith('.parquet'), 'Parquet files are'],
  [(lower) => lower.endsWith('.arrow'), 'Arrow files are'],
  [isHubReference, 'Hub datasets are'],
];

/** All rows of a data file in file order; the suffix decides the format, as in the trainer. */
export function readRows(file: string, mapping: Readonly<Record<string, string>> = {}, source = 0): Row[] {
  const lower = file.toLowerCase();
  const suffix = SUFFIXES.find((s) => lower.endsWith(s));
  if (!suffix) {
    const trainerOnly = TRAINER_ONLY.find(([test]) => test(lower))?.[1];
    throw new DataError(
      trainerOnly ? `${file}: ${trainerOnly} read by the trainer only; token insight reads .jsonl, .json and .csv` : `${file}: unsupported data file type`,
      trainerOnly
        ? 'Run `python -m sft_studio train CONFIG --dry-run --json` for the counts of this data, or convert it to .jsonl to see them in the editor.'
        : `Use one of ${DATA_SUFFIXES.join(', ')}, or a Hub dataset hf://datasets/ORG/NAME (the suffix decides how a file is read).`,
    );
  }
  let bytes: Buffer;
  try {
    bytes = withoutBom(fs.readFileSync(file));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new DataError(`${file}: cannot read the file (${code ?? String(error)})`, 'Fix the path in the config; paths are relative to the config file.');
  }
  const records = suffix === '.jsonl' ? jsonlRecords(bytes, file) : suffix === '.json' ? jsonRecords(bytes, file) : csvRecords(bytes, file);
  if (records.length === 0) throw new DataError(`${file}: the file has no rows`, 'Add at least one example.');
  return records.map(([where, data]) => new Row(where, data, mapping, source));
}

type SourceRecord = [where: string, data: Record<string, unknown>];

// The reader works on the file's bytes: a UTF-8 Buffer stays outside the JavaScript heap and is one byte
// per byte, where a decoded string of text with any non-Latin-1 character takes two. Only one row at a
// time is decoded. Bytes below 0x80 never occur inside a multi-byte UTF-8 sequence, so searching for
// newlines, quotes and brackets among the bytes is exact.
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_LIST = 0x5b;
const CLOSE_LIST = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/** A UTF-8 byte order mark (Excel's "CSV UTF-8" writes one) is not part of the first row, as the trainer reads it. */
const withoutBom = (bytes: Buffer): Buffer => (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes);

const asBytes = (text: string | Buffer): Buffer => (typeof text === 'string' ? Buffer.from(text, 'utf8') : text);

export function jsonlRecords(text: string | Buffer, file: string): SourceRecord[] {
  const bytes = asBytes(text);
  const records: SourceRecord[] = [];
  // A final newline does not start another line, as in Python's line iteration.
  for (let start = 0, line = 1; start < bytes.length; line++) {
    const newline = bytes.indexOf(LF, start);
    const end = newline === -1 ? bytes.length : newline;
    const raw = bytes.toString('utf8', start, end);
    start = end + 1;
    if (!raw.trim()) continue;
    const where = `${file}:${line}`;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      throw new DataError(`${where}: not valid JSON (${(error as Error).message})`, 'Each line must be one complete JSON object.');
    }
    records.push([where, asObject(where, value)]);
  }
  return records;
}

/**
 * A .json file is one list of objects; each row is located at the line its element starts on. One pass
 * over the bytes finds the elements and counts lines on the way; each element is parsed on its own.
 * Whatever that walk does not expect (a syntax error, a file that is not a list) is left to
 * `jsonRecordsWhole`, so messages stay JSON.parse's own for the whole text.
 */
export function jsonRecords(text: string | Buffer, file: string): SourceRecord[] {
  const bytes = asBytes(text);
  return jsonListStreamed(bytes, file) ?? jsonRecordsWhole(bytes.toString('utf8'), file);
}

function jsonListStreamed(bytes: Buffer, file: string): SourceRecord[] | undefined {
  const n = bytes.length;
  let i = 0;
  let line = 1;
  const skipWhitespace = () => {
    for (; i < n; i++) {
      const c = bytes[i];
      if (c === LF) line++;
      else if (c !== SPACE && c !== TAB && c !== CR) return;
    }
  };
  /** Index after the string that starts at `at` (a quote), or -1. Escaped quotes are skipped. */
  const stringEnd = (at: number): number => {
    for (let q = bytes.indexOf(QUOTE, at + 1); q !== -1; q = bytes.indexOf(QUOTE, q + 1)) {
      let backslashes = 0;
      while (bytes[q - 1 - backslashes] === BACKSLASH) backslashes++;
      if (backslashes % 2 === 0) return q + 1;
    }
    return -1;
  };
  /** Index after the value that starts at `i`; newlines inside it are counted. -1 when it never ends. */
  const valueEnd = (): number => {
    const first = bytes[i];
    if (first === QUOTE) return stringEnd(i);
    if (first !== OPEN_OBJECT && first !== OPEN_LIST) {
      let k = i;
      while (k < n && bytes[k] !== COMMA && bytes[k] !== CLOSE_LIST && bytes[k] !== SPACE && bytes[k] !== LF && bytes[k] !== CR && bytes[k] !== TAB) k++;
      return k;
    }
    let depth = 0;
    for (let k = i; k < n; k++) {
      const c = bytes[k];
      if (c === QUOTE) {
        const end = stringEnd(k);
        if (end === -1) return -1;
        k = end - 1;
      } else if (c === OPEN_OBJECT || c === OPEN_LIST) depth++;
      else if (c === CLOSE_OBJECT || c === CLOSE_LIST) {
        if (--depth === 0) return k + 1;
      } else if (c === LF) line++;
    }
    return -1;
  };

  const records: SourceRecord[] = [];
  let notObject: [where: string, value: unknown] | undefined; // reported once the whole list is known to be valid JSON
  skipWhitespace();
  if (bytes[i] !== OPEN_LIST) return undefined;
  i++;
  skipWhitespace();
  if (bytes[i] === CLOSE_LIST) i++;
  else {
    for (;;) {
      skipWhitespace();
      if (i >= n || bytes[i] === COMMA || bytes[i] === CLOSE_LIST) return undefined;
      const where = `${file}:${line}`;
      const end = valueEnd();
      if (end === -1) return undefined;
      let value: unknown;
      try {
        value = JSON.parse(bytes.toString('utf8', i, end));
      } catch {
        return undefined;
      }
      i = end;
      if ((value === null || typeof value !== 'object' || Array.isArray(value)) && !notObject) notObject = [where, value];
      records.push([where, value as Record<string, unknown>]);
      skipWhitespace();
      const delimiter = bytes[i++];
      if (delimiter === CLOSE_LIST) break;
      if (delimiter !== COMMA) return undefined;
    }
  }
  skipWhitespace();
  if (i < n) return undefined;
  if (notObject) asObject(...notObject);
  return records;
}

function jsonRecordsWhole(text: string, file: string): SourceRecord[] {
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
  const lines = topLevelElementLines(text);
  return data.map((value, i) => {
    const where = `${file}:${lines[i]}`;
    return [where, asObject(where, value)];
  });
}

/** The line each element of the top-level JSON list begins on (text is known to be valid JSON). */
function topLevelElementLines(text: string): number[] {
  const lines: number[] = [];
  let line = 1;
  let depth = 0;
  let inString = false;
  let expectElement = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === LF) line++;
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (c === SPACE || c === TAB || c === CR || c === LF) continue;
    if (depth === 1 && expectElement && c !== CLOSE_LIST) {
      lines.push(line);
      expectElement = false;
    }
    if (c === QUOTE) inString = true;
    else if (c === OPEN_LIST || c === OPEN_OBJECT) {
      depth++;
      if (depth === 1) expectElement = true;
    } else if (c === CLOSE_LIST || c === CLOSE_OBJECT) depth--;
    else if (c === COMMA && depth === 1) expectElement = true;
  }
  return lines;
}

/** A .csv file read as Python's csv.DictReader reads it; rows are located where the trainer locates them. */
export function csvRecords(text: string | Buffer, file: string): SourceRecord[] {
  try {
    return dictRows(typeof text === 'string' ? text : asBytes(text).toString('utf8')).map(({ line, fields }) => {
      const where = `${file}:${line}`;
      if (fields === undefined) {
        throw new DataError(`${where}: more fields than the header has columns`, 'Quote fields that contain commas, or add the missing column names to the header.');
      }
      return [where, fields];
    });
  } catch (error) {
    if (!(error instanceof CsvError)) throw error;
    throw new DataError(`${file}:${error.lineNum}: not valid CSV (${error.message})`, 'Check the quotes of this row: a quote that is never closed makes the rest of the file one field.');
  }
}

export { alpacaUserContent, textField } from './rowFormats';

/** The chat messages of a row (rowConversation in rowFormats.ts, which also gives its tools). */
export function rowToMessages(row: Row, format: string, opts: FormatOptions = {}): ConversationMessage[] {
  const conversation = rowConversation(row, format, opts);
  if (conversation.messages === null) {
    throw new DataError(`${row.where}: a plain prompt/completion row has no chat messages`, 'Encode it as prompt + completion, without the chat template.');
  }
  return conversation.messages;
}
