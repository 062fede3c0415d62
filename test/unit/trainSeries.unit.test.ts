import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { TrainSeries } from '../../src/runs/trainSeries';
import { tempDir } from './helpers';

const trainLine = (seq: number, step: number, loss: number) =>
  `${JSON.stringify({ v: 1, seq, time: 1000 + seq, type: 'train', step, epoch: step / 100, loss, grad_norm: 1, learning_rate: 1e-3, tokens: step, tokens_per_s: 5 })}\n`;

test('a run read on demand: sampled once, then only what was appended, resumed steps replaced', async (t) => {
  const runDir = tempDir(t);
  const file = path.join(runDir, 'events.jsonl');
  let seq = 0;
  const lines: string[] = [`${JSON.stringify({ v: 1, seq: seq++, time: 1000, type: 'log', level: 'info', message: 'x' })}\n`];
  for (let step = 1; step <= 10_000; step++) lines.push(trainLine(seq++, step, step === 777 ? 50 : 1 / step));
  fs.writeFileSync(file, lines.join(''));
  const series = new TrainSeries(runDir);
  t.after(() => series.dispose());

  await series.update();
  assert.equal(series.length, 10_000);
  const overview = series.sample(100);
  assert.ok(overview.row.length <= 2 * 2 * 100 + 2 && overview.row.length > 100, `${overview.row.length} rows`);
  assert.ok(overview.values.loss?.includes(50), 'the spike is in the sample');
  assert.equal(overview.values.mfu, undefined, 'metrics never logged are left out');
  series.markSent();
  assert.equal(series.takeChanges(100), undefined);

  fs.appendFileSync(file, trainLine(seq++, 10_001, 0.1) + trainLine(seq++, 10_002, 0.09));
  await series.update();
  const live = series.takeChanges(100);
  assert.deepEqual(live?.row, [10_000, 10_001]);
  assert.deepEqual(live?.step, [10_001, 10_002]);

  // Resumed from a checkpoint at step 9,000: steps from 9,001 are logged again and replace the old rows.
  fs.appendFileSync(file, trainLine(seq++, 9_001, 0.5));
  await series.update();
  const resumed = series.takeChanges(100);
  assert.deepEqual(resumed?.row, [9_000]);
  assert.deepEqual(resumed?.step, [9_001]);
  assert.equal(series.length, 9_001);

  const zoomed = series.detail('step', 101, 200, 1000);
  assert.deepEqual(zoomed.step, Array.from({ length: 100 }, (_, i) => 101 + i), 'full resolution in a narrow range');
  assert.equal(zoomed.row[0], 100);
  const byTime = series.detail('time', 1001 + 50, 1001 + 59, 1000);
  assert.deepEqual(byTime.step, Array.from({ length: 10 }, (_, i) => 51 + i));
});
