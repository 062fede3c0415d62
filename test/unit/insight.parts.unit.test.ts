// Pure parts of token insight: Python-identical row selection, packing arithmetic, the JSON row
// locator, the statistics cache and the chat command's flow.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { chatWithCheckpoint, EXPORT_BUTTON } from '../../src/insight/chatCommand';
import { jsonRecords } from '../../src/insight/datasetRows';
import { PythonRandom } from '../../src/insight/pythonRandom';
import { TokenStatsCache } from '../../src/insight/tokenStatsCache';
import { bestFitDecreasingRows, histogram, summarize, type TokenStats } from '../../src/insight/tokenStats';
import { pythonRound } from '../../src/insight/trainingSplit';
import { FakeUi, tempDir } from './helpers';

test('PythonRandom.sampleRange draws what random.Random(seed).sample(range(n), k) draws in CPython', () => {
  // Values printed by CPython 3.11 for the same calls.
  assert.deepEqual(new PythonRandom(42).sampleRange(10, 3), [1, 0, 4]);
  assert.deepEqual(new PythonRandom(43).sampleRange(3000, 1500).slice(0, 8), [157, 1171, 2851, 589, 1894, 1515, 2751, 2860]);
  assert.deepEqual(new PythonRandom(2 ** 40 + 5).sampleRange(50, 50).slice(0, 8), [32, 33, 17, 42, 1, 48, 2, 10]);
  assert.deepEqual(new PythonRandom(7).sampleRange(1000, 1), [331]);
});

test('pythonRound rounds halves to even like Python round()', () => {
  assert.deepEqual([0.5, 1.5, 2.5, 2.6, 3.49].map(pythonRound), [0, 2, 2, 3, 3]);
});

test('best-fit decreasing packs whole examples into the fewest rows', () => {
  assert.equal(bestFitDecreasingRows([6, 5, 4, 3, 2], 10), 2);
  assert.equal(bestFitDecreasingRows([9, 9, 9], 10), 3);
  const stats = summarize([{ inputIds: [1, 2, 3, 4], labels: [-100, -100, 3, 4], truncated: false, rendered: '' }, { inputIds: [1, 2], labels: [1, 2], truncated: true, rendered: '' }], 4, 2);
  assert.equal(stats.trained_tokens, 4);
  assert.equal(stats.masked_tokens, 2);
  assert.equal(stats.packing_efficiency.bfd, 6 / 8);
  assert.equal(stats.padding_efficiency, 6 / 8);
  assert.equal(stats.truncated_fraction, 0.5);
  assert.deepEqual(histogram([0, 3, 4, 8], 8, 2).counts, [2, 2]);
});

test('rows of a .json list are located at the line their object starts on', () => {
  const text = '[\n  {"a": "x, [y]"},\n\n  {"a": "}"}, {"a": 1}\n]';
  assert.deepEqual(jsonRecords(text, 'f.json').map(([where]) => where), ['f.json:2', 'f.json:4', 'f.json:4']);
  assert.throws(() => jsonRecords('[1]', 'f.json'), /f\.json:1: expected a JSON object, got int/);
});

test('the statistics cache recounts only when the stamp of the inputs changes, failures included', async () => {
  let stamp = 'a';
  let calls = 0;
  const settled: string[] = [];
  const cache = new TokenStatsCache(
    async () => {
      calls += 1;
      if (calls === 3) throw new Error('bad row');
      return { examples: calls } as TokenStats;
    },
    () => stamp,
    (configPath) => settled.push(configPath),
  );
  assert.deepEqual(cache.peek('c'), { state: 'counting' });
  assert.equal((await cache.get('c')).examples, 1);
  assert.equal((await cache.get('c')).examples, 1);
  assert.deepEqual(cache.peek('c'), { state: 'done', stats: { examples: 1 } });
  stamp = 'b';
  assert.equal((await cache.get('c')).examples, 2);
  stamp = 'c';
  await assert.rejects(cache.get('c'), /bad row/);
  await assert.rejects(cache.get('c'), /bad row/, 'a failure stays until the inputs change, so a redrawn lens does not count again');
  assert.equal(cache.peek('c').state, 'failed');
  stamp = 'd';
  assert.equal((await cache.get('c')).examples, 4);
  assert.deepEqual(settled, ['c', 'c', 'c', 'c'], 'each count that ended asked for a redraw once');
});

test('the statistics cache cancels a count whose inputs changed before it ended', async () => {
  let stamp = 'a';
  const signals: AbortSignal[] = [];
  const settled: string[] = [];
  const cache = new TokenStatsCache(
    (_configPath, signal) => {
      signals.push(signal);
      return new Promise((resolve, reject) => {
        signal.addEventListener('abort', () => reject(new Error('cancelled')));
        setTimeout(() => resolve({ examples: signals.length } as TokenStats), 20);
      });
    },
    () => stamp,
    (configPath) => settled.push(configPath),
  );
  const first = cache.get('c');
  stamp = 'b';
  const second = cache.get('c');
  await assert.rejects(first, /cancelled/);
  assert.equal((await second).examples, 2);
  assert.deepEqual([signals[0].aborted, signals[1].aborted], [true, false]);
  assert.deepEqual(settled, ['c'], 'the cancelled count asks for no redraw');
  stamp = 'c';
  const third = cache.get('c');
  cache.dispose();
  await assert.rejects(third, /cancelled/, 'dispose cancels the counts in flight');
});

test('chat with a run offers the export for its newest checkpoint, then opens the chat', async (t) => {
  const run = tempDir(t);
  for (const step of ['step-5', 'step-10']) {
    fs.mkdirSync(path.join(run, 'checkpoints', step), { recursive: true });
    fs.writeFileSync(path.join(run, 'checkpoints', step, 'complete.json'), '{"format": 1, "files": {}}');
  }
  const ui = new FakeUi();
  const exported: string[] = [];
  const opened: string[] = [];
  const deps = { ui, exportOnnx: async (c: string) => (exported.push(c), undefined), openChat: (c: string) => void opened.push(c) };
  ui.buttonAnswers = [undefined];
  await chatWithCheckpoint(deps, run);
  assert.deepEqual([exported, opened], [[], []], 'declining the export opens nothing');
  ui.buttonAnswers = [EXPORT_BUTTON];
  await chatWithCheckpoint(deps, run);
  const newest = path.join(run, 'checkpoints', 'step-10');
  assert.deepEqual([exported, opened], [[newest], [newest]]);
  fs.mkdirSync(path.join(newest, 'onnx'));
  fs.writeFileSync(path.join(newest, 'onnx', 'model.onnx'), '');
  await chatWithCheckpoint(deps, newest);
  assert.equal(exported.length, 1, 'an existing export is used as is');
  assert.equal(opened.length, 2);
});
