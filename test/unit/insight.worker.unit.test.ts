// Token statistics off the extension host's thread (src/insight/tokenStatsWorker.ts, insightWorker.ts):
// the host's event loop stays free while a 20k-row .json list is counted, the worker's numbers (split
// over helper threads or not) are the in-process count's, errors keep their class and message across
// the thread, and cancelling or replacing a count ends its worker.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { countConfigTokens, encodeExampleAt, insightErrorMessage } from '../../src/insight/configTokenStats';
import { DataError } from '../../src/insight/datasetRows';
import { examplePreview } from '../../src/insight/examplePreview';
import { TokenStatsCache } from '../../src/insight/tokenStatsCache';
import { CancelledError, countStatsInWorker, TokenStatsJob, type TokenStatsJobOptions } from '../../src/insight/tokenStatsWorker';
import { repoRoot, tempDir } from './helpers';
import { lagProbe } from './eventLoopLag';

/** Built by `node esbuild.mjs --tests` next to out/test/, outside the folder `node --test` runs. */
const workerScript = path.join(repoRoot, 'out', 'insightWorker.js');
const model = path.join(repoRoot, 'examples', 'tiny-llama');

const WORDS = 'the a of to and in is for that with as on be are this by an it from or can at which your have more will use make data time how new when also one two first each other these some what write explain describe list give sentence word text story summary answer question steps simple short good best number water energy system process model language computer science history city country food music team work plan'.split(' ');

/** Alpaca rows as one pretty-printed JSON list (as alpaca_data.json is written), deterministic. */
function writeAlpacaJson(file: string, rows: number, seed = 1): void {
  let state = seed;
  const random = () => ((state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const words = (lo: number, hi: number) => Array.from({ length: lo + Math.floor(random() * (hi - lo + 1)) }, () => WORDS[Math.floor(random() * WORDS.length)]).join(' ');
  const data = Array.from({ length: rows }, () => ({ instruction: words(3, 12), input: random() < 0.4 ? words(2, 10) : '', output: words(4, 30) }));
  fs.writeFileSync(file, JSON.stringify(data, null, 4));
}

function writeConfig(dir: string, trainFile: string, extra = ''): string {
  const config = path.join(dir, 'data.sft.yaml');
  fs.writeFileSync(config, `model_name_or_path: ${model}\ntrain_file: ${trainFile}\ndataset_format: alpaca\nmax_length: 256\n${extra}`);
  return config;
}

const job = (config: string, options: TokenStatsJobOptions = {}) => new TokenStatsJob(config, { workerScript, ...options });

test('counting a 20k-row .json list in the worker never blocks the event loop for 50 ms', async (t) => {
  const dir = tempDir(t);
  const data = path.join(dir, 'alpaca.json');
  writeAlpacaJson(data, 20_000);
  const config = writeConfig(dir, data);
  const progress: number[] = [];
  const probe = lagProbe();
  const counted = job(config, { onProgress: (done) => progress.push(done) });
  t.after(() => (probe.stop(), counted.cancel()));
  const { stats, table } = await counted.result;
  const lag = probe.stop();
  await counted.exited;
  assert.equal(stats.examples, 20_000);
  assert.equal(table.lengths.length, 20_000);
  assert.ok(progress.length >= 2 && progress.at(-1) === 20_000, `progress reported as it went: ${progress.slice(-3)}`);
  assert.ok(lag.ticks > 20, `the probe ran (${lag.ticks} ticks)`);
  t.diagnostic(`longest block ${lag.maxBlockedMs.toFixed(1)} ms, longest timer lag ${lag.maxLagMs.toFixed(1)} ms over ${lag.ticks} ticks`);
  assert.ok(lag.maxBlockedMs < 50, `the event loop was blocked for ${lag.maxBlockedMs.toFixed(1)} ms (timer lag ${lag.maxLagMs.toFixed(1)} ms)`);
});

test('the worker counts what the host would, on one thread or split over helpers; the kept worker previews examples', async (t) => {
  const dir = tempDir(t);
  const data = path.join(dir, 'alpaca.json');
  writeAlpacaJson(data, 7_000, 7);
  // 6,174 training rows: three shards of at least 2,000 rows with three threads.
  const config = writeConfig(dir, data, 'validation_split_ratio: 0.1\nsubsample: 0.98\n');
  const local = await countConfigTokens(config);
  assert.equal(local.stats.examples, 6_174);
  for (const threads of [1, 3]) {
    const counted = job(config, { threads, keep: true });
    t.after(() => counted.cancel()); // a kept worker would keep the test process alive after a failed assertion
    const { stats, table } = await counted.result;
    assert.deepEqual(stats, local.stats, `statistics with ${threads} thread(s)`);
    assert.deepEqual(table, local.table, `per-example table with ${threads} thread(s)`);
    for (const index of [0, 3_000, stats.examples - 1]) {
      const want = examplePreview(index, encodeExampleAt(local.prepared, index), local.prepared.tokenizer.tokenText);
      assert.deepEqual(await counted.example(index), want, `preview of example ${index}`);
    }
    await assert.rejects(counted.example(stats.examples), /no example/);
    counted.cancel();
    await counted.exited;
    await assert.rejects(counted.example(0), /no longer loaded/);
  }
});

test('a bad row reaches the host as the DataError the in-process count throws: the first in training order, whichever shard holds it', async (t) => {
  const dir = tempDir(t);
  const data = path.join(dir, 'alpaca.json');
  writeAlpacaJson(data, 4_500, 3);
  const rows = JSON.parse(fs.readFileSync(data, 'utf8'));
  const config = writeConfig(dir, data);
  // With two threads the rows split at 2,250: row 2,300 is early in the helper's shard, row 2,000 late in
  // the first; once both are bad the helper fails first in time, but row 2,000 comes first in order.
  for (const bad of [[2_300], [2_000, 2_300]]) {
    const edited = rows.map((row: Record<string, unknown>, i: number) => (bad.includes(i) ? { ...row, output: 42 } : row));
    fs.writeFileSync(data, JSON.stringify(edited, null, 1));
    const local = await countConfigTokens(config).then(
      () => assert.fail('the in-process count accepted the bad row'),
      (error: unknown) => error,
    );
    assert.ok(local instanceof DataError);
    assert.match(local.message, new RegExp(`alpaca\\.json:${bad[0] * 5 + 2}: `), 'rows of JSON.stringify(rows, null, 1) start every 5 lines after line 2');
    for (const threads of [1, 2]) {
      const error = await job(config, { threads }).result.then(
        () => assert.fail('the worker accepted the bad row'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof DataError, `a DataError with ${threads} thread(s)`);
      assert.equal(error.message, local.message);
      assert.equal(error.hint, local.hint);
      assert.equal(insightErrorMessage(error), insightErrorMessage(local));
    }
  }
});

test('cancel ends the worker and rejects the count; a newer count of the same config replaces the older', async (t) => {
  const dir = tempDir(t);
  const data = path.join(dir, 'alpaca.json');
  writeAlpacaJson(data, 5_000, 5);
  const config = writeConfig(dir, data);

  const cancelled = job(config, { onProgress: (done) => done > 0 && cancelled.cancel() });
  t.after(() => cancelled.cancel());
  await assert.rejects(cancelled.result, CancelledError);
  await cancelled.exited;

  let stamp = 'first';
  const started: AbortSignal[] = [];
  const cache = new TokenStatsCache(
    (configPath, signal) => (started.push(signal), countStatsInWorker(configPath, signal, { workerScript })),
    () => stamp,
  );
  t.after(() => cache.dispose());
  const older = cache.get(config);
  stamp = 'second';
  const newer = cache.get(config);
  await assert.rejects(older, CancelledError);
  assert.equal((await newer).examples, 5_000);
  assert.deepEqual(
    started.map((s) => s.aborted),
    [true, false],
  );
});
