import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { Emitter } from '../../src/common/emitter';
import { startRun, type StartRunDeps } from '../../src/commands/startRun';
import { stopRunCommand } from '../../src/commands/stopRun';
import type { RunEvent } from '../../src/protocol/events';
import type { RunSummary } from '../../src/protocol/runSummary';
import type { AppendedEvents } from '../../src/runs/runRegistry';
import type { LaunchPlan, StopStep } from '../../src/runs/runManager';
import { RunQueue } from '../../src/runs/runQueue';
import { deriveRunState } from '../../src/runs/runStatus';
import {
  asSubmitPlan,
  querySlurmState,
  resubmitIfSlurm,
  stopSlurmRun,
  submitAndFollow,
  type SlurmApi,
  type SlurmStopStep,
} from '../../src/runs/slurmLauncher';
import { fakeSettings, fakeWorkspace, FakeUi, fixtures, tempDir } from './helpers';

/** A Slurm that answers `slurm-state` from a script of states and records every command. */
function fakeSlurm(states: string[]) {
  const calls: { command: string; args: readonly string[]; env?: NodeJS.ProcessEnv }[] = [];
  let clock = 1_000_000;
  const api: SlurmApi = {
    run: async (command, args, env) => {
      calls.push({ command, args, env });
      if (command === 'scancel') return { code: 0, stdout: '', stderr: '' };
      const state = states.length > 1 ? states.shift()! : states[0];
      const active = ['PENDING', 'RUNNING', 'COMPLETING'].includes(state);
      const recorded = args.includes('--record') && !active && state !== 'COMPLETED' ? 'failed' : null;
      return { code: 0, stdout: `Slurm job 42: ${state}\n${JSON.stringify({ job_id: '42', state, active, ended: !active, reason: null, recorded })}\n`, stderr: '' };
    },
    sleep: async (ms) => {
      clock += ms;
    },
    now: () => clock,
  };
  return { api, calls, scancels: () => calls.filter((c) => c.command === 'scancel').map((c) => c.args) };
}

function slurmRunFolder(t: { after(fn: () => void): void }): string {
  const runDir = path.join(tempDir(t), 'tiny-test-20260101-000000');
  fs.mkdirSync(runDir);
  fs.writeFileSync(
    path.join(runDir, 'slurm.json'),
    JSON.stringify({ job_id: '42', cluster: 'c', clusters_option: null, python: '/shared/venv/bin/python', pythonpath: '/ext/trainer' }),
  );
  return runDir;
}

const trainPlan = (runDir: string): LaunchPlan => ({
  runDir,
  logPath: path.join(runDir, 'trainer.log'),
  command: '/venv/bin/python',
  args: ['-m', 'sft_studio', 'train', '/w/c.sft.yaml', '--output-dir', runDir, '--set', 'max_steps=2'],
  options: { env: { HF_TOKEN: 'hf_x' } },
});

test('a slurm plan is the trainer command with `submit` for `train`; a Slurm run resumes by resubmitting', (t) => {
  const runDir = slurmRunFolder(t);
  const plan = asSubmitPlan(trainPlan(runDir));
  assert.deepEqual(plan.args, ['-m', 'sft_studio', 'submit', '/w/c.sft.yaml', '--output-dir', runDir, '--set', 'max_steps=2']);
  assert.equal(plan.slurm, true);
  assert.deepEqual(plan.options, { env: { HF_TOKEN: 'hf_x' } }, 'the token and PYTHONPATH reach sbatch, and so the job');
  const resume = { ...trainPlan(runDir), args: ['-m', 'sft_studio', 'train', '--resume', runDir] };
  assert.deepEqual(resubmitIfSlurm(resume).args, ['-m', 'sft_studio', 'submit', '--resume', runDir]);
  const local = path.join(tempDir(t), 'local');
  fs.mkdirSync(local);
  const localResume = { ...trainPlan(local), args: ['-m', 'sft_studio', 'train', '--resume', local] };
  assert.equal(resubmitIfSlurm(localResume), localResume);
});

test('the job state comes from the Python that submitted it, with its trainer on PYTHONPATH', async (t) => {
  const runDir = slurmRunFolder(t);
  const slurm = fakeSlurm(['TIMEOUT']);
  const state = await querySlurmState(slurm.api, runDir, true);
  assert.deepEqual(state, { jobId: '42', state: 'TIMEOUT', active: false, ended: true, recorded: 'failed' });
  assert.equal(slurm.calls[0].command, '/shared/venv/bin/python');
  assert.deepEqual(slurm.calls[0].args, ['-m', 'sft_studio', 'slurm-state', runDir, '--json', '--record']);
  assert.equal(slurm.calls[0].env?.PYTHONPATH?.split(path.delimiter)[0], '/ext/trainer');
});

test('stop: the stop request first; a trainer that ends the job within the grace period is never cancelled', async (t) => {
  const runDir = slurmRunFolder(t);
  const slurm = fakeSlurm(['RUNNING', 'RUNNING', 'RUNNING', 'COMPLETED']);
  const steps: SlurmStopStep[] = [];
  assert.equal(await stopSlurmRun(slurm.api, runDir, { graceMs: 30_000, pollMs: 1000, onStep: (s) => steps.push(s) }), 'exited');
  const control = fs.readFileSync(path.join(runDir, 'control.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(control, [{ type: 'stop', time: 1000 }]);
  assert.deepEqual(slurm.scancels(), []);
  assert.deepEqual(steps, [{ signal: 'SIGINT', waitMs: 30_000, jobId: '42' }]);
});

test('stop: a job still there after the grace period is cancelled, and its end recorded', async (t) => {
  const runDir = slurmRunFolder(t);
  const slurm = fakeSlurm(['RUNNING', 'RUNNING', 'RUNNING', 'RUNNING', 'RUNNING', 'COMPLETING', 'CANCELLED']);
  const steps: SlurmStopStep[] = [];
  const outcome = await stopSlurmRun(slurm.api, runDir, { graceMs: 3000, pollMs: 1000, onStep: (s) => steps.push(s) });
  assert.equal(outcome, 'terminated');
  assert.deepEqual(slurm.scancels(), [['42']]);
  assert.deepEqual(steps.map((s) => s.signal), ['SIGINT', 'SIGTERM']);
  // The grace period passed (3 s at one poll a second) before scancel, and the last query recorded the end.
  const beforeCancel = slurm.calls.findIndex((c) => c.command === 'scancel');
  assert.equal(slurm.calls.slice(1, beforeCancel).length, 4);
  assert.ok(slurm.calls.at(-1)?.args.includes('--record'));
});

test('stop: a pending job is cancelled at once, an ended one only recorded', async (t) => {
  const pending = fakeSlurm(['PENDING', 'CANCELLED']);
  const steps: StopStep[] = [];
  assert.equal(await stopSlurmRun(pending.api, slurmRunFolder(t), { graceMs: 30_000, onStep: (s) => steps.push(s) }), 'not-running');
  assert.deepEqual(pending.scancels(), [['42']]);
  assert.deepEqual(steps.map((s) => s.signal), ['SIGTERM']);

  const ended = fakeSlurm(['FAILED']);
  assert.equal(await stopSlurmRun(ended.api, slurmRunFolder(t), { graceMs: 30_000 }), 'not-running');
  assert.deepEqual(ended.scancels(), []);
  assert.ok(ended.calls.at(-1)?.args.includes('--record'));
});

test('Stop Run sends a Slurm run to the Slurm stop and says scancel, not SIGTERM', async (t) => {
  const runDir = slurmRunFolder(t);
  const ui = new FakeUi();
  const run: RunSummary = { runDir, name: path.basename(runDir), state: 'running' };
  const notes: (string | undefined)[] = [];
  const outcome = await stopRunCommand(
    {
      ui,
      runs: { list: () => [run], get: () => run },
      notes: { set: (_dir, note) => notes.push(note) },
      stop: () => assert.fail('a Slurm run has no local process to signal'),
      stopSlurm: async (_dir, onStep) => {
        onStep({ signal: 'SIGINT', waitMs: 30_000, jobId: '42' } as SlurmStopStep);
        onStep({ signal: 'SIGTERM', waitMs: 60_000, jobId: '42' } as SlurmStopStep);
        return 'terminated';
      },
    },
    runDir,
  );
  assert.equal(outcome, 'terminated');
  assert.deepEqual(notes, ['stopping: saving a checkpoint', 'stopping: scancel sent', undefined]);
  assert.match(ui.messages('progress-report')[0], /before cancelling Slurm job 42/);
});

function submitHarness(t: { after(fn: () => void): void }, exitCode: number) {
  const runDir = slurmRunFolder(t);
  const ui = new FakeUi();
  const child = new EventEmitter() as ChildProcess;
  const tracked: (number | undefined)[] = [];
  const exited: (number | null)[] = [];
  const events: RunEvent[] = [];
  const slurm = fakeSlurm(['PENDING', 'RUNNING', 'COMPLETED']);
  const deps = {
    ui,
    settings: { openDashboardOnStart: () => true },
    runs: {
      trackSpawned: async (_dir: string, pid: number | undefined) => void tracked.push(pid),
      markExited: async (_dir: string, code: number | null) => {
        exited.push(code);
        events.push({ v: 1, seq: 0, time: 1, type: 'error', kind: 'config', message: 'sbatch refused the job: invalid partition', hint: 'Fix the `slurm` section.' });
      },
      events: () => events,
    },
    launcher: {
      launch: () => {
        setImmediate(() => child.emit('exit', exitCode, null));
        return child;
      },
    },
    opened: [] as string[],
    openDashboard(dir: string) {
      this.opened.push(dir);
    },
    slurm: slurm.api,
  };
  return { runDir, ui, deps, tracked, exited, slurm };
}

test('a submitted job counts as started, without a pid, and is watched until it leaves the queue', async (t) => {
  const h = submitHarness(t, 0);
  const outcome = await submitAndFollow(h.deps, asSubmitPlan(trainPlan(h.runDir)), { report: () => undefined, onCancel: () => undefined });
  assert.deepEqual(outcome, { started: true });
  assert.deepEqual(h.tracked, [undefined]);
  assert.deepEqual(h.exited, [], 'the submit process ending is not the run ending');
  assert.deepEqual(h.deps.opened, [h.runDir]);
  assert.match(h.ui.messages('info')[0], /submitted as Slurm job 42/);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(h.slurm.calls.length, 3, 'PENDING, RUNNING, then COMPLETED ends the watch');
  assert.ok(h.slurm.calls.every((c) => c.args.includes('--record')));
});

test('a refused submission ends the start with the trainer\'s error', async (t) => {
  const h = submitHarness(t, 2);
  const outcome = await submitAndFollow(h.deps, asSubmitPlan(trainPlan(h.runDir)), { report: () => undefined, onCancel: () => undefined });
  assert.deepEqual(outcome, {
    started: false,
    exitCode: 2,
    error: { message: 'sbatch refused the job: invalid partition', hint: 'Fix the `slurm` section.' },
  });
  assert.deepEqual(h.exited, [2]);
  assert.equal(h.slurm.calls.length, 0);
});

test('▶ Run on a `launcher: slurm` config launches `submit` instead of `train`', async (t) => {
  const config = path.join(fixtures, 'configs', 'valid.sft.yaml');
  const runDir = slurmRunFolder(t);
  const launched: LaunchPlan[] = [];
  const child = new EventEmitter() as ChildProcess;
  const appended = new Emitter<AppendedEvents>();
  const workspace = fakeWorkspace(fixtures, [config]);
  workspace.saveAndRead = async (file) => `${fs.readFileSync(file, 'utf8')}launcher: slurm\nslurm:\n  partition: gpu\n`;
  const deps: StartRunDeps = {
    ui: new FakeUi(),
    workspace,
    settings: fakeSettings(),
    python: { resolve: async () => ({ path: '/venv/bin/python', source: 'setting' }), check: async () => ({ ok: true }) },
    runs: { trackSpawned: async () => undefined, markExited: async () => undefined, events: () => [], onDidAppendEvents: appended.event },
    launcher: {
      plan: () => trainPlan(runDir),
      planResume: () => assert.fail('not a resume'),
      launch: (plan) => {
        launched.push(plan);
        setImmediate(() => child.emit('exit', 0, null));
        return child;
      },
      tailOfLog: () => '',
    },
    queue: new RunQueue({ maxConcurrent: () => 1, activeRunDirs: () => [] }),
    extensionPath: '/ext',
    openDashboard: () => undefined,
  };
  // The watch that follows the submission asks a Python that does not exist here; it ends at once.
  assert.equal(await startRun(deps, config), runDir);
  assert.deepEqual(launched[0].args.slice(0, 4), ['-m', 'sft_studio', 'submit', '/w/c.sft.yaml']);
});

test('a queued job reads as starting, also in a window that did not submit it', () => {
  const state = deriveRunState({ status: { state: 'queued', heartbeat: 0 }, now: 10_000, isPidAlive: () => false });
  assert.equal(state, 'starting');
});
