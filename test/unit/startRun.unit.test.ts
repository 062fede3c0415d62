import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { Emitter } from '../../src/common/emitter';
import { startRun, type StartRunDeps } from '../../src/commands/startRun';
import type { RunEvent } from '../../src/protocol/events';
import type { AppendedEvents } from '../../src/runs/runRegistry';
import type { LaunchPlan } from '../../src/runs/runManager';
import { RunQueue } from '../../src/runs/runQueue';
import { fakeSettings, fakeWorkspace, FakeUi, fixtures, tempDir } from './helpers';

const valid = path.join(fixtures, 'configs', 'valid.sft.yaml');
const broken = path.join(fixtures, 'configs', 'broken.sft.yaml');

function harness(t: { after(fn: () => void): void }, over: Partial<StartRunDeps> = {}, maxRuns = 1) {
  const ui = new FakeUi();
  const active: string[] = [];
  const queue = new RunQueue({ maxConcurrent: () => maxRuns, activeRunDirs: () => active });
  const runDir = path.join(tempDir(t), 'tiny-test-20260101-000000');
  fs.mkdirSync(runDir);
  const appended = new Emitter<AppendedEvents>();
  const events: RunEvent[] = [];
  const child = new EventEmitter() as ChildProcess;
  const launched: LaunchPlan[] = [];
  const opened: string[] = [];
  const workspace = fakeWorkspace(fixtures, [valid]);
  const settings = fakeSettings({ runOverrides: () => ['max_steps=2'], openDashboardOnStart: () => true, maxConcurrentRuns: () => maxRuns });
  const deps: StartRunDeps = {
    ui,
    workspace,
    settings,
    python: { resolve: async () => ({ path: '/venv/bin/python', source: 'setting' }), check: async () => ({ ok: true }) },
    runs: {
      trackSpawned: async () => undefined,
      markExited: async () => undefined,
      events: () => events,
      onDidAppendEvents: appended.event,
    },
    launcher: {
      plan: (request) => ({ runDir, logPath: path.join(runDir, 'trainer.log'), command: request.python, args: [...request.overrides], options: {} }),
      planResume: (request) => ({ runDir: request.runDir, logPath: path.join(request.runDir, 'trainer.log'), command: request.python, args: ['--resume', request.runDir], options: {} }),
      launch: (plan) => {
        launched.push(plan);
        return child;
      },
      tailOfLog: () => 'Traceback (most recent call last):\nModuleNotFoundError: No module named sft_studio',
    },
    queue,
    extensionPath: '/ext',
    openDashboard: (dir) => opened.push(dir),
    ...over,
  };
  return { deps, ui, runDir, appended, events, child, launched, opened, queue, active };
}

test('a config with errors is refused with the first error and the Problems view', async (t) => {
  const h = harness(t);
  assert.equal(await startRun(h.deps, broken), undefined);
  assert.deepEqual(h.ui.messages('error'), [
    `Config has 5 errors: ${path.join('configs', 'broken.sft.yaml')}:2:13: train_file: file "data/trian.jsonl" not found (looked for ${path.join(fixtures, 'configs', 'data', 'trian.jsonl')}; relative paths start at the config file's folder)`,
  ]);
  assert.deepEqual(h.ui.commands.map((c) => c.command), ['workbench.actions.view.problems']);
  assert.equal(h.launched.length, 0);
});

test('an untrusted workspace cannot start runs', async (t) => {
  const h = harness(t);
  h.deps.workspace.isTrusted = () => false;
  h.ui.buttonAnswers = ['Manage Workspace Trust'];
  assert.equal(await startRun(h.deps, valid), undefined);
  assert.match(h.ui.messages('error')[0], /needs a trusted workspace/);
  assert.deepEqual(h.ui.commands.map((c) => c.command), ['workbench.trust.manage']);
  assert.equal(h.launched.length, 0);
});

test('without torch and transformers the user is sent to Select Python Interpreter', async (t) => {
  const h = harness(t, {
    python: {
      resolve: async () => ({ path: '/usr/bin/python3', source: 'python-extension' }),
      check: async () => ({ ok: false, detail: "ModuleNotFoundError: No module named 'torch'" }),
    },
  });
  h.ui.buttonAnswers = ['Select Python Interpreter'];
  assert.equal(await startRun(h.deps, valid), undefined);
  await new Promise((resolve) => setImmediate(resolve));
  const [message] = h.ui.calls.filter((c) => c.kind === 'error');
  assert.match(message.message, /^SFT Studio needs Python with torch and transformers; \/usr\/bin\/python3 cannot import them \(ModuleNotFoundError: No module named 'torch'\)/);
  assert.deepEqual(message.buttons, ['Select Python Interpreter', 'Set Up Training Environment']);
  assert.deepEqual(h.ui.commands.map((c) => c.command), ['sftStudio.selectPythonInterpreter']);
  assert.equal(h.launched.length, 0);
});

test('no interpreter at all gets the same way out', async (t) => {
  const h = harness(t, { python: { resolve: async () => undefined, check: async () => ({ ok: true }) } });
  assert.equal(await startRun(h.deps, valid), undefined);
  assert.match(h.ui.messages('error')[0], /^SFT Studio needs Python with torch and transformers, and found no interpreter/);
});

test('start: launches with the overrides, opens the dashboard, waits for run_started', async (t) => {
  const h = harness(t);
  const started = startRun(h.deps, valid);
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(h.launched.length, 1);
  assert.deepEqual(h.launched[0].args, ['max_steps=2']);
  assert.deepEqual(h.opened, [h.runDir]);
  const event = { v: 1, seq: 0, time: 1, type: 'run_started' } as unknown as RunEvent;
  h.appended.fire({ runDir: '/other/run', events: [event], summary: { runDir: '/other/run', name: 'x', state: 'running' } });
  h.appended.fire({ runDir: h.runDir, events: [event], summary: { runDir: h.runDir, name: 'x', state: 'running' } });
  assert.equal(await started, h.runDir);
  assert.deepEqual(h.ui.messages('error'), []);
});

test('while the trainer fetches a Hub model, the start notification shows the download', async (t) => {
  const h = harness(t);
  const started = startRun(h.deps, valid);
  await new Promise((resolve) => setTimeout(resolve, 10));
  const download = { v: 1, seq: 0, time: 1, type: 'download' } as unknown as RunEvent;
  const state = { model: 'org/big', file: 'model.safetensors', bytesDone: 1_170_000_000, bytesTotal: 2_600_000_000, filesDone: 2, filesTotal: 5 };
  h.appended.fire({ runDir: h.runDir, events: [download], summary: { runDir: h.runDir, name: 'x', state: 'starting', download: state } });
  const event = { v: 1, seq: 1, time: 2, type: 'run_started' } as unknown as RunEvent;
  h.appended.fire({ runDir: h.runDir, events: [event], summary: { runDir: h.runDir, name: 'x', state: 'running' } });
  assert.equal(await started, h.runDir);
  assert.equal(h.ui.messages('progress-report').at(-1), 'downloading model 45% (1.2/2.6 GB)…');
});

test('a gated Hub model ends the start with the trainer\'s error and its hint', async (t) => {
  const h = harness(t);
  const started = startRun(h.deps, valid);
  await new Promise((resolve) => setTimeout(resolve, 10));
  h.events.push({
    v: 1,
    seq: 0,
    time: 1,
    type: 'error',
    kind: 'config',
    message: '`org/gated` is a gated model: downloading it needs an accepted licence and a token',
    hint: "Accept the licence on https://huggingface.co/org/gated while logged in, … set it with the palette command 'SFT Studio: Set Hugging Face Token'.",
  } as RunEvent);
  h.child.emit('exit', 2, null);
  assert.equal(await started, undefined);
  assert.match(h.ui.messages('error')[0], /ended before it started: `org\/gated` is a gated model: .* Accept the licence on .*Set Hugging Face Token/);
});

test('a trainer that exits before run_started shows its error and trainer.log', async (t) => {
  const h = harness(t);
  const started = startRun(h.deps, valid);
  await new Promise((resolve) => setTimeout(resolve, 10));
  h.events.push({ v: 1, seq: 0, time: 1, type: 'error', kind: 'data', message: 'train_file has 0 rows.', hint: 'Check the JSONL.' } as RunEvent);
  h.child.emit('exit', 2, null);
  assert.equal(await started, undefined);
  const [message] = h.ui.messages('error');
  assert.match(message, /^Run tiny-test-20260101-000000 ended before it started: train_file has 0 rows\. Check the JSONL\./);
  assert.match(message, /trainer\.log:\nTraceback/);
});

test('with no target and no active editor, the only config in the workspace is used', async (t) => {
  const h = harness(t);
  const started = startRun(h.deps);
  await new Promise((resolve) => setTimeout(resolve, 10));
  h.child.emit('error', new Error('spawn /venv/bin/python ENOENT'));
  assert.equal(await started, undefined);
  assert.equal(h.launched.length, 1);
  assert.match(h.ui.messages('error')[0], /ended before it started: exit code null/);
});

test('beyond sftStudio.maxConcurrentRuns a start is queued, says so, and launches when a run ends', async (t) => {
  const h = harness(t);
  h.active.push('/w/runs/busy-1');
  assert.equal(await startRun(h.deps, valid), undefined);
  assert.equal(h.launched.length, 0);
  assert.match(h.ui.messages('info')[0], /^SFT Studio: valid\.sft\.yaml is queued: 1 of 1 runs allowed at once \(sftStudio\.maxConcurrentRuns\)/);
  assert.deepEqual(h.queue.list().map((q) => q.configPath), [valid]);

  h.active.splice(0);
  h.queue.pump();
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(h.launched.length, 1, 'the queued start launched');
  assert.equal(h.ui.messages('progress').length, 2, 'with its own progress notification');
  assert.deepEqual(h.queue.list(), []);
});
