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

/** The envelope of the line bytes[start, end), when it is in the trainer's shape. */
export function classifyLine(bytes: Buffer, start: number, end: number): LineEnvelope | undefined {
  // A torn line (a trainer killed mid-write) does not end with the object's closing brace: it must be
  // parsed, fail and be reported, and its seq must stay free for the event written again after resume.
  if (end - start < 32 || bytes[start] !== OPEN || bytes[end - 1] !== CLOSE) return undefined;
  let i = start + 1;
  const key = (name: string): boolean => {
    if (bytes[i++] !== QUOTE) return false;
    for (let k = 0; k < name.length; k++) if (bytes[i++] !== name.charCodeAt(k)) return false;
    if (bytes[i++] !== QUOTE || bytes[i++] !== COLON) return false;
    if (bytes[i] === SPACE) i++;
    return true;
  };
  const separator = (): boolean => {
    if (bytes[i++] !== COMMA) return false;
    if (bytes[i] === SPACE) i++;
    return true;
  };
  if (!key('v') || bytes[i++] !== 0x31 || !separator() || !key('seq')) return undefined;
  let seq = 0;
  const seqStart = i;
  while (isDigit(bytes[i]) && i - seqStart < 15) seq = seq * 10 + (bytes[i++] - 0x30);
  if (i === seqStart || !separator() || !key('time')) return undefined;
  const timeStart = i;
  while (i < end && isNumberByte(bytes[i])) i++;
  if (i === timeStart || !separator() || !key('type') || bytes[i++] !== QUOTE) return undefined;
  const typeStart = i;
  while (i < end && isTypeByte(bytes[i])) i++;
  if (i === typeStart || bytes[i] !== QUOTE) return undefined;
  const train = i - typeStart === TRAIN.length && TRAIN.every((c, k) => bytes[typeStart + k] === c);
  return { seq, type: train ? 'train' : bytes.toString('latin1', typeStart, i) };
}
