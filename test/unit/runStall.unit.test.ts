// A hung training loop keeps its heartbeat (a thread writes it), so "running" alone cannot tell it from a busy
// one: the loop's own progress time does, and the Runs view says "stalled" once it is older than the setting.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { identityOf } from '../../src/runs/processes';
import { RunRegistry } from '../../src/runs/runRegistry';
import { deriveRunState, stalledMinutes, stallNote, summarize, type StatusFile } from '../../src/runs/runStatus';
import { presentRun } from '../../src/views/runPresentation';
import { eventually, tempDir } from './helpers';

const alive = () => true;

test('a running run whose loop has not beaten for the limit is stalled, though its heartbeat is fresh', () => {
  const now = 10_000;
  const status: StatusFile = { state: 'running', pid: 7, heartbeat: now - 1, progress: now - 16 * 60 - 5 };
  const state = deriveRunState({ status, now, isPidAlive: alive });
  assert.equal(state, 'running', 'the process lives');
  assert.equal(stalledMinutes(status, state, now, 15 * 60), 16);
  assert.equal(stalledMinutes(status, state, now, 20 * 60), undefined, 'under a longer limit it is only slow');
  assert.equal(stalledMinutes({ ...status, progress: now - 30 }, state, now, 15 * 60), undefined);
  assert.equal(stalledMinutes({ ...status, progress: undefined }, state, now, 15 * 60), undefined, 'an older trainer records no progress');
  assert.equal(stalledMinutes(status, 'crashed', now, 15 * 60), undefined, 'a dead run is crashed, not stalled');

  const summary = summarize('/w/runs/r-1', { step: 40, totalSteps: 100 }, state, 7, 16);
  assert.equal(stallNote(summary), 'stalled: no step for 16 min');
  const row = presentRun(summary, { note: stallNote(summary) });
  assert.match(row.description, /^stalled: no step for 16 min · 40% · step 40\/100/);
  assert.doesNotMatch(row.description, /running/);
  assert.equal(stallNote(summarize('/w/runs/r-1', {}, 'running', 7)), undefined);
  assert.equal(summarize('/w/runs/r-1', {}, 'completed', 7, 16).stalledMinutes, undefined);
});

test('the registry marks a followed run stalled from its status.json, with the limit from the setting', async (t) => {
  const root = tempDir(t);
  const runDir = path.join(root, 'hung-20260101-000000');
  fs.mkdirSync(runDir);
  let now = 50_000;
  const write = (progress: number) =>
    fs.writeFileSync(
      path.join(runDir, 'status.json'),
      JSON.stringify({ pid: process.pid, state: 'running', heartbeat: now, progress, process: identityOf(process.pid) }),
    );
  write(now - 5);
  let limitMinutes = 15;
  const registry = new RunRegistry({ roots: async () => [root], statusPollMs: 20, now: () => now, stallSeconds: () => limitMinutes * 60 });
  t.after(() => registry.dispose());
  await registry.refresh();
  assert.equal(registry.get(runDir)?.state, 'running');
  assert.equal(registry.get(runDir)?.stalledMinutes, undefined);
  // Twenty minutes later the thread still beats, the loop has not.
  now += 20 * 60;
  write(now - 20 * 60 - 5);
  await eventually(() => registry.get(runDir)?.stalledMinutes === 20);
  assert.equal(registry.get(runDir)?.state, 'running');
  limitMinutes = 30;
  await eventually(() => registry.get(runDir)?.stalledMinutes === undefined);
});
