import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunEvent } from '../../src/protocol/events';
import { alignTables, emaInto, RunMetrics } from '../../webview/charts/runMetrics';

const train = (seq: number, step: number, loss: number, extra: Record<string, number> = {}) =>
  ({ v: 1, seq, time: 100 + seq, type: 'train', step, epoch: step / 10, loss, grad_norm: 1, learning_rate: 1e-3, tokens: step * 10, tokens_per_s: 50, ...extra }) as unknown as RunEvent;
const evaluation = (seq: number, step: number, loss: number) =>
  ({ v: 1, seq, time: 100 + seq, type: 'eval', step, loss, token_accuracy: 0.5 }) as unknown as RunEvent;

test('train and eval rows by step; a re-logged step cuts the table back instead of drawing backwards', () => {
  const m = new RunMetrics(0);
  m.add([
    { v: 1, seq: 0, time: 100, type: 'run_started', step: 0, config: {}, total_steps: 4, steps_per_epoch: 10, num_parameters: 5, trainable_parameters: 2, world_size: 1, device: 'cpu' } as unknown as RunEvent,
    evaluation(1, 0, 3),
    train(2, 1, 2.5),
    train(3, 2, 2),
    train(4, 3, 1.5),
  ]);
  // A resumed run continues from its step-1 checkpoint: steps 2 and 3 come again.
  m.add([train(5, 2, 1.9), train(6, 3, 1.4, { mem_bytes: 1024 })]);
  assert.deepEqual(m.train.step, [1, 2, 3]);
  assert.deepEqual(m.train.values.loss, [2.5, 1.9, 1.4]);
  assert.deepEqual(m.train.time, [2, 5, 6], 'seconds since run_started');
  assert.deepEqual(m.train.values.mem_bytes, [null, null, 1024]);
  assert.equal(m.train.has('mem_bytes'), true);
  assert.equal(m.evaluation.has('f1'), false);
  // Eval without an epoch gets step / steps_per_epoch.
  assert.deepEqual(m.evaluation.epoch, [0]);
  assert.deepEqual(m.facts.trainableParameters, 2);
});

test('the smoothed loss is the debiased EMA (TensorBoard), recomputed on change', () => {
  const out: (number | null)[] = [];
  emaInto([1, null, 3], 0.5, out);
  // last₁ = 0.5 → /(1−0.5) = 1; last₂ = 0.25 + 1.5 = 1.75 → /(1−0.25) = 2.3333…
  assert.equal(out[0], 1);
  assert.equal(out[1], null);
  assert.ok(Math.abs((out[2] as number) - 7 / 3) < 1e-12);
  const m = new RunMetrics(0.5);
  m.add([train(1, 1, 1), train(2, 2, 3)]);
  assert.ok(Math.abs((m.smoothed[1] as number) - 7 / 3) < 1e-12);
  m.setSmoothing(0);
  assert.deepEqual(m.smoothed, [1, 3]);
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
