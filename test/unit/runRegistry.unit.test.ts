import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { RunState } from '../../src/protocol/runSummary';
import { RunRegistry } from '../../src/runs/runRegistry';
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
