// A config file's bytes as text. Decoding leniently would turn a Latin-1 "é" into U+FFFD and validate a
// config the trainer refuses; bytes that are not UTF-8 are reported where the trainer reports them
// (trainer/sft_studio/source_map.py decode_utf8): the line and column of the first bad byte.

export type DecodedConfig = { text: string } | { line: number; column: number; message: string };

const strict = new TextDecoder('utf-8', { fatal: true });

export function decodeConfigBytes(bytes: Uint8Array): DecodedConfig {
  try {
    // A byte order mark is dropped here; the trainer's YAML reader skips it too.
    return { text: strict.decode(bytes) };
  } catch {
    const bad = firstInvalidByte(bytes);
    const lineStart = bytes.lastIndexOf(0x0a, bad - 1) + 1;
    let line = 1;
    for (let i = 0; i < lineStart; i++) if (bytes[i] === 0x0a) line++;
    const column = [...strict.decode(bytes.subarray(lineStart, bad))].length + 1;
    return { line, column, message: `not valid UTF-8 (byte 0x${bytes[bad].toString(16).padStart(2, '0')}); save the file as UTF-8` };
  }
}

/** Offset of the first byte that does not start or continue a well-formed UTF-8 sequence. */
function firstInvalidByte(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const length = sequenceLength(bytes, i);
    if (length === 0) return i;
    i += length;
  }
  return bytes.length - 1;
}

/** Length of the well-formed sequence at `i` (RFC 3629 table 3-7), or 0. */
function sequenceLength(bytes: Uint8Array, i: number): number {
  const b = bytes[i];
  if (b < 0x80) return 1;
  const [length, low, high] =
    b >= 0xc2 && b <= 0xdf ? [2, 0x80, 0xbf]
    : b === 0xe0 ? [3, 0xa0, 0xbf]
    : b === 0xed ? [3, 0x80, 0x9f]
    : b >= 0xe1 && b <= 0xef ? [3, 0x80, 0xbf]
    : b === 0xf0 ? [4, 0x90, 0xbf]
    : b === 0xf4 ? [4, 0x80, 0x8f]
    : b >= 0xf1 && b <= 0xf3 ? [4, 0x80, 0xbf]
    : [0, 0, 0];
  if (length === 0 || i + length > bytes.length) return 0;
  if (bytes[i + 1] < low || bytes[i + 1] > high) return 0;
  for (let k = 2; k < length; k++) if (bytes[i + k] < 0x80 || bytes[i + k] > 0xbf) return 0;
  return length;
}
