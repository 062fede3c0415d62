// The seq and type of an events.jsonl line, read off its bytes without decoding or parsing it. The
// trainer writes every event's envelope first, in this order ({"v":1,"seq":N,"time":T,"type":"…", …};
// json.dumps keeps insertion order), so a prefix match answers for nearly every line at a small
// fraction of the cost of decoding and JSON.parse. A line in any other shape gets no answer and is
// parsed in full, so the shortcut can only save work, never misread a line.

export interface LineEnvelope {
  seq: number;
  type: string;
}

const QUOTE = 0x22;
const COLON = 0x3a;
const COMMA = 0x2c;
const SPACE = 0x20;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const TRAIN = [0x74, 0x72, 0x61, 0x69, 0x6e];

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
// Digits, '.', '-', '+', 'e', 'E': what a JSON number is made of.
const isNumberByte = (c: number) => isDigit(c) || c === 0x2e || c === 0x2d || c === 0x2b || c === 0x65 || c === 0x45;
const isTypeByte = (c: number) => (c >= 0x61 && c <= 0x7a) || c === 0x5f;

/**
 * The envelope of the line bytes[start, end), when it is in the trainer's shape. Called for every line of
 * every run a window loads (900k lines for 300 runs), so it allocates nothing: a loop passes one `into` for
 * all its lines. Garbage per line made V8 grow its young generation by 20 MiB of the extension host's memory.
 */
export function classifyLine(bytes: Buffer, start: number, end: number, into: LineEnvelope = { seq: 0, type: '' }): LineEnvelope | undefined {
  // A torn line (a trainer killed mid-write) does not end with the object's closing brace: it must be
  // parsed, fail and be reported, and its seq must stay free for the event written again after resume.
  if (end - start < 32 || bytes[start] !== OPEN || bytes[end - 1] !== CLOSE) return undefined;
  let i = afterKey(bytes, start + 1, 'v');
  if (i < 0 || bytes[i++] !== 0x31) return undefined;
  i = afterKey(bytes, afterSeparator(bytes, i), 'seq');
  if (i < 0) return undefined;
  let seq = 0;
  const seqStart = i;
  while (isDigit(bytes[i]) && i - seqStart < 15) seq = seq * 10 + (bytes[i++] - 0x30);
  if (i === seqStart) return undefined;
  i = afterKey(bytes, afterSeparator(bytes, i), 'time');
  if (i < 0) return undefined;
  const timeStart = i;
  while (i < end && isNumberByte(bytes[i])) i++;
  if (i === timeStart) return undefined;
  i = afterKey(bytes, afterSeparator(bytes, i), 'type');
  if (i < 0 || bytes[i++] !== QUOTE) return undefined;
  const typeStart = i;
  while (i < end && isTypeByte(bytes[i])) i++;
  if (i === typeStart || bytes[i] !== QUOTE) return undefined;
  into.seq = seq;
  into.type = isTrain(bytes, typeStart, i) ? 'train' : bytes.toString('latin1', typeStart, i);
  return into;
}

/** The index after `"name":` (and one space) at bytes[i], or -1 (also for i = -1). */
function afterKey(bytes: Buffer, i: number, name: string): number {
  if (i < 0 || bytes[i++] !== QUOTE) return -1;
  for (let k = 0; k < name.length; k++) if (bytes[i++] !== name.charCodeAt(k)) return -1;
  if (bytes[i++] !== QUOTE || bytes[i++] !== COLON) return -1;
  return bytes[i] === SPACE ? i + 1 : i;
}

/** The index after `,` (and one space) at bytes[i], or -1. */
function afterSeparator(bytes: Buffer, i: number): number {
  if (bytes[i++] !== COMMA) return -1;
  return bytes[i] === SPACE ? i + 1 : i;
}

function isTrain(bytes: Buffer, from: number, to: number): boolean {
  if (to - from !== TRAIN.length) return false;
  for (let k = 0; k < TRAIN.length; k++) if (bytes[from + k] !== TRAIN[k]) return false;
  return true;
}
