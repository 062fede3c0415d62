import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { RunRegistry } from '../../src/runs/runRegistry';
import { deriveRunState, type StatusFile } from '../../src/runs/runStatus';
import { findRunFolders, loadRun, runRoots } from '../../src/runs/runStore';
import { eventually, fixtures, tempDir } from './helpers';

const demo = path.join(fixtures, 'runs', 'demo-20260101-000000');
const dead = () => false;
const alive = () => true;

test('run roots: each config output_dir (default runs) and the runs directory setting', async () => {
  const texts: Record<string, string> = {
    '/w/a/a.sft.yaml': 'model_name_or_path: m\ntrain_file: t\noutput_dir: ../experiments\n',
    '/w/b/b.sft.json': '{"model_name_or_path": "m", "train_file": "t"}',
    '/w/c/broken.sft.yaml': 'output_dir: [unterminated\n',
  };
  const roots = await runRoots({
    configPaths: Object.keys(texts),
    workspaceFolders: ['/w'],
    runsDirectory: 'runs',
    readText: async (file) => texts[file],
  });
  assert.deepEqual(roots, ['/w/experiments', '/w/b/runs', '/w/c/runs', '/w/runs']);
});

test('run folders are the children holding status.json or events.jsonl', async (t) => {
  const root = tempDir(t);
  for (const [name, file] of [
    ['a-20260101-000000', 'status.json'],
    ['b-20260101-000000', 'events.jsonl'],
    ['judge', 'notes.txt'],
  ]) {
    fs.mkdirSync(path.join(root, name));
    fs.writeFileSync(path.join(root, name, file), '{}');
  }
  fs.writeFileSync(path.join(root, 'stray.json'), '{}');
  const found = await findRunFolders([root, path.join(root, 'missing'), path.join(fixtures, 'runs')]);
  assert.deepEqual(found, [path.join(root, 'a-20260101-000000'), path.join(root, 'b-20260101-000000'), demo].sort());
});

test('the fixture run loads as completed with its last numbers', async () => {
  const snapshot = await loadRun(demo, { now: () => 1767225700, isPidAlive: dead });
  snapshot.reader.close();
  // Train steps are folded into the summary and not kept: 23 events, 12 of them train steps.
  assert.equal(snapshot.events.length, 11);
  assert.ok(snapshot.events.every((e) => e.type !== 'train'));
  assert.deepEqual(
    { ...snapshot.summary },
    {
      runDir: demo,
      name: 'demo-20260101-000000',
      configPath: '/work/examples/demo.sft.yaml',
      state: 'completed',
      step: 12,
      totalSteps: 12,
      loss: 0.5707,
      evalLoss: 0.6207,
      startedAt: 1767225601,
      tokensPerSecond: 600,
      pid: 424242,
    },
  );
});

test('a run whose status says running but whose pid is dead is crashed', () => {
  const status: StatusFile = { state: 'running', pid: 1234, heartbeat: 1000 };
  assert.equal(deriveRunState({ status, now: 1005, isPidAlive: dead }), 'crashed');
  assert.equal(deriveRunState({ status, now: 1005, isPidAlive: alive }), 'running');
});

test('a heartbeat older than 30 s means crashed, even with a live pid (pid reuse)', () => {
  const status: StatusFile = { state: 'running', pid: 1234, heartbeat: 1000 };
  assert.equal(deriveRunState({ status, now: 1030, isPidAlive: alive }), 'running');
  assert.equal(deriveRunState({ status, now: 1031, isPidAlive: alive }), 'crashed');
});

test('endings: run_finished beats status, status beats liveness', () => {
  const running: StatusFile = { state: 'running', pid: 1, heartbeat: 1000 };
  assert.equal(deriveRunState({ status: running, finished: 'stopped', now: 1001, isPidAlive: alive }), 'stopped');
  assert.equal(deriveRunState({ status: { state: 'failed', pid: 1 }, now: 9999, isPidAlive: dead }), 'failed');
});

test('runs this window spawned: starting while alive, failed or crashed once gone', () => {
  assert.equal(deriveRunState({ spawned: { alive: true }, now: 0, isPidAlive: dead }), 'starting');
  assert.equal(deriveRunState({ spawned: { alive: false, exitCode: 1 }, now: 0, isPidAlive: dead }), 'failed');
  assert.equal(deriveRunState({ spawned: { alive: false, exitCode: 0 }, now: 0, isPidAlive: dead }), 'crashed');
  assert.equal(deriveRunState({ spawned: { alive: false, exitCode: null }, now: 0, isPidAlive: dead }), 'crashed');
});

test('without status.json, recent activity means running and old activity crashed', () => {
  assert.equal(deriveRunState({ lastActivity: 1000, now: 1010, isPidAlive: dead }), 'running');
  assert.equal(deriveRunState({ lastActivity: 1000, now: 1100, isPidAlive: dead }), 'crashed');
});

test('the registry follows a live run until it finishes, as after a window reload', async (t) => {
  const root = tempDir(t);
  const runDir = path.join(root, 'live-20260101-000000');
  fs.mkdirSync(runDir);
  const now = Date.now() / 1000;
  const write = (state: string) =>
    fs.writeFileSync(path.join(runDir, 'status.json'), JSON.stringify({ pid: process.pid, state, heartbeat: Date.now() / 1000 }));
  const event = (seq: number, body: Record<string, unknown>) =>
    fs.appendFileSync(path.join(runDir, 'events.jsonl'), `${JSON.stringify({ v: 1, seq, time: now + seq, ...body })}\n`);
  write('running');
  event(0, { type: 'run_started', step: 0, config: {}, total_steps: 2, num_parameters: 1, trainable_parameters: 1, world_size: 1, device: 'cpu' });

  const registry = new RunRegistry({ roots: async () => [root], eventPollMs: 20, statusPollMs: 50 });
  t.after(() => registry.dispose());
  const appended: number[] = [];
  registry.onDidAppendEvents(({ events }) => appended.push(...events.map((e) => e.seq)));
  await registry.refresh();
  assert.equal(registry.get(runDir)?.state, 'running');
  assert.equal(registry.events(runDir).length, 1);

  const train = { type: 'train', epoch: 0.5, grad_norm: 1, learning_rate: 0.001, tokens: 10, tokens_per_s: 5 };
  event(1, { ...train, step: 1, loss: 2.5 });
  event(2, { ...train, step: 2, loss: 1.25 });
  await eventually(() => registry.get(runDir)?.loss === 1.25);
  assert.equal(registry.get(runDir)?.etaSeconds, 0);

  event(3, { type: 'run_finished', step: 2, status: 'completed' });
  write('completed');
  await eventually(() => registry.get(runDir)?.state === 'completed');
  // Train steps reach listeners through the summary (loss, step above), not as kept events.
  assert.deepEqual(appended, [3]);
  assert.deepEqual(registry.events(runDir).map((e) => e.seq), [0, 3]);
  assert.equal(registry.list()[0].runDir, runDir);
});
