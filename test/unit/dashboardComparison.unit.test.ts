import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { dashboardGuards, isCompareResult, isConfigDiff, isDashboardWebviewState, type ConfigDiff } from '../../src/protocol/dashboard';
import type { RunEvent } from '../../src/protocol/events';
import { configDiffOf, readConfigDiff } from '../../src/webviews/configDiff';
import { logRange, positiveOnly } from '../../webview/charts/logScale';
import { RunMetrics } from '../../webview/charts/runMetrics';
import { bestMarkers, type MarkedLine } from '../../webview/dashboard/bestMarkers';
import { comparisonTable, nextSort, sortRows, type ComparedRun } from '../../webview/dashboard/comparison';
import { tempDir } from './helpers';

test('config diff: only the fields that differ, values as the table shows them, a run without a config named', () => {
  const diff = configDiffOf([
    { runDir: '/r/a', config: { learning_rate: 2e-4, max_steps: 12, output_dir: '/r', lora_target_modules: ['q', 'v'], packing: false } },
    { runDir: '/r/b', config: { learning_rate: 1e-4, max_steps: 12, output_dir: '/s', lora_target_modules: ['q'], packing: true, seed: 7 } },
    { runDir: '/r/c', error: 'config.resolved.json: missing (the run never started)' },
  ]);
  assert.deepEqual(diff, {
    fields: ['learning_rate', 'lora_target_modules', 'packing', 'seed'],
    runs: [
      { runDir: '/r/a', values: [2e-4, '["q","v"]', false, null] },
      { runDir: '/r/b', values: [1e-4, '["q"]', true, 7] },
      { runDir: '/r/c', values: [null, null, null, null], error: 'config.resolved.json: missing (the run never started)' },
    ],
  });
  assert.ok(isConfigDiff(diff));
  assert.deepEqual(configDiffOf([{ runDir: '/r/a', config: { a: 1 } }]).fields, [], 'one run differs from nothing');
  const long = configDiffOf([{ runDir: '/a', config: { t: 'x'.repeat(5000) } }, { runDir: '/b', config: { t: 'y' } }]);
  assert.equal((long.runs[0].values[0] as string).length, 1000);
  assert.ok(isConfigDiff(long));
});

test('config diff read from run folders: config.resolved.json of each', async (t) => {
  const root = tempDir(t);
  const write = (name: string, config?: object) => {
    const dir = path.join(root, name);
    fs.mkdirSync(dir);
    if (config) fs.writeFileSync(path.join(dir, 'config.resolved.json'), JSON.stringify(config));
    return dir;
  };
  const a = write('a', { learning_rate: 0.1, seed: 1 });
  const b = write('b', { learning_rate: 0.2, seed: 1 });
  const c = write('c');
  const diff = await readConfigDiff([a, b, c]);
  assert.deepEqual(diff.fields, ['learning_rate']);
  assert.deepEqual(diff.runs.map((r) => [r.values, r.error]), [[[0.1], undefined], [[0.2], undefined], [[null], 'config.resolved.json: missing (the run never started)']]);
});

test('config diffs and compare replies are validated on receipt', () => {
  const good: ConfigDiff = { fields: ['lr'], runs: [{ runDir: '/a', values: [0.1] }] };
  assert.ok(isConfigDiff(good));
  assert.equal(isConfigDiff({ ...good, runs: [{ runDir: '/a', values: [] }] }), false, 'a value missing');
  assert.equal(isConfigDiff({ ...good, runs: [{ runDir: '/a', values: [{ html: '<b>' }] }] }), false, 'an object value');
  assert.equal(isConfigDiff({ ...good, runs: [{ runDir: '/a', values: [Number.NaN] }] }), false, 'NaN');
  assert.equal(isConfigDiff({ ...good, runs: [{ runDir: '/a', values: ['x'.repeat(1001)] }] }), false, 'text too long');
  assert.equal(isConfigDiff({ ...good, extra: 1 }), false, 'an unknown key');
  assert.equal(isConfigDiff({ fields: [''], runs: [] }), false, 'an empty field name');
  assert.ok(isCompareResult({ runs: [], configDiff: good }));
  assert.equal(isCompareResult({ runs: [] }), false, 'no config diff');
  assert.equal(isCompareResult({ runs: [{ run: { name: 'x' } }], configDiff: good }), false, 'a malformed run');
  assert.ok(dashboardGuards.compare({ runDirs: ['/a'] }));
});

test('webview state: log-scale charts and the table order are remembered; nonsense is refused', () => {
  assert.ok(isDashboardWebviewState({ runDir: '/a', logScale: ['loss-chart'], compareSort: { key: 'bestMetric', direction: 'descending' } }));
  assert.equal(isDashboardWebviewState({ runDir: '/a', logScale: 'loss-chart' }), false);
  assert.equal(isDashboardWebviewState({ runDir: '/a', compareSort: { key: 'run', direction: 'up' } }), false);
});

const runs: ComparedRun[] = [
  { runDir: '/r/a', name: 'a', trainLoss: 0.9, finalEval: { loss: 1.1, token_accuracy: 0.7 }, best: { step: 20, metric: 'loss', value: 1.0, final: true } },
  { runDir: '/r/b', name: 'b', trainLoss: 0.5, finalEval: { loss: 0.8 }, best: { step: 30, metric: 'loss', value: 0.75, final: false } },
  { runDir: '/r/c', name: 'c', finalEval: {} },
];
const diff: ConfigDiff = {
  fields: ['learning_rate', 'model_name_or_path'],
  runs: [
    { runDir: '/r/a', values: [2e-4, 'tiny-10'] },
    { runDir: '/r/b', values: [1e-4, 'tiny-9'] },
    { runDir: '/r/c', values: [null, null], error: 'config.resolved.json: missing (the run never started)' },
  ],
};

test('comparison table: differing fields, final train loss, final eval metrics present, best metric and step', () => {
  const table = comparisonTable(runs, diff, ['loss', 'token_accuracy', 'accuracy', 'f1', 'exact_match']);
  assert.deepEqual(
    table.columns.map((c) => c.label),
    ['run', 'learning_rate', 'model_name_or_path', 'final train loss', 'final eval loss', 'final token accuracy', 'best loss', 'best step'],
  );
  const text = table.rows.map((r) => table.columns.map((c) => r.cells[c.key].text));
  assert.deepEqual(text, [
    ['a', '0.0002', 'tiny-10', '0.9', '1.1', '0.7', '1', '20'],
    ['b', '0.0001', 'tiny-9', '0.5', '0.8', '–', '0.75', '30 (so far)'],
    ['c', '–', '–', '–', '–', '–', '–', '–'],
  ]);
  assert.equal(table.note, 'c: config.resolved.json: missing (the run never started)');
  // Runs that pick their best by different metrics say which in each cell.
  const mixed = comparisonTable([runs[0], { ...runs[1], best: { step: 5, metric: 'f1', value: 0.5, final: true } }], { fields: [], runs: [] }, ['loss']);
  assert.deepEqual(mixed.columns.map((c) => c.label).slice(-2), ['best metric', 'best step']);
  assert.deepEqual(mixed.rows.map((r) => r.cells.bestMetric.text), ['loss 1', 'f1 0.5']);
  assert.equal(mixed.note, 'The resolved configs are identical (apart from names and folders).');
  assert.ok(!comparisonTable([runs[2], runs[2]], diff, ['loss']).columns.some((c) => c.key === 'bestStep'), 'no best columns when no run tracks one');
});

test('sorting: numbers by value, text naturally, empty cells last in both directions, a second click reverses', () => {
  const table = comparisonTable(runs, diff, ['loss']);
  const order = (key: string, direction: 'ascending' | 'descending') => sortRows(table.rows, { key, direction }).map((r) => r.cells.run.text);
  assert.deepEqual(order('trainLoss', 'ascending'), ['b', 'a', 'c']);
  assert.deepEqual(order('trainLoss', 'descending'), ['a', 'b', 'c']);
  assert.deepEqual(order('config:learning_rate', 'ascending'), ['b', 'a', 'c']);
  // tiny-9 before tiny-10: numeric-aware text order.
  assert.deepEqual(order('config:model_name_or_path', 'ascending'), ['b', 'a', 'c']);
  assert.deepEqual(order('run', 'descending'), ['c', 'b', 'a']);
  assert.deepEqual(order('bestStep', 'descending'), ['b', 'a', 'c']);
  assert.deepEqual(sortRows(table.rows, undefined).map((r) => r.runDir), ['/r/a', '/r/b', '/r/c']);
  const first = nextSort(undefined, 'trainLoss');
  assert.deepEqual(first, { key: 'trainLoss', direction: 'ascending' });
  assert.deepEqual(nextSort(first, 'trainLoss'), { key: 'trainLoss', direction: 'descending' });
  assert.deepEqual(nextSort(first, 'run'), { key: 'run', direction: 'ascending' });
});

test('log scale: values at or below zero become gaps, x kept; the range rounded at the first digit', () => {
  const data = [[0, 1, 2, 3], [0, 0.5, -1, 2], [null, 3, 4, 0]];
  const { data: out, skipped } = positiveOnly(data);
  assert.deepEqual(out, [[0, 1, 2, 3], [null, 0.5, null, 2], [null, 3, 4, null]]);
  assert.equal(skipped, 3);
  assert.deepEqual(data[1], [0, 0.5, -1, 2], 'the original columns are untouched');
  assert.deepEqual(logRange(0.6207, 2.5), [0.6, 3]);
  assert.deepEqual(logRange(0.5, 20), [0.5, 20]);
  assert.deepEqual(logRange(1e-4, 1e-4), [1e-4, 2e-4]);
  assert.deepEqual(logRange(3e-5, 9.5e-5), [3e-5, 1e-4]);
  assert.deepEqual(logRange(null, null), [1, 10]);
  assert.deepEqual(logRange(-1, 5), [1, 10]);
});

test('best markers: on eval charts only, at the best step on each axis, a dot where the metric is drawn', () => {
  const metrics = new RunMetrics(0);
  let seq = 0;
  const ev = (type: string, fields: object) => ({ v: 1, seq: seq++, time: 1000 + seq, type, ...fields }) as unknown as RunEvent;
  metrics.add([
    ev('run_started', { step: 0, config: {}, total_steps: 20, steps_per_epoch: 10, num_parameters: 1, trainable_parameters: 1, world_size: 1, device: 'cpu' }),
    ev('eval', { step: 10, epoch: 1, loss: 2, token_accuracy: 0.5 }),
    ev('eval', { step: 20, epoch: 2, loss: 1, token_accuracy: 0.6 }),
  ]);
  const best = { step: 20, metric: 'loss', value: 1, final: true };
  const evalLine = (field: string): MarkedLine => ({ table: 'eval', field, present: (m) => m.evaluation.has(field as 'loss') });
  const color = (r: number, single: boolean) => (single ? 'yellow' : `run${r}`);
  const [onLoss] = bestMarkers([evalLine('loss')], [{ name: 'a', metrics, best }], 'step', color);
  assert.deepEqual(onLoss, { x: 20, y: 1, label: 'best', title: 'best loss 1 at step 20', color: 'yellow', key: 'best@20' });
  const [onAccuracy] = bestMarkers([evalLine('token_accuracy'), evalLine('f1')], [{ name: 'a', metrics, best }], 'epoch', color);
  assert.deepEqual([onAccuracy.x, onAccuracy.y], [2, undefined], 'x is the epoch of the evaluation; no dot on another metric');
  const two = bestMarkers([evalLine('loss')], [{ name: 'a', metrics, best }, { name: 'b', metrics, best: { ...best, step: 10, value: 2, final: false } }], 'time', color);
  assert.deepEqual(two.map((m) => [m.key, m.label, m.title, m.color, m.x]), [
    ['a:best@20', 'best · a', 'a: best loss 1 at step 20', 'run0', 1003 - 1001],
    ['b:best@10', 'best · b', 'b: best loss 2 at step 10 so far', 'run1', 1002 - 1001],
  ]);
  assert.deepEqual(bestMarkers([{ table: 'train', present: () => true }], [{ name: 'a', metrics, best }], 'step', color), [], 'no marker on a chart of train metrics');
  assert.deepEqual(bestMarkers([evalLine('loss')], [{ name: 'a', metrics, best: { ...best, step: 15 } }], 'epoch', color), [], 'no evaluation at that step: no x on the epoch axis');
});
