import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { EventReader, type ReaderProblem } from '../../src/runs/eventReader';
import { eventually, tempDir } from './helpers';

const line = (seq: number, extra: Record<string, unknown> = {}) =>
  `${JSON.stringify({ v: 1, seq, time: 1767225600 + seq, type: 'log', level: 'info', message: `event ${seq}`, ...extra })}\n`;

function setup(t: { after(fn: () => void): void }) {
  const file = path.join(tempDir(t), 'events.jsonl');
  fs.writeFileSync(file, '');
  return file;
}

test('reads only what was appended since the last read', async (t) => {
  const file = setup(t);
  const reader = new EventReader(file, { watch: false });
  fs.appendFileSync(file, line(0) + line(1));
  assert.deepEqual((await reader.read()).map((e) => e.seq), [0, 1]);
  assert.deepEqual(await reader.read(), []);
  fs.appendFileSync(file, line(2));
  assert.deepEqual((await reader.read()).map((e) => e.seq), [2]);
  assert.equal(reader.offset, fs.statSync(file).size);
  assert.equal(reader.nextSeq, 3);
});

test('a torn last line waits on disk until its newline arrives', async (t) => {
  const file = setup(t);
  const reader = new EventReader(file, { watch: false });
  const whole = line(1);
  fs.appendFileSync(file, line(0) + whole.slice(0, 25));
  assert.deepEqual((await reader.read()).map((e) => e.seq), [0]);
  assert.equal(reader.offset, Buffer.byteLength(line(0)));
  fs.appendFileSync(file, whole.slice(25, -1));
  assert.deepEqual(await reader.read(), []);
  fs.appendFileSync(file, '\n');
  const [event] = await reader.read();
  assert.equal(event.seq, 1);
  assert.equal(event.type === 'log' && event.message, 'event 1');
});

test('multi-byte characters split across writes are decoded whole', async (t) => {
  const file = setup(t);
  const reader = new EventReader(file, { watch: false });
  const text = line(0, { message: 'löss → 0.4 ✓' });
  const bytes = new TextEncoder().encode(text);
  // One byte into the three-byte arrow.
  const cut = new TextEncoder().encode(text.slice(0, text.indexOf('→'))).length + 1;
  fs.appendFileSync(file, bytes.subarray(0, cut));
  assert.deepEqual(await reader.read(), []);
  fs.appendFileSync(file, bytes.subarray(cut));
  const [event] = await reader.read();
  assert.equal(event.type === 'log' && event.message, 'löss → 0.4 ✓');
});

test('seq gaps are reported, malformed lines skipped, and nothing stops the reader', async (t) => {
  const file = setup(t);
  const reader = new EventReader(file, { watch: false });
  const problems: ReaderProblem[] = [];
  reader.onProblem((p) => problems.push(p));
  fs.appendFileSync(file, line(0) + '{"not": "an event"}\n' + 'garbage\n' + line(3) + line(4));
  assert.deepEqual((await reader.read()).map((e) => e.seq), [0, 3, 4]);
  assert.deepEqual(
    problems.map((p) => p.kind),
    ['malformed-line', 'malformed-line', 'seq-gap'],
  );
  assert.deepEqual(problems[2], { kind: 'seq-gap', expected: 1, got: 3 });
});

test('a reader re-opened from the previous offset never delivers an event twice', async (t) => {
  const file = setup(t);
  fs.appendFileSync(file, line(0) + line(1));
  const first = new EventReader(file, { watch: false });
  await first.read();
  first.close();

  fs.appendFileSync(file, line(2));
  const reopened = new EventReader(file, { watch: false, offset: first.offset, nextSeq: first.nextSeq });
  assert.deepEqual((await reopened.read()).map((e) => e.seq), [2]);

  // The file is replaced by a copy with the same history (e.g. a resume rewrote it): only new seqs pass.
  const problems: ReaderProblem[] = [];
  reopened.onProblem((p) => problems.push(p));
  fs.writeFileSync(file, line(0) + line(1));
  assert.deepEqual(await reopened.read(), []);
  fs.appendFileSync(file, line(2) + line(3));
  assert.deepEqual((await reopened.read()).map((e) => e.seq), [3]);
  assert.deepEqual(problems.map((p) => p.kind), ['truncated', 'duplicate', 'duplicate', 'duplicate']);
});

test('following picks up appends by polling and delivers each event once', async (t) => {
  const file = path.join(tempDir(t), 'events.jsonl');
  const reader = new EventReader(file, { watch: false, pollMs: 20 });
  t.after(() => reader.close());
  const seen: number[] = [];
  reader.onEvents((events) => seen.push(...events.map((e) => e.seq)));
  reader.start();
  // The file does not exist yet when following starts, as with a trainer still importing torch.
  await new Promise((resolve) => setTimeout(resolve, 50));
  fs.appendFileSync(file, line(0));
  await eventually(() => seen.length === 1);
  fs.appendFileSync(file, line(1) + line(2));
  await eventually(() => seen.length === 3);
  await Promise.all([reader.read(), reader.read(), reader.read()]);
  assert.deepEqual(seen, [0, 1, 2]);
});

test('fs.watch delivers an append without waiting for the poll', async (t) => {
  const file = setup(t);
  const reader = new EventReader(file, { pollMs: 60_000 });
  t.after(() => reader.close());
  const seen: number[] = [];
  reader.onEvents((events) => seen.push(...events.map((e) => e.seq)));
  reader.start();
  await eventually(() => true);
  fs.appendFileSync(file, line(0));
  await eventually(() => seen.length === 1, 2000);
  assert.deepEqual(seen, [0]);
});
