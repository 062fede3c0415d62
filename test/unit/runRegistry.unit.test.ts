import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { RunState } from '../../src/protocol/runSummary';
import { RunRegistry } from '../../src/runs/runRegistry';
import { SummaryCacheFile } from '../../src/runs/summaryCache';
import { eventually, tempDir } from './helpers';

test('a spawned run that finishes is announced as completed before its process is reaped', async (t) => {
  const root = tempDir(t);
  const runDir = path.join(root, 'spawned-20260101-000000');
  fs.mkdirSync(runDir);
  const registry = new RunRegistry({ roots: async () => [root], eventPollMs: 20, statusPollMs: 60_000 });
  t.after(() => registry.dispose());
  const states: RunState[] = [];
  registry.onDidChange((summary) => summary && states.push(summary.state));

  await registry.trackSpawned(runDir, process.pid);
  assert.equal(registry.get(runDir)?.state, 'starting');
  const now = Date.now() / 1000;
  const lines = [
    { v: 1, seq: 0, time: now, type: 'run_started', step: 0, config: {}, total_steps: 1, num_parameters: 1, trainable_parameters: 1, world_size: 1, device: 'cpu' },
    { v: 1, seq: 1, time: now + 1, type: 'run_finished', step: 1, status: 'completed' },
  ];
  fs.writeFileSync(path.join(runDir, 'events.jsonl'), lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
  // The tree listens to onDidChange only: the ending must reach it from the events alone.
  await eventually(() => states.includes('completed'));
  assert.equal(registry.get(runDir)?.state, 'completed');
});

const started = (seq: number, time: number) => ({ v: 1, seq, time, type: 'run_started', step: 0, config: {}, total_steps: 3, num_parameters: 1, trainable_parameters: 1, world_size: 1, device: 'cpu' });
const trainLine = (seq: number, step: number, time: number) =>
  ({ v: 1, seq, time, type: 'train', step, epoch: step / 10, loss: 1 / step, grad_norm: 1, learning_rate: 1e-3, tokens: step, tokens_per_s: 5 });
function writeRun(dir: string, lines: object[]): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'events.jsonl'), lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
}

test('one unreadable run folder is one error row; the other runs load', async (t) => {
  const root = tempDir(t);
  const good = path.join(root, 'good-20260101-000000');
  writeRun(good, [started(0, 100), trainLine(1, 1, 101), { v: 1, seq: 2, time: 102, type: 'run_finished', step: 1, status: 'completed' }]);
  // A directory where events.jsonl belongs: reading it fails with EISDIR.
  const bad = path.join(root, 'bad-20260101-000000');
  fs.mkdirSync(path.join(bad, 'events.jsonl'), { recursive: true });
  const registry = new RunRegistry({ roots: async () => [root], statusPollMs: 60_000, isPidAlive: () => false });
  t.after(() => registry.dispose());

  await registry.refresh();
  assert.equal(registry.get(good)?.state, 'completed');
  const row = registry.get(bad);
  assert.equal(row?.state, 'unreadable');
  assert.match(row?.error?.message ?? '', /EISDIR/);
  assert.deepEqual(registry.list().map((r) => r.name).sort(), ['bad-20260101-000000', 'good-20260101-000000']);

  // Fixed on disk: the next scan reads it.
  fs.rmSync(path.join(bad, 'events.jsonl'), { recursive: true });
  writeRun(bad, [started(0, 200), { v: 1, seq: 1, time: 201, type: 'run_finished', step: 0, status: 'stopped' }]);
  await registry.refresh();
  assert.equal(registry.get(bad)?.state, 'stopped');
});

test('the registry keeps summaries and the few non-train events, not the train steps', async (t) => {
  const root = tempDir(t);
  const runDir = path.join(root, 'long-20260101-000000');
  const lines: object[] = [started(0, 100)];
  for (let step = 1; step <= 5000; step++) lines.push(trainLine(step, step, 100 + step));
  lines.push({ v: 1, seq: 5001, time: 6000, type: 'eval', step: 5000, loss: 0.5 });
  lines.push({ v: 1, seq: 5002, time: 6001, type: 'run_finished', step: 5000, status: 'completed' });
  writeRun(runDir, lines);
  const registry = new RunRegistry({ roots: async () => [root], statusPollMs: 60_000, isPidAlive: () => false });
  t.after(() => registry.dispose());
  await registry.refresh();
  const run = registry.get(runDir);
  assert.equal(run?.step, 5000);
  assert.equal(run?.loss, 1 / 5000);
  assert.equal(run?.evalLoss, 0.5);
  assert.deepEqual(registry.events(runDir).map((e) => e.type), ['run_started', 'eval', 'run_finished']);
});

test('runs load newest first, each announced as it loads, with "loading" until the scan ends', async (t) => {
  const root = tempDir(t);
  const dirs = Array.from({ length: 6 }, (_, i) => path.join(root, `r${i}-20260101-000000`));
  dirs.forEach((dir, i) => {
    writeRun(dir, [started(0, 100 + i)]);
    const when = new Date(Date.UTC(2026, 0, 1, 0, i));
    fs.utimesSync(dir, when, when);
  });
  const registry = new RunRegistry({ roots: async () => [root], statusPollMs: 60_000, isPidAlive: () => false });
  t.after(() => registry.dispose());
  assert.equal(registry.isLoading, true, 'nothing scanned yet: not "no runs"');
  const seen: { count: number; loading: boolean }[] = [];
  registry.onDidChange((summary) => summary || seen.push({ count: registry.list().length, loading: registry.isLoading }));
  await registry.refresh();
  assert.equal(registry.isLoading, false);
  const counts = seen.map((s) => s.count);
  assert.ok(counts.includes(1) && counts.includes(3), `runs appear one by one: ${counts.join(',')}`);
  assert.deepEqual(seen.at(-1), { count: 6, loading: false });
  assert.ok(seen.slice(0, -1).every((s) => s.loading));
});

test('paths are known only when found under the roots or spawned here', async (t) => {
  const root = tempDir(t);
  const runDir = path.join(root, 'known-20260101-000000');
  writeRun(runDir, [started(0, 100)]);
  const registry = new RunRegistry({ roots: async () => [root], statusPollMs: 60_000, isPidAlive: () => false });
  t.after(() => registry.dispose());
  void registry.refresh();
  // Asked while the scan runs: the answer waits for it.
  assert.equal(await registry.knows(runDir), true);
  for (const other of ['/etc', '/', root, `${runDir}/..`, path.join(root, 'missing')]) assert.equal(await registry.knows(other), false, other);
  assert.equal(registry.list().length, 1, 'asking adds nothing');
  const spawned = path.join(tempDir(t), 'spawned-20260101-000000');
  fs.mkdirSync(spawned);
  await registry.trackSpawned(spawned, undefined);
  assert.equal(await registry.knows(spawned), true);
});

test('the workspace runs folder is read while the search for configs is still out', async (t) => {
  const quick = tempDir(t);
  const declared = tempDir(t);
  writeRun(path.join(quick, 'a-20260101-000000'), [started(0, 100)]);
  writeRun(path.join(declared, 'b-20260101-000000'), [started(0, 200)]);
  let searched!: (roots: string[]) => void;
  const search = new Promise<string[]>((resolve) => (searched = resolve));
  const registry = new RunRegistry({ roots: () => search, quickRoots: () => [quick], statusPollMs: 60_000, isPidAlive: () => false });
  t.after(() => registry.dispose());
  const refreshed = registry.refresh();
  await eventually(() => registry.list().length === 1); // the quick root's run, listed before the search ends
  assert.equal(registry.list()[0].name, 'a-20260101-000000');
  assert.equal(registry.isLoading, true, 'still loading: the configs may name more runs folders');
  searched([quick, declared]);
  await refreshed;
  assert.deepEqual(registry.list().map((r) => r.name), ['b-20260101-000000', 'a-20260101-000000']);
  assert.equal(registry.isLoading, false);
});

test('ended runs come from the cache while their file is unchanged, and are read again once it changes', async (t) => {
  const root = tempDir(t);
  const cacheFile = path.join(tempDir(t), 'storage', 'runs-cache.json');
  const ended = path.join(root, 'ended-20260101-000000');
  writeRun(ended, [started(0, 100), { ...trainLine(1, 1, 101), loss: 1.5 }, { v: 1, seq: 2, time: 102, type: 'run_finished', step: 1, status: 'completed' }]);
  const active = path.join(root, 'active-20260101-000000');
  writeRun(active, [started(0, 100), trainLine(1, 1, 101)]);
  fs.writeFileSync(path.join(active, 'status.json'), JSON.stringify({ state: 'running', pid: process.pid, heartbeat: Date.now() / 1000 }));
  const file = path.join(ended, 'events.jsonl');
  const mtime = new Date(Date.UTC(2026, 0, 1)); // whole seconds: set again below exactly
  fs.utimesSync(file, mtime, mtime);
  const open = async () => {
    const registry = new RunRegistry({ roots: async () => [root], cache: new SummaryCacheFile(cacheFile, '1.0.0'), statusPollMs: 60_000, isPidAlive: () => true });
    t.after(() => registry.dispose());
    await registry.refresh();
    return registry;
  };
  const first = await open();
  assert.equal(first.get(ended)?.state, 'completed');
  const written = JSON.parse(fs.readFileSync(cacheFile, 'utf8'));
  assert.deepEqual(Object.keys(written.runs), [ended], 'only the ended run is cached');

  // The same bytes' length and time, other content: a window that takes the cache never sees the difference.
  const text = fs.readFileSync(file, 'utf8');
  fs.writeFileSync(file, text.replace('"loss":1.5', '"loss":2.5'));
  fs.utimesSync(file, mtime, mtime);
  const second = await open();
  assert.equal(second.get(ended)?.loss, 1.5, 'taken from the cache, not read');
  assert.equal(second.events(ended).at(-1)?.type, 'run_finished');

  // Another version's cache is not trusted; a changed file is read again.
  assert.equal((await new SummaryCacheFile(cacheFile, '2.0.0').read()).size, 0);
  fs.appendFileSync(file, `${JSON.stringify({ v: 1, seq: 3, time: 103, type: 'log', level: 'info', message: 'later' })}\n`);
  const third = await open();
  assert.equal(third.get(ended)?.loss, 2.5, 'read from the file again');
  assert.equal(third.events(ended).at(-1)?.type, 'log');
});
