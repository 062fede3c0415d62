import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { deleteRun, rerunRun, resumableRuns, resumeRun, revealRun, type ResumeDeps } from '../../src/commands/runActions';
import { describeStopStep, stopRunCommand } from '../../src/commands/stopRun';
import { Emitter } from '../../src/common/emitter';
import type { RunEvent } from '../../src/protocol/events';
import type { RunState, RunSummary } from '../../src/protocol/runSummary';
import { listCheckpoints } from '../../src/runs/checkpoints';
import type { AppendedEvents } from '../../src/runs/runRegistry';
import { planResume, stopRun, type LaunchPlan } from '../../src/runs/runManager';
import { RunNotes } from '../../src/runs/runNotes';
import { RunQueue } from '../../src/runs/runQueue';
import type { Signal } from '../../src/runs/processes';
import { fakeSettings, fakeWorkspace, FakeUi, fixtures, tempDir } from './helpers';

const config = path.join(fixtures, 'configs', 'valid.sft.yaml');

/** A run folder on disk with the given checkpoints (complete ones and a temp one that must not count). */
function runFolder(root: string, name: string, steps: number[]): string {
  const runDir = path.join(root, name);
  fs.mkdirSync(runDir, { recursive: true });
  fs.writeFileSync(path.join(runDir, 'config.resolved.json'), '{}');
  for (const step of steps) {
    fs.mkdirSync(path.join(runDir, 'checkpoints', `step-${step}`), { recursive: true });
    fs.writeFileSync(path.join(runDir, 'checkpoints', `step-${step}`, 'complete.json'), JSON.stringify({ format: 1, step, files: {} }));
  }
  fs.mkdirSync(path.join(runDir, 'checkpoints', `.tmp-step-${Math.max(0, ...steps) + 10}-123`), { recursive: true });
  return runDir;
}

function harness(t: { after(fn: () => void): void }, runs: RunSummary[]) {
  const ui = new FakeUi();
  const appended = new Emitter<AppendedEvents>();
  const events: RunEvent[] = [];
  const launched: LaunchPlan[] = [];
  const child = new EventEmitter() as ChildProcess;
  const tracked: string[] = [];
  const deps: ResumeDeps = {
    ui,
    workspace: fakeWorkspace(fixtures, [config]),
    settings: fakeSettings(),
    python: { resolve: async () => ({ path: '/venv/bin/python', source: 'setting' }), check: async () => ({ ok: true }) },
    runs: { trackSpawned: async (dir) => void tracked.push(dir), markExited: async () => undefined, events: () => events, onDidAppendEvents: appended.event },
    launcher: {
      plan: () => {
        throw new Error('a resume must not plan a new run folder');
      },
      planResume: (request) => planResume({ ...request, env: {} }),
      launch: (plan) => {
        launched.push(plan);
        return child;
      },
      tailOfLog: () => '',
    },
    queue: new RunQueue({ maxConcurrent: () => 1, activeRunDirs: () => runs.filter((r) => r.state === 'running').map((r) => r.runDir) }),
    extensionPath: '/ext',
    openDashboard: () => undefined,
    lookup: { list: () => runs, get: (dir) => runs.find((r) => r.runDir === dir) },
    checkpoints: listCheckpoints,
    exists: (file) => fs.existsSync(file),
  };
  return { deps, ui, launched, child, appended, tracked, root: tempDir(t) };
}

const summary = (runDir: string, state: RunState, over: Partial<RunSummary> = {}): RunSummary => ({ runDir, name: path.basename(runDir), state, configPath: config, ...over });

test('checkpoints: only complete step-N folders, oldest first; temp folders never count', (t) => {
  const dir = runFolder(tempDir(t), 'r', [20, 5, 100]);
  assert.deepEqual(listCheckpoints(dir).map((c) => c.step), [5, 20, 100]);
  assert.equal(listCheckpoints(path.join(dir, 'missing')).length, 0);
});

test('resume: `train --resume RUN_DIR` in the run folder, from its newest checkpoint, waiting for a new run_started', async (t) => {
  const h = harness(t, []);
  const runDir = runFolder(h.root, 'demo-1', [10, 20]);
  const runs = [summary(runDir, 'stopped')];
  h.deps.lookup = { list: () => runs, get: (dir) => runs.find((r) => r.runDir === dir) };
  const old = { v: 1, seq: 0, time: 1, type: 'run_started' } as unknown as RunEvent;
  h.deps.runs.events = () => [old];
  const resumed = resumeRun(h.deps, runDir);
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(h.launched.length, 1);
  assert.deepEqual(h.launched[0].args, ['-m', 'sft_studio', 'train', '--resume', runDir]);
  assert.equal(h.launched[0].options.cwd, runDir);
  assert.equal(h.launched[0].options.shell, false);
  assert.deepEqual(h.tracked, [runDir]);
  assert.deepEqual(h.ui.messages('progress'), ['SFT Studio: starting demo-1 (resume from step 20)']);
  // The old run_started already in the folder does not count as this process having started.
  h.appended.fire({ runDir, events: [{ ...old, seq: 7 }], summary: runs[0] });
  assert.equal(await resumed, runDir);
});

test('resume refuses a live run, and a run without checkpoint offers Rerun instead', async (t) => {
  const h = harness(t, []);
  const live = runFolder(h.root, 'live', [10]);
  const bare = runFolder(h.root, 'bare', []);
  const runs = [summary(live, 'running'), summary(bare, 'crashed')];
  h.deps.lookup = { list: () => runs, get: (dir) => runs.find((r) => r.runDir === dir) };
  assert.equal(await resumeRun(h.deps, live), undefined);
  assert.match(h.ui.messages('info')[0], /still running; stop it before resuming/);
  h.ui.buttonAnswers = [undefined];
  assert.equal(await resumeRun(h.deps, bare), undefined);
  const [error] = h.ui.calls.filter((c) => c.kind === 'error');
  assert.match(error.message, /saved no checkpoint/);
  assert.deepEqual(error.buttons, ['Rerun']);
  assert.equal(h.launched.length, 0);
  assert.deepEqual(resumableRuns(runs, listCheckpoints).map((r) => r.name), []);
  assert.deepEqual(resumableRuns([summary(live, 'crashed'), summary(bare, 'stopped'), summary(live, 'completed')], listCheckpoints).map((r) => r.name), ['live']);
});

test('resume in an untrusted workspace is refused with the reason', async (t) => {
  const h = harness(t, []);
  const runDir = runFolder(h.root, 'r', [5]);
  h.deps.lookup = { list: () => [summary(runDir, 'stopped')], get: () => summary(runDir, 'stopped') };
  h.deps.workspace.isTrusted = () => false;
  assert.equal(await resumeRun(h.deps, runDir), undefined);
  assert.match(h.ui.messages('error')[0], /needs a trusted workspace/);
  assert.equal(h.launched.length, 0);
});

test('rerun refuses when the config is gone', async (t) => {
  const h = harness(t, []);
  const runDir = runFolder(h.root, 'r', []);
  h.deps.lookup = { list: () => [], get: () => summary(runDir, 'completed', { configPath: path.join(h.root, 'gone.sft.yaml') }) };
  assert.equal(await rerunRun(h.deps, runDir), undefined);
  assert.match(h.ui.messages('error')[0], /no longer exists, so it cannot be rerun/);
});

test('delete: never while running; asks first naming the checkpoints; removes the folder only when confirmed', async (t) => {
  const root = tempDir(t);
  const done = runFolder(root, 'done', [1, 2]);
  const live = runFolder(root, 'live', []);
  const runs = [summary(done, 'completed'), summary(live, 'running')];
  const ui = new FakeUi();
  let refreshed = 0;
  const deps = {
    ui,
    lookup: { list: () => runs, get: (dir: string) => runs.find((r) => r.runDir === dir), refresh: async () => void refreshed++ },
    checkpoints: listCheckpoints,
    removeFolder: (dir: string) => fs.promises.rm(dir, { recursive: true, force: true }),
  };
  assert.equal(await deleteRun(deps, live), false);
  assert.match(ui.messages('error')[0], /live is running; stop it before deleting it/);
  assert.ok(fs.existsSync(live));

  ui.confirmAnswers = [false];
  assert.equal(await deleteRun(deps, done), false);
  assert.ok(fs.existsSync(done), 'cancel keeps the folder');
  assert.match(ui.messages('confirm')[0], /^Delete run done\? .* 2 checkpoints\. This cannot be undone\./);

  ui.confirmAnswers = [true];
  assert.equal(await deleteRun(deps, done), true);
  assert.equal(fs.existsSync(done), false);
  assert.equal(refreshed, 1);
});

test('reveal: the given run folder, or the one picked', async () => {
  const ui = new FakeUi();
  const runs = [summary('/w/runs/a', 'completed'), summary('/w/runs/b', 'stopped')];
  await revealRun({ ui, lookup: { list: () => runs, get: () => undefined } }, '/w/runs/a');
  ui.pickAnswers = [(items) => items[1]];
  await revealRun({ ui, lookup: { list: () => runs, get: () => undefined } });
  assert.deepEqual(ui.messages('reveal'), ['/w/runs/a', '/w/runs/b']);
});

test('stop: each escalation is shown in the notification and beside the run, and cleared at the end', async (t) => {
  const dir = tempDir(t);
  const run = summary(dir, 'running', { pid: 4242 });
  fs.writeFileSync(path.join(dir, 'status.json'), JSON.stringify({ pid: 4242, process: { pid: 4242, host: 'h', start: 'linux:b:1' } }));
  const ui = new FakeUi();
  const notes = new RunNotes();
  const seenNotes: (string | undefined)[] = [];
  notes.onDidChange(() => seenNotes.push(notes.get(dir)));
  const sent: Signal[] = [];
  // A trainer that ignores SIGINT and SIGTERM: the stop must reach SIGKILL.
  let alive = true;
  const outcome = await stopRunCommand(
    {
      ui,
      runs: { list: () => [run], get: () => run },
      notes,
      stopSlurm: () => assert.fail('not a Slurm run'),
      stop: (runDir, onStep) =>
        stopRun(runDir, {
          graceMs: 30,
          killAfterMs: 30,
          pollMs: 5,
          onStep,
          check: () => (alive ? 'alive' : 'gone'),
          signal: (_pid, signal) => {
            sent.push(signal);
            if (signal === 'SIGKILL') alive = false;
          },
        }),
    },
    dir,
  );
  assert.equal(outcome, 'killed');
  assert.deepEqual(sent, ['SIGINT', 'SIGTERM', 'SIGKILL']);
  assert.deepEqual(seenNotes, ['stopping: saving a checkpoint', 'stopping: SIGTERM sent', 'stopping: killed', undefined]);
  const reports = ui.messages('progress-report');
  assert.equal(reports.length, 3);
  assert.match(reports[0], /asked to stop \(control\.jsonl \+ SIGINT\); waiting up to 0 s/);
  assert.match(reports[1], /sent SIGTERM/);
  assert.match(ui.messages('warning')[0], /was killed; its last checkpoint may be older/);
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'control.jsonl'), 'utf8').trim()).type, 'stop');
  assert.equal(describeStopStep({ signal: 'SIGINT', waitMs: 30_000 }).progress.includes('up to 30 s'), true);
});
