// A second Resume of a run whose resume is still being prepared, queued or starting is refused at once,
// instead of starting a second trainer on the same folder.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { Emitter } from '../../src/common/emitter';
import { ResumeGuard } from '../../src/commands/resumeGuard';
import { resumeRun, type ResumeDeps } from '../../src/commands/runActions';
import type { RunEvent } from '../../src/protocol/events';
import type { RunSummary } from '../../src/protocol/runSummary';
import { listCheckpoints } from '../../src/runs/checkpoints';
import type { AppendedEvents } from '../../src/runs/runRegistry';
import { planResume, type LaunchPlan } from '../../src/runs/runManager';
import { RunQueue } from '../../src/runs/runQueue';
import { fakeSettings, fakeWorkspace, FakeUi, fixtures, tempDir } from './helpers';

function stoppedRun(root: string): RunSummary {
  const runDir = path.join(root, 'demo-1');
  const step = path.join(runDir, 'checkpoints', 'step-10');
  fs.mkdirSync(step, { recursive: true });
  fs.writeFileSync(path.join(step, 'complete.json'), JSON.stringify({ format: 1, step: 10, files: {} }));
  fs.writeFileSync(path.join(runDir, 'config.resolved.json'), '{}');
  return { runDir, name: 'demo-1', state: 'stopped' };
}

function harness(t: { after(fn: () => void): void }, active: () => string[] = () => []) {
  const root = tempDir(t);
  const run = stoppedRun(root);
  const appended = new Emitter<AppendedEvents>();
  const launched: LaunchPlan[] = [];
  let checked: () => void = () => undefined;
  const queue = new RunQueue({ maxConcurrent: () => 1, activeRunDirs: active });
  const deps: ResumeDeps = {
    ui: new FakeUi(),
    workspace: fakeWorkspace(fixtures, []),
    settings: fakeSettings(),
    // The interpreter check takes a while (it imports torch): the window in which a second click arrives.
    python: { resolve: async () => ({ path: '/venv/bin/python', source: 'setting' }), check: () => new Promise((resolve) => (checked = () => resolve({ ok: true }))) },
    runs: { trackSpawned: async () => undefined, markExited: async () => undefined, events: (): RunEvent[] => [], onDidAppendEvents: appended.event },
    launcher: {
      plan: () => {
        throw new Error('not a new run');
      },
      planResume: (request) => planResume({ ...request, env: {} }),
      launch: (plan) => {
        launched.push(plan);
        return new EventEmitter() as ChildProcess;
      },
      tailOfLog: () => '',
    },
    queue,
    extensionPath: '/ext',
    openDashboard: () => undefined,
    lookup: { list: () => [run], get: () => run },
    checkpoints: listCheckpoints,
    exists: (file) => fs.existsSync(file),
  };
  const guard = new ResumeGuard(() => queue.list());
  const resume = () => guard.resume(run.runDir, deps.queue, (q) => resumeRun({ ...deps, queue: q }, run.runDir));
  const started = () => appended.fire({ runDir: run.runDir, events: [{ v: 1, seq: 1, time: 1, type: 'run_started' } as unknown as RunEvent], summary: run });
  return { run, guard, resume, launched, queue, check: () => checked(), started };
}

test('a second Resume while the first is being prepared is refused; one trainer is launched', async (t) => {
  const h = harness(t);
  const first = h.resume();
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(h.guard.isPending(h.run.runDir), true);
  assert.deepEqual(await h.resume(), { refused: true });
  h.check();
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(h.launched.length, 1);
  h.started();
  assert.deepEqual(await first, { refused: false, value: h.run.runDir });
  assert.equal(h.guard.isPending(h.run.runDir), false, 'once started, the run itself shows as active');
});

test('a queued Resume stays pending until its start is over, and is free again once cancelled', async (t) => {
  const busy = ['/elsewhere/other-run'];
  const h = harness(t, () => busy);
  const first = h.resume();
  await new Promise((resolve) => setTimeout(resolve, 5));
  h.check();
  assert.deepEqual(await first, { refused: false, value: undefined }, 'queued behind the other run');
  assert.equal(h.queue.list().length, 1);
  assert.deepEqual(await h.resume(), { refused: true });
  assert.equal(h.queue.list().length, 1, 'not queued twice');

  // The other run ends: the queued resume starts, and stays pending until its trainer reports run_started.
  busy.length = 0;
  h.queue.pump();
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(h.launched.length, 1);
  assert.equal(h.guard.isPending(h.run.runDir), true);
  h.started();
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(h.guard.isPending(h.run.runDir), false);

  busy.push('/elsewhere/other-run');
  const again = h.resume();
  await new Promise((resolve) => setTimeout(resolve, 5));
  h.check();
  await again;
  assert.equal(h.guard.isPending(h.run.runDir), true);
  h.queue.cancel(h.queue.list()[0].id);
  assert.equal(h.guard.isPending(h.run.runDir), false, 'a cancelled resume does not block the next one');
  assert.equal(h.launched.length, 1);
});
