import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { RunRegistry } from '../../src/runs/runRegistry';
import { previewRun, previewRunAsync } from '../../src/runs/runPreview';
import { loadRun } from '../../src/runs/runStore';
import type { CachedRun, RunCache } from '../../src/runs/summaryCache';
import { tempDir } from './helpers';

const line = (seq: number, time: number, type: string, fields: Record<string, unknown>) => `${JSON.stringify({ v: 1, seq, time, type, ...fields })}\n`;

/** A run's events.jsonl: starts, train steps, evaluations every `evalEvery`, the ending unless it crashed. */
interface RunShape {
  steps: number;
  evalEvery?: number;
  /** run_finished's status; null: none (crashed). */
  ending?: string | null;
  /** A stop and a resume at this step. */
  resumeAt?: number;
  /** An error event at step 10. */
  error?: boolean;
}

function runFile(dir: string, { steps, evalEvery = 100, ending = 'completed', resumeAt = 0, error = false }: RunShape) {
  fs.mkdirSync(dir, { recursive: true });
  let seq = 0;
  let time = 1_767_225_600;
  const start = () => line(seq++, time, 'run_started', { step: 0, config: { learning_rate: 1e-4 }, config_path: '/w/demo.sft.yaml', total_steps: steps, num_parameters: 10, trainable_parameters: 10, world_size: 1, device: 'cpu' });
  let text = start();
  for (let step = 1; step <= steps; step++) {
    time += 0.5;
    text += line(seq++, time, 'train', { step, epoch: step / 1000, loss: 2 / step, grad_norm: 1, learning_rate: 1e-4, tokens: step * 100, tokens_per_s: 900 + step });
    if (step % evalEvery === 0) text += line(seq++, time, 'eval', { step, epoch: step / 1000, loss: 3 / step, token_accuracy: 0.5 });
    if (error && step === 10) text += line(seq++, time, 'error', { step, kind: 'nan', message: 'loss is NaN', hint: 'lower the learning rate' });
    if (resumeAt && step === resumeAt) text += line(seq++, time, 'run_finished', { step, status: 'stopped' }) + start();
  }
  if (ending) text += line(seq++, time, 'run_finished', { step: steps, status: ending });
  fs.writeFileSync(path.join(dir, 'events.jsonl'), text);
  return dir;
}

// A day after now: a run without status.json or ending, untouched since it was written, has crashed.
const options = { now: () => Date.now() / 1000 + 86_400, isPidAlive: () => false };

test('a preview from the head and tail of a long run gives the row the whole read gives', async (t) => {
  const root = tempDir(t);
  const cases = [
    runFile(path.join(root, 'done-20260101-000000'), { steps: 3000 }),
    runFile(path.join(root, 'stopped-20260101-000000'), { steps: 3000, ending: 'stopped' }),
    runFile(path.join(root, 'crashed-20260101-000000'), { steps: 3000, ending: null }),
    runFile(path.join(root, 'resumed-20260101-000000'), { steps: 3000, resumeAt: 2900 }),
    runFile(path.join(root, 'failed-20260101-000000'), { steps: 3000, ending: 'failed', error: true, evalEvery: 250 }),
  ];
  for (const dir of cases) {
    const whole = await loadRun(dir, options);
    whole.reader.close();
    // The one fact a tail cannot know: an error logged early in a long run (the whole read adds it).
    const { error: _, ...expected } = whole.summary;
    for (const [how, preview] of [['sync', previewRun(dir, options)], ['async', await previewRunAsync(dir, options)]] as const) {
      const { error: __, ...got } = preview ?? { error: undefined };
      assert.deepEqual(got, expected, `${path.basename(dir)} (${how})`);
    }
  }
});

test('no preview where it saves nothing or could mislead: a small file, a live run, run_started beyond the head, no file', async (t) => {
  const root = tempDir(t);
  assert.equal(previewRun(runFile(path.join(root, 'small-20260101-000000'), { steps: 100 }), options), undefined);
  const live = runFile(path.join(root, 'live-20260101-000000'), { steps: 3000, ending: null });
  fs.writeFileSync(path.join(live, 'status.json'), JSON.stringify({ pid: 4242, state: 'running', heartbeat: options.now() }));
  assert.equal(previewRun(live, { ...options, isPidAlive: (pid) => pid === 4242 }), undefined);
  // run_started beyond the head (a config of 20 KB): no preview rather than a row without its config.
  const big = runFile(path.join(root, 'big-20260101-000000'), { steps: 3000 });
  const text = fs.readFileSync(path.join(big, 'events.jsonl'), 'utf8').split('\n');
  const started = JSON.parse(text[0]);
  started.config.chat_template = 'x'.repeat(20_000);
  fs.writeFileSync(path.join(big, 'events.jsonl'), [JSON.stringify(started), ...text.slice(1)].join('\n'));
  assert.equal(previewRun(big, options), undefined);
  fs.mkdirSync(path.join(root, 'empty-20260101-000000'));
  assert.equal(previewRun(path.join(root, 'empty-20260101-000000'), options), undefined);
  // The asynchronous reads (slow file systems) decline the same runs.
  for (const dir of ['small', 'big', 'empty']) assert.equal(await previewRunAsync(path.join(root, `${dir}-20260101-000000`), options), undefined, dir);
  assert.equal(await previewRunAsync(live, { ...options, isPidAlive: (pid) => pid === 4242 }), undefined, 'live');
});

test("a window's first scan lists every run from previews while the files are still read, then the whole summaries", async (t) => {
  const root = tempDir(t);
  const runs = Array.from({ length: 24 }, (_, i) => runFile(path.join(root, `r${String(i).padStart(2, '0')}-20260101-000000`), { steps: 3000 }));
  const registry = new RunRegistry({ roots: async () => [root], statusPollMs: 60_000, ...options });
  t.after(() => registry.dispose());
  let allListedWhileLoading = false;
  const runChanges = new Set<string>();
  let setChanges = 0;
  let firstAllListed: number | undefined;
  let loadedAt: number | undefined;
  const started = performance.now();
  registry.onDidChange((summary) => {
    if (summary) runChanges.add(summary.runDir);
    else setChanges++;
    if (registry.list().length === runs.length && firstAllListed === undefined) {
      firstAllListed = performance.now() - started;
      allListedWhileLoading = registry.isLoading && runs.some((dir) => registry.events(dir).length === 0);
    }
    if (!registry.isLoading && loadedAt === undefined) loadedAt = performance.now() - started;
  });
  await registry.refresh();
  t.diagnostic(`all ${runs.length} rows after ${firstAllListed?.toFixed(0)} ms, loaded after ${loadedAt?.toFixed(0)} ms`);
  // Each preview adds a run (a change of the set); its whole read then changes that run only.
  assert.deepEqual([...runChanges].sort(), [...runs].sort(), 'every previewed run announced as its own change once read');
  assert.ok(setChanges <= runs.length + 2, `${setChanges} changes of the whole set for ${runs.length} runs`);
  assert.ok(allListedWhileLoading, 'every run was listed (from its preview) before every run was read');
  for (const dir of runs) {
    const whole = await loadRun(dir, options);
    whole.reader.close();
    assert.deepEqual(registry.get(dir), whole.summary);
    assert.ok(registry.events(dir).length > 0, 'the whole read keeps the evaluations');
  }
});

test('where previews are slow (a network file system), the rest are read asynchronously: every run is listed the same', async (t) => {
  const root = tempDir(t);
  const runs = Array.from({ length: 16 }, (_, i) => runFile(path.join(root, `s${String(i).padStart(2, '0')}-20260101-000000`), { steps: 3000 }));
  const listedBy = async (slowPreviewMs: number) => {
    const registry = new RunRegistry({ roots: async () => [root], statusPollMs: 60_000, slowPreviewMs, ...options });
    t.after(() => registry.dispose());
    const refreshing = registry.refresh();
    await registry.listed();
    const listed = registry.list();
    assert.ok(runs.every((dir) => registry.events(dir).length === 0), 'previews, not whole reads yet');
    await refreshing;
    return listed;
  };
  // Every preview counts as slow: 8 read synchronously (the sample judged), the other 8 asynchronously.
  assert.deepEqual(await listedBy(0), await listedBy(Number.POSITIVE_INFINITY));
});

test('listed() resolves once every run shows, from the cache or a preview, before the files are read in full', async (t) => {
  const root = tempDir(t);
  const older = Array.from({ length: 12 }, (_, i) => runFile(path.join(root, `a${String(i).padStart(2, '0')}-20260101-000000`), { steps: 3000 }));
  // A first window reads every run and writes the cache; the next one knows those from it.
  let stored: [string, CachedRun][] = [];
  const cache: RunCache = { read: async () => new Map(stored), write: async (entries) => void (stored = [...entries]) };
  const first = new RunRegistry({ roots: async () => [root], statusPollMs: 60_000, cache, ...options });
  await first.refresh();
  first.dispose();
  assert.equal(stored.length, older.length);
  const newer = Array.from({ length: 12 }, (_, i) => runFile(path.join(root, `b${String(i).padStart(2, '0')}-20260102-000000`), { steps: 3000 }));
  const registry = new RunRegistry({ roots: async () => [root], statusPollMs: 60_000, cache, ...options });
  t.after(() => registry.dispose());
  const refreshing = registry.refresh();
  await registry.listed();
  assert.deepEqual(registry.list().map((r) => r.runDir).sort(), [...older, ...newer].sort(), 'every run listed');
  assert.ok(registry.isLoading, 'still reading');
  assert.ok(older.every((dir) => registry.events(dir).length > 0), 'the cached runs come with their evaluations');
  assert.ok(newer.every((dir) => registry.events(dir).length === 0), 'the new runs are previews: not read in full yet');
  await refreshing;
  assert.ok(newer.every((dir) => registry.events(dir).length > 0), 'then read in full');
});
