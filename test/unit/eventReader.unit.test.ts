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
  // Each malformed line names its line in the file, counted across reads and in every selection.
  assert.deepEqual(problems.slice(0, 2).map((p) => p.kind === 'malformed-line' && p.lineNumber), [2, 3]);
  fs.appendFileSync(file, '\n{broken\n');
  await reader.read();
  assert.deepEqual(problems.slice(3).map((p) => p.kind === 'malformed-line' && p.lineNumber), [7]);
  for (const select of ['summary', 'train'] as const) {
    const selective = new EventReader(file, { watch: false, select });
    const seen: ReaderProblem[] = [];
    selective.onProblem((p) => seen.push(p));
    await selective.read();
    selective.close();
    assert.deepEqual(seen.filter((p) => p.kind === 'malformed-line').map((p) => p.kind === 'malformed-line' && p.lineNumber), [2, 3, 7], select);
  }
  // A reader resumed at an offset knows line numbers only when told the lines before it.
  const resumed = new EventReader(file, { watch: false, offset: reader.offset, nextSeq: reader.nextSeq, lines: reader.lines });
  const later: ReaderProblem[] = [];
  resumed.onProblem((p) => later.push(p));
  fs.appendFileSync(file, 'oops\n');
  await resumed.read();
  resumed.close();
  assert.deepEqual(later.map((p) => p.kind === 'malformed-line' && p.lineNumber), [8]);
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

const train = (seq: number, step: number) =>
  `${JSON.stringify({ v: 1, seq, time: 1767225600 + seq, type: 'train', step, epoch: step / 100, loss: 10 / step, grad_norm: 1, learning_rate: 1e-3, tokens: step, tokens_per_s: 5 })}\n`;

test('selections: summary keeps the ends of each train burst, train keeps train steps only', async (t) => {
  const file = setup(t);
  fs.appendFileSync(file, line(0) + train(1, 1) + train(2, 2) + train(3, 3) + line(4) + train(5, 4) + train(6, 5) + line(7));
  const seqs = async (select: 'all' | 'summary' | 'train') => (await new EventReader(file, { watch: false, select }).read()).map((e) => e.seq);
  assert.deepEqual(await seqs('all'), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(await seqs('summary'), [0, 1, 3, 4, 5, 6, 7]);
  assert.deepEqual(await seqs('train'), [1, 2, 3, 5, 6]);
});

test('lines in another key order or spacing are parsed in full, so no selection misreads them', async (t) => {
  const file = setup(t);
  const reordered = `${JSON.stringify({ type: 'train', v: 1, seq: 1, time: 1, step: 1, loss: 2 })}\n`;
  const spaced = `{"v": 1, "seq": 2, "time": 2.5, "type": "train", "step": 2, "loss": 1.5}\n`;
  fs.appendFileSync(file, line(0) + reordered + spaced + line(3));
  const read = async (select: 'summary' | 'train') => (await new EventReader(file, { watch: false, select }).read()).map((e) => `${e.seq}:${e.type}`);
  assert.deepEqual(await read('train'), ['1:train', '2:train']);
  assert.deepEqual(await read('summary'), ['0:log', '1:train', '2:train', '3:log']);
});

test('a torn train line never takes the seq of the event written again after a resume', async (t) => {
  const file = setup(t);
  const whole = train(2, 2);
  // Killed mid-write; the resumed trainer ends the line and writes seq 2 again.
  fs.appendFileSync(file, line(0) + train(1, 1) + whole.slice(0, 60) + '\n' + whole + train(3, 3));
  for (const select of ['summary', 'train'] as const) {
    const reader = new EventReader(file, { watch: false, select });
    const problems: ReaderProblem[] = [];
    reader.onProblem((p) => problems.push(p));
    const steps = (await reader.read()).map((e) => e.seq);
    assert.deepEqual(steps, select === 'train' ? [1, 2, 3] : [0, 1, 3], select);
    assert.deepEqual(problems.map((p) => p.kind), ['malformed-line'], select);
  }
});

test('a file far larger than a chunk is read in pieces, with every event once and nothing collected by catchUp', async (t) => {
  const file = setup(t);
  const n = 30_000; // about 6 MiB: several chunks
  fs.writeFileSync(file, Array.from({ length: n }, (_, i) => train(i, i + 1)).join(''));
  const reader = new EventReader(file, { watch: false, select: 'train' });
  const batches: number[] = [];
  let last = -1;
  let ordered = true;
  reader.onEvents((events) => {
    batches.push(events.length);
    for (const e of events) {
      ordered &&= e.seq === last + 1;
      last = e.seq;
    }
  });
  await reader.catchUp();
  assert.ok(batches.length > 3, `${batches.length} chunks`);
  assert.equal(batches.reduce((a, b) => a + b, 0), n);
  assert.ok(ordered);
  assert.equal(reader.offset, fs.statSync(file).size);
});
