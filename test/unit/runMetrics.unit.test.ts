import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TrainRows } from '../../src/protocol/dashboard';
import type { RunEvent } from '../../src/protocol/events';
import { alignTables, emaInto, RunMetrics } from '../../webview/charts/runMetrics';

/** Host rows `ids` of a run whose step n logged loss losses[n] at time 100 + n. */
const rows = (ids: number[], steps: number[], losses: (number | null)[], extra: TrainRows['values'] = {}): TrainRows => ({
  row: ids,
  step: steps,
  epoch: steps.map((s) => s / 10),
  time: steps.map((s) => 100 + s),
  values: { loss: losses, ...extra },
});
const evaluation = (seq: number, step: number, loss: number) =>
  ({ v: 1, seq, time: 100 + seq, type: 'eval', step, loss, token_accuracy: 0.5 }) as unknown as RunEvent;

test('train rows by host row; a delta replaces the rows from its first one on (a resumed run)', () => {
  const m = new RunMetrics(0);
  m.add([
    { v: 1, seq: 0, time: 100, type: 'run_started', step: 0, config: {}, total_steps: 4, steps_per_epoch: 10, num_parameters: 5, trainable_parameters: 2, world_size: 1, device: 'cpu' } as unknown as RunEvent,
    evaluation(1, 0, 3),
  ]);
  m.addRows(rows([0, 1, 2], [1, 2, 3], [2.5, 2, 1.5]));
  // The host cut its table back to step 2 (row 1) and appended the re-logged steps.
  m.addRows(rows([1, 2], [2, 3], [1.9, 1.4], { mem_bytes: [null, 1024] }));
  assert.deepEqual(m.train.step, [1, 2, 3]);
  assert.deepEqual(m.train.values.loss, [2.5, 1.9, 1.4]);
  assert.deepEqual(m.train.time, [1, 2, 3], 'seconds since run_started');
  assert.deepEqual(m.train.values.mem_bytes, [null, null, 1024]);
  assert.equal(m.train.has('mem_bytes'), true);
  assert.equal(m.evaluation.has('f1'), false);
  // Eval without an epoch gets step / steps_per_epoch.
  assert.deepEqual(m.evaluation.epoch, [0]);
  assert.deepEqual(m.facts.trainableParameters, 2);
});

test('detail rows of a zoomed range are merged in row order without duplicates', () => {
  const m = new RunMetrics(0);
  m.addRows(rows([0, 10, 20], [1, 11, 21], [5, 4, 3]));
  assert.equal(m.addDetail(rows([9, 10, 11], [10, 11, 12], [4.5, 4, 3.9])), true);
  assert.deepEqual(m.train.row, [0, 9, 10, 11, 20]);
  assert.deepEqual(m.train.values.loss, [5, 4.5, 4, 3.9, 3]);
  assert.equal(m.addDetail(rows([10], [11], [4])), false, 'nothing new');
});

test('a long live table is compacted to a min/max sample that keeps every extreme', () => {
  const m = new RunMetrics(0);
  const n = 5000;
  const ids = Array.from({ length: n }, (_, i) => i);
  const loss = ids.map((i) => (i === 1234 ? 99 : i === 4321 ? -5 : Math.sin(i)));
  m.addRows(rows(ids, ids.map((i) => i + 1), loss));
  assert.equal(m.compactIfLong(100), true);
  assert.ok(m.train.length <= 2 * 100 + 2, `${m.train.length} rows`);
  assert.ok(m.train.values.loss.includes(99) && m.train.values.loss.includes(-5), 'spikes stay');
  assert.equal(m.train.row[0], 0);
  assert.equal(m.train.row.at(-1), n - 1);
  assert.equal(m.compactIfLong(100), false, 'not again until it has grown');
});

test('the smoothed loss is the debiased EMA (TensorBoard), recomputed on change', () => {
  const out: (number | null)[] = [];
  emaInto([1, null, 3], 0.5, out);
  // last₁ = 0.5 → /(1−0.5) = 1; last₂ = 0.25 + 1.5 = 1.75 → /(1−0.25) = 2.3333…
  assert.equal(out[0], 1);
  assert.equal(out[1], null);
  assert.ok(Math.abs((out[2] as number) - 7 / 3) < 1e-12);
  const m = new RunMetrics(0.5);
  m.addRows(rows([0, 1], [1, 2], [1, 3]));
  assert.ok(Math.abs((m.smoothed[1] as number) - 7 / 3) < 1e-12);
  m.setSmoothing(0);
  assert.deepEqual(m.smoothed, [1, 3]);
});

test('a sampled series smooths as the full one would: a left-out gap weighs as its rows', () => {
  const full = Array.from({ length: 9 }, () => 2);
  full[0] = 10;
  const fullOut: (number | null)[] = [];
  emaInto(full, 0.6, fullOut);
  // The same run sampled at rows 0, 4 and 8: the values in between equal the sampled ones.
  const sampledOut: (number | null)[] = [];
  emaInto([10, 2, 2], 0.6, sampledOut, 0, [0, 4, 8]);
  assert.ok(Math.abs((sampledOut[2] as number) - (fullOut[8] as number)) < 0.05, `${sampledOut[2]} vs ${fullOut[8]}`);
  const naive: (number | null)[] = [];
  emaInto([10, 2, 2], 0.6, naive);
  assert.ok(Math.abs((naive[2] as number) - (fullOut[8] as number)) > 0.5, 'without the gaps the line would sit far off');
});

test('tables with their own x are merged into aligned columns in one pass', () => {
  const aligned = alignTables([
    { x: [1, 2, 3], ys: [[10, 20, 30], [1, 2, 3]] },
    { x: [0, 2, null, 4], ys: [[7, 8, 9, 11]] },
  ]);
  assert.deepEqual(aligned, [
    [0, 1, 2, 3, 4],
    [null, 10, 20, 30, null],
    [null, 1, 2, 3, null],
    [7, null, 8, null, 11],
  ]);
  const x = [1, 2];
  const y = [5, 6];
  const single = alignTables([{ x, ys: [y] }]);
  assert.equal(single[0], x, 'one table is passed through without a copy');
  assert.equal(single[1], y);
});
