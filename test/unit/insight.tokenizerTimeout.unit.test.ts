// Issue 13, item 8: a workspace tokenizer.json whose regular expressions backtrack without end must not
// freeze the extension host. Every tokenizer use runs in the insight worker; a count that stops making
// progress, or a preview that does not come back, within the time limit ends with an error naming the
// tokenizer file and the fix, the worker is stopped, and the next job starts a fresh one.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { TokenizerTimeoutError } from '../../src/insight/tokenizerLoader';
import { TokenStatsJob } from '../../src/insight/tokenStatsWorker';
import { lagProbe } from './eventLoopLag';
import { repoRoot, tempDir } from './helpers';

const workerScript = path.join(repoRoot, 'out', 'insightWorker.js');
const tinyModel = path.join(repoRoot, 'examples', 'tiny-llama');
const LIMIT_MS = 1500;
/**
 * A stuck row tokenized on the host's own thread would hold its event loop for the whole limit; off it, the
 * loop stays free. A tenth of the limit tells the two apart with room for a garbage collection or a page fault
 * on a loaded 2-core machine (a bound of 50 ms failed once while a CI run shared the machine).
 */
const HOST_BLOCK_LIMIT_MS = LIMIT_MS / 10;
/** `(a+)+$` tries every split of the run of a's before failing at the b: 2^40 ways, for ever. */
const BACKTRACKING = '(a+)+$';
const RUN = 'a'.repeat(40) + 'b';

/** A model folder with the tiny tokenizer, edited by `edit`. */
function modelFolder(root: string, edit: (tokenizer: Record<string, any>) => void): string {
  const dir = path.join(root, 'model');
  fs.mkdirSync(dir);
  const tokenizer = JSON.parse(fs.readFileSync(path.join(tinyModel, 'tokenizer.json'), 'utf8'));
  edit(tokenizer);
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  fs.copyFileSync(path.join(tinyModel, 'tokenizer_config.json'), path.join(dir, 'tokenizer_config.json'));
  return dir;
}

function writeConfig(root: string, model: string, outputs: string[]): string {
  const data = path.join(root, 'data.json');
  fs.writeFileSync(data, JSON.stringify(outputs.map((output, i) => ({ instruction: `Say something, ${i}.`, input: '', output }))));
  const config = path.join(root, 'run.sft.yaml');
  fs.writeFileSync(config, `model_name_or_path: ${model}\ntrain_file: ${data}\ndataset_format: alpaca\nmax_length: 256\n`);
  return config;
}

const job = (config: string, keep = false, threads = 1) => new TokenStatsJob(config, { workerScript, threads, keep, timeoutMs: LIMIT_MS });

for (const threads of [1, 2]) {
  test(`a pre-tokenizer regex that backtracks without end stops the count within the limit, and the host never waits (${threads} thread(s))`, { timeout: 60_000 }, async (t) => {
    const root = tempDir(t);
    const model = modelFolder(root, (tokenizer) => {
      tokenizer.pre_tokenizer = { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: BACKTRACKING }, behavior: 'Isolated', invert: false }, tokenizer.pre_tokenizer] };
    });
    // 4,100 rows: with two threads the stuck row (3,000) is in the helper's shard, and the other thread finishes first.
    const outputs = Array.from({ length: 4100 }, (_, i) => `Answer number ${i}.`);
    const config = writeConfig(root, model, [...outputs.slice(0, 3000), `It goes ${RUN}`, ...outputs.slice(3000)]);

    const probe = lagProbe();
    const started = performance.now();
    const counted = job(config, false, threads);
    t.after(() => (probe.stop(), counted.cancel()));
    const error = await counted.result.then(
      () => assert.fail('the count finished'),
      (e: unknown) => e,
    );
    const elapsed = performance.now() - started;
    const lag = probe.stop();
    await counted.exited;
    assert.ok(error instanceof TokenizerTimeoutError, String(error));
    assert.ok(error.message.startsWith(`${path.join(model, 'tokenizer.json')}: `), error.message);
    assert.match(error.message, /training rows of run\.sft\.yaml/);
    assert.match(error.message, /Replace this tokenizer\.json/);
    t.diagnostic(`stopped after ${elapsed.toFixed(0)} ms (limit ${LIMIT_MS} ms per row); host event loop: longest block ${lag.maxBlockedMs.toFixed(1)} ms, longest timer lag ${lag.maxLagMs.toFixed(1)} ms over ${lag.ticks} ticks`);
    assert.ok(elapsed >= LIMIT_MS - 5, `waited the limit (${elapsed.toFixed(0)} ms)`);
    assert.ok(elapsed < LIMIT_MS + 15_000, `stopped soon after the limit (${elapsed.toFixed(0)} ms)`);
    assert.ok(lag.ticks > 50, `the probe ran (${lag.ticks} ticks)`);
    assert.ok(lag.maxBlockedMs < HOST_BLOCK_LIMIT_MS, `the host's event loop was blocked for ${lag.maxBlockedMs.toFixed(1)} ms of a ${elapsed.toFixed(0)} ms job`);

    // The next count gets a fresh worker: with the row fixed, it counts.
    writeConfig(root, model, [...outputs, 'It goes aaaa.']);
    const recount = job(config, false, threads);
    t.after(() => recount.cancel());
    assert.equal((await recount.result).stats.examples, 4101);
  });
}

test('a label-mask preview whose decoder regex backtracks without end fails within the limit; counting again works', { timeout: 60_000 }, async (t) => {
  const root = tempDir(t);
  // RUN is one added token; showing its text runs the decoder's Replace regex on it (counting never decodes).
  const model = modelFolder(root, (tokenizer) => {
    tokenizer.added_tokens.push({ id: 261, content: RUN, single_word: false, lstrip: false, rstrip: false, normalized: false, special: false });
    tokenizer.model.vocab[RUN] = 261;
    tokenizer.decoder = { type: 'Sequence', decoders: [{ type: 'Replace', pattern: { Regex: BACKTRACKING }, content: '' }, tokenizer.decoder] };
  });
  const config = writeConfig(root, model, ['Plain.', `It goes ${RUN}`]);
  const counted = job(config, true);
  t.after(() => counted.cancel());
  assert.equal((await counted.result).stats.examples, 2);
  assert.ok((await counted.example(0)).tokens.length > 0, 'an example without the token previews');

  const probe = lagProbe();
  const started = performance.now();
  const error = await counted.example(1).then(
    () => assert.fail('the preview finished'),
    (e: unknown) => e,
  );
  const elapsed = performance.now() - started;
  const lag = probe.stop();
  await counted.exited;
  assert.ok(error instanceof TokenizerTimeoutError, String(error));
  assert.ok(error.message.startsWith(`${path.join(model, 'tokenizer.json')}: `), error.message);
  assert.match(error.message, /training example 2 of run\.sft\.yaml for the label-mask preview/);
  t.diagnostic(`preview stopped after ${elapsed.toFixed(0)} ms (limit ${LIMIT_MS} ms); host event loop: longest block ${lag.maxBlockedMs.toFixed(1)} ms over ${lag.ticks} ticks`);
  assert.ok(elapsed >= LIMIT_MS - 5 && elapsed < LIMIT_MS + 5_000, `stopped at the limit (${elapsed.toFixed(0)} ms)`);
  assert.ok(lag.maxBlockedMs < HOST_BLOCK_LIMIT_MS, `the host's event loop was blocked for ${lag.maxBlockedMs.toFixed(1)} ms`);
  await assert.rejects(counted.example(0), /no longer loaded/);

  const again = job(config, true);
  t.after(() => again.cancel());
  assert.equal((await again.result).stats.examples, 2);
  assert.ok((await again.example(0)).tokens.length > 0, 'a fresh worker previews again');
});

test('a count of many quick rows is not stopped, however much longer than the limit it takes', async (t) => {
  const root = tempDir(t);
  const model = modelFolder(root, () => undefined);
  const config = writeConfig(root, model, Array.from({ length: 3000 }, (_, i) => `Answer ${i}. `.repeat(20)));
  const limitMs = 300;
  let encodingStarted: number | undefined;
  const counted = new TokenStatsJob(config, { workerScript, threads: 1, timeoutMs: limitMs, onProgress: () => (encodingStarted ??= performance.now()) });
  t.after(() => counted.cancel());
  const { stats } = await counted.result;
  const elapsed = performance.now() - (encodingStarted ?? 0);
  t.diagnostic(`3,000 rows encoded in ${elapsed.toFixed(0)} ms under a ${limitMs} ms limit per row`);
  assert.equal(stats.examples, 3000);
  assert.ok(elapsed > 3 * limitMs, `the count outlasted the limit several times over (${elapsed.toFixed(0)} ms), so the limit is per row, not per count`);
});
