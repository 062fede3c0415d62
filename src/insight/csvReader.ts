// PORT of the CSV reading of trainer/sft_studio/data/readers.py (CPython's csv module), held equal by
// test/unit/insight.readers.unit.test.ts (the trainer reads the same files in the same test).
// CSV records exactly as the trainer reads them: Python's csv.DictReader over a file opened with
// newline='' (the excel dialect: comma, double quote, "" inside quotes, not strict), and the row's line
// as trainer/sft_studio/data/readers.py reports it. The state machine is CPython's Modules/_csv.c
// (parse_process_char, Reader_iternext), including the behaviours of non-strict mode: a quote inside an
// unquoted field is kept, text after a closing quote joins the field, and an unclosed quote at the end of
// the file ends the field there.

/** What csv.Error would say, with the reader's line_num at that moment. */
export class CsvError extends Error {
  constructor(
    message: string,
    readonly lineNum: number,
  ) {
    super(message);
    this.name = 'CsvError';
  }
}

/** csv.field_size_limit()'s default: a longer field is an error (in characters, i.e. code points). */
export const FIELD_LIMIT = 131072;

const enum State {
  StartRecord,
  StartField,
  InField,
  InQuotedField,
  QuoteInQuotedField,
  EatCrNl,
}

const COMMA = 0x2c;
const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
/** The end of a physical line: CPython feeds it after the line's own characters. */
const EOL = -1;

function codePoints(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xdc00 || c > 0xdfff || i === 0 || (text.charCodeAt(i - 1) & 0xfc00) !== 0xd800) n++;
  }
  return n;
}

/** csv.reader: next() returns a record's fields ([] for a blank line) or undefined at the end. */
export class CsvReader {
  /** Physical lines read so far (\n, \r\n or \r end a line), as csv.reader's line_num. */
  lineNum = 0;
  private pos = 0;
  private state = State.StartRecord;
  private fields: string[] = [];
  private field = '';

  constructor(private readonly text: string) {}

  next(): string[] | undefined {
    // A record ends in StartRecord (the line's end, or the end of the file below).
    this.fields = [];
    do {
      if (this.pos >= this.text.length) {
        if (this.field.length === 0 && this.state !== State.InQuotedField) return undefined;
        this.saveField();
        this.state = State.StartRecord;
        break;
      }
      this.lineNum++;
      this.readLine();
      this.process(EOL);
    } while (this.state !== State.StartRecord);
    return this.fields;
  }

  /** Feeds one physical line, its terminator included. */
  private readLine(): void {
    const text = this.text;
    let i = this.pos;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      // Runs of ordinary characters inside a field are added as one slice.
      if ((this.state === State.InField || this.state === State.InQuotedField) && c !== QUOTE && c !== LF && c !== CR && (c !== COMMA || this.state === State.InQuotedField)) {
        let j = i + 1;
        while (j < text.length) {
          const d = text.charCodeAt(j);
          if (d === QUOTE || d === LF || d === CR || (d === COMMA && this.state === State.InField)) break;
          j++;
        }
        this.add(text.slice(i, j));
        i = j;
        continue;
      }
      this.process(c);
      i++;
      if (c === LF) break;
      if (c === CR) {
        if (text.charCodeAt(i) === LF) {
          this.process(LF);
          i++;
        }
        break;
      }
    }
    this.pos = i;
  }

  private add(chars: string): void {
    this.field += chars;
    if (this.field.length > FIELD_LIMIT && codePoints(this.field) > FIELD_LIMIT) {
      throw new CsvError(`field larger than field limit (${FIELD_LIMIT})`, this.lineNum);
    }
  }

  private saveField(): void {
    this.fields.push(this.field);
    this.field = '';
  }

  private endOfLine(c: number): void {
    this.saveField();
    this.state = c === EOL ? State.StartRecord : State.EatCrNl;
  }

  private startField(c: number): void {
    if (c === LF || c === CR || c === EOL) this.endOfLine(c);
    else if (c === QUOTE) this.state = State.InQuotedField;
    else if (c === COMMA) this.saveField();
    else {
      this.add(String.fromCharCode(c));
      this.state = State.InField;
    }
  }

  private process(c: number): void {
    const isLineEnd = c === LF || c === CR || c === EOL;
    switch (this.state) {
      case State.StartRecord:
        if (c === EOL) return; // a blank line: the record is []
        if (c === LF || c === CR) {
          this.state = State.EatCrNl;
          return;
        }
        this.state = State.StartField;
        this.startField(c);
        return;
      case State.StartField:
        this.startField(c);
        return;
      case State.InField:
        if (isLineEnd) this.endOfLine(c);
        else if (c === COMMA) {
          this.saveField();
          this.state = State.StartField;
        } else this.add(String.fromCharCode(c));
        return;
      case State.InQuotedField:
        if (c === EOL) return;
        if (c === QUOTE) this.state = State.QuoteInQuotedField;
        else this.add(String.fromCharCode(c));
        return;
      case State.QuoteInQuotedField:
        if (c === QUOTE) {
          this.add('"');
          this.state = State.InQuotedField;
        } else if (c === COMMA) {
          this.saveField();
          this.state = State.StartField;
        } else if (isLineEnd) this.endOfLine(c);
        else {
          this.add(String.fromCharCode(c));
          this.state = State.InField;
        }
        return;
      case State.EatCrNl:
        if (c === EOL) this.state = State.StartRecord;
        return;
    }
  }
}

export interface CsvRow {
  /** The line readers.py names for the row. */
  line: number;
  /** Column name to value; undefined when the row has more fields than the header (an error). */
  fields: Record<string, string> | undefined;
}

/**
 * The rows of csv.DictReader, stopping after a row with more fields than the header. A row's line is
 * 2 for the first, then one more than the reader's line_num after the previous row (blank lines
 * skipped before it included), as readers.py counts.
 */
export function dictRows(text: string): CsvRow[] {
  const reader = new CsvReader(text);
  const header = reader.next();
  const rows: CsvRow[] = [];
  if (!header) return rows;
  for (let line = 2; ; ) {
    let record = reader.next();
    while (record && record.length === 0) record = reader.next();
    if (!record) return rows;
    if (record.length > header.length) {
      rows.push({ line, fields: undefined });
      return rows;
    }
    // dict(zip(header, record)), then the header's remaining names set to None, which readers.py drops.
    const values = new Map<string, string | undefined>();
    header.forEach((name, k) => values.set(name, record[k]));
    const fields: Record<string, string> = {};
    for (const [name, value] of values) {
      if (value !== undefined) Object.defineProperty(fields, name, { value, enumerable: true, writable: true, configurable: true });
    }
    rows.push({ line, fields });
    line = reader.lineNum + 1;
  }
}
