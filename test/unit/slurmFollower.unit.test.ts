// Slurm runs in every window: the grace period of Stop comes from the setting, queued jobs read "queued (Slurm job N)",
// a window that did not submit a job follows it from its folder, and Slurm runs take their slots in the run queue.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { stopRunCommand } from '../../src/commands/stopRun';
import { Emitter } from '../../src/common/emitter';
import type { RunSummary } from '../../src/protocol/runSummary';
import { RunNotes } from '../../src/runs/runNotes';
import { RunQueue } from '../../src/runs/runQueue';
import { RunRegistry } from '../../src/runs/runRegistry';
import { queuedNote, SlurmFollower } from '../../src/runs/slurmFollower';
import { slurmStopper, type SlurmApi } from '../../src/runs/slurmLauncher';
import { presentRun } from '../../src/views/runPresentation';
import { eventually, fakeSettings, FakeUi, tempDir } from './helpers';

interface Call {
  command: string;
  args: readonly string[];
  at: number;
}

/**
 * A cluster with one job per run folder, on a fake clock that only sleeps move. `states(runDir)` says what the job
 * is at each ask; `--record` of an ended job writes what the trainer's `record_outcome` writes.
 */
function fakeCluster(states: (runDir: string, calls: readonly Call[]) => string) {
  const calls: Call[] = [];
  let clock = 5_000_000;
  const api: SlurmApi = {
    run: async (command, args) => {
      calls.push({ command, args, at: clock });
      if (command === 'scancel') return { code: 0, stdout: '', stderr: '' };
      const runDir = args[3];
      const state = states(runDir, calls);
      const active = ['PENDING', 'RUNNING', 'COMPLETING'].includes(state);
      const recorded = args.includes('--record') && !active ? recordEnd(runDir, state) : null;
      return { code: 0, stdout: `${JSON.stringify({ job_id: jobOf(runDir), state, active, ended: !active, reason: null, recorded })}\n`, stderr: '' };
    },
    sleep: async (ms) => {
      clock += ms;
      await new Promise((resolve) => setImmediate(resolve));
    },
    now: () => clock,
  };
  return { api, calls, queries: (runDir: string) => calls.filter((c) => c.args[3] === runDir), scancels: () => calls.filter((c) => c.command === 'scancel') };
}

const jobOf = (runDir: string) => JSON.parse(fs.readFileSync(path.join(runDir, 'slurm.json'), 'utf8')).job_id as string;

function recordEnd(runDir: string, state: string): string | null {
  const jobFile = path.join(runDir, 'slurm.json');
  const job = JSON.parse(fs.readFileSync(jobFile, 'utf8'));
  if (job.recorded === job.job_id) return null;
  const time = Date.now() / 1000;
  const lines = [
    { v: 1, seq: 1, time, type: 'error', kind: 'crash', message: `Slurm job ${job.job_id} ended ${state} before the trainer started: it was cancelled`, hint: 'Rerun.' },
    { v: 1, seq: 2, time, type: 'run_finished', status: 'failed', reason: 'error' },
  ];
  fs.appendFileSync(path.join(runDir, 'events.jsonl'), lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
  fs.writeFileSync(path.join(runDir, 'status.json'), JSON.stringify({ state: 'failed', heartbeat: time }));
  fs.writeFileSync(jobFile, JSON.stringify({ ...job, recorded: job.job_id, state }));
  return 'failed';
}

/** A run folder as `submit` leaves it: slurm.json, a queued status.json and the submit log line. */
function submittedRun(root: string, name: string, jobId: string, extra: Record<string, unknown> = {}): string {
  const runDir = path.join(root, name);
  fs.mkdirSync(runDir, { recursive: true });
  const now = Date.now() / 1000;
  fs.writeFileSync(path.join(runDir, 'slurm.json'), JSON.stringify({ job_id: jobId, python: '/shared/venv/bin/python', pythonpath: '/ext/trainer', ...extra }));
  fs.writeFileSync(path.join(runDir, 'status.json'), JSON.stringify({ state: 'queued', heartbeat: now, started: now, step: 0 }));
  fs.writeFileSync(path.join(runDir, 'events.jsonl'), `${JSON.stringify({ v: 1, seq: 0, time: now, type: 'log', level: 'info', message: 'submitting to Slurm' })}\n`);
  return runDir;
}

test('Stop on a Slurm run waits sftStudio.stopGracePeriodSeconds, read at each stop, between the stop request and scancel', async (t) => {
  const root = tempDir(t);
  let grace = 7;
  const settings = fakeSettings({ stopGraceSeconds: () => grace });
  for (const seconds of [7, 45, 0]) {
    grace = seconds;
    const runDir = submittedRun(root, `run-${seconds}`, '42');
    // The job runs until it is cancelled; then it ends.
    const cluster = fakeCluster((_dir, calls) => (calls.some((c) => c.command === 'scancel') ? 'CANCELLED' : 'RUNNING'));
    const run: RunSummary = { runDir, name: path.basename(runDir), state: 'running' };
    const ui = new FakeUi();
    const outcome = await stopRunCommand(
      { ui, runs: { list: () => [run], get: () => run }, notes: new RunNotes(), stop: () => assert.fail('no local process'), stopSlurm: slurmStopper(settings, cluster.api) },
      runDir,
    );
    assert.equal(outcome, 'terminated');
    const asked = cluster.calls[0].at;
    const control = JSON.parse(fs.readFileSync(path.join(runDir, 'control.jsonl'), 'utf8'));
    assert.deepEqual(control, { type: 'stop', time: asked / 1000 }, 'the stop request comes first');
    const [scancel] = cluster.scancels();
    const waited = scancel.at - asked;
    // Polled every 2 s: scancel follows the first poll at or after the grace period's end.
    assert.ok(waited >= seconds * 1000 && waited < seconds * 1000 + 2000, `scancel after ${waited} ms with a grace of ${seconds} s`);
    assert.deepEqual(scancel.args, ['42']);
    const said = ui.messages('progress-report');
    if (seconds > 0) assert.match(said[0], new RegExp(`waiting up to ${seconds} s for it to save a checkpoint before cancelling Slurm job 42`));
  }
});

/** The part of RunRegistry the follower uses, driven by hand. */
function fakeRuns(runs: RunSummary[]) {
  const changes = new Emitter<RunSummary | undefined>();
  const rereads: string[] = [];
  return { list: () => runs, onDidChange: changes.event, reread: async (dir: string) => void rereads.push(dir), changes, rereads };
}

test('a PENDING job reads "queued (Slurm job N)" beside its run until it runs; a window that did not submit it follows it too', async (t) => {
  const root = tempDir(t);
  const runDir = submittedRun(root, 'pending', '77');
  const script = ['PENDING', 'PENDING', 'RUNNING', 'RUNNING', 'COMPLETED'];
  const cluster = fakeCluster(() => (script.length > 1 ? script.shift()! : script[0]));
  const notes = new RunNotes();
  const seen: (string | undefined)[] = [];
  notes.onDidChange(() => seen.push(notes.get(runDir)));
  const runs = fakeRuns([{ runDir, name: 'pending', state: 'starting' }]);
  // Nobody calls follow(): seeing the run folder is enough.
  const follower = new SlurmFollower({ api: cluster.api, runs, notes, pollMs: 1000 });
  t.after(() => follower.dispose());
  assert.equal(follower.isFollowing(runDir), true);
  const end = await follower.follow(runDir);
  assert.equal(end?.state, 'COMPLETED');
  assert.deepEqual(seen, [queuedNote('77'), undefined], 'shown while pending, cleared once running');
  assert.equal(queuedNote('77'), 'queued (Slurm job 77)');
  // The Runs view shows a run's note in place of its state.
  const row = presentRun({ runDir, name: 'pending', state: 'starting' }, { note: queuedNote('77') });
  assert.match(row.description, /^queued \(Slurm job 77\)/);
  assert.match(row.tooltip, /State: starting \(queued \(Slurm job 77\)\)/);
  assert.equal(cluster.queries(runDir).length, 5);
  assert.ok(cluster.calls.every((c) => c.args.includes('--record')), 'whichever window sees the end writes it');
  assert.deepEqual(runs.rereads, [runDir], 'the recorded end is read back into the registry');
  assert.equal(follower.isFollowing(runDir), false);
});

test('the queued label leaves a stop\'s words alone; local runs and recorded Slurm runs are never asked about', async (t) => {
  const root = tempDir(t);
  const pending = submittedRun(root, 'pending', '5');
  const recorded = submittedRun(root, 'recorded', '6', { recorded: '6' });
  const unrecorded = submittedRun(root, 'unrecorded', '7');
  const local = path.join(root, 'local');
  fs.mkdirSync(local);
  let cancelled = false;
  const cluster = fakeCluster((dir) => (dir === pending && !cancelled ? 'PENDING' : 'CANCELLED'));
  const notes = new RunNotes();
  const runs = fakeRuns([
    { runDir: pending, name: 'pending', state: 'starting' },
    { runDir: recorded, name: 'recorded', state: 'failed' },
    { runDir: unrecorded, name: 'unrecorded', state: 'crashed' },
    { runDir: local, name: 'local', state: 'running' },
  ]);
  const follower = new SlurmFollower({ api: cluster.api, runs, notes, pollMs: 1000 });
  t.after(() => follower.dispose());
  await eventually(() => notes.get(pending) === queuedNote('5'));
  notes.set(pending, 'stopping: scancel sent');
  cancelled = true;
  await follower.follow(pending);
  assert.equal(notes.get(pending), 'stopping: scancel sent', 'the stop clears its own note');
  await eventually(() => cluster.queries(unrecorded).length > 0 && !follower.isFollowing(unrecorded));
  assert.equal(cluster.queries(unrecorded).length, 1, 'an ended run whose job end is not recorded yet is asked once');
  assert.equal(cluster.queries(recorded).length, 0);
  assert.equal(cluster.queries(local).length, 0);
  // A summary that changes without changing state (a train step) does not read slurm.json or ask again.
  runs.changes.fire({ runDir: unrecorded, name: 'unrecorded', state: 'crashed', step: 3 });
  assert.equal(follower.isFollowing(unrecorded), false);
});

test('a Slurm job takes a slot of sftStudio.maxConcurrentRuns, also after a reload, until Slurm ends it', async (t) => {
  const root = tempDir(t);
  // A job some earlier window submitted; this window finds its folder on disk.
  const runDir = submittedRun(root, 'slurm-20260101-000000', '91');
  let cancel = false;
  const cluster = fakeCluster(() => (cancel ? 'CANCELLED' : 'PENDING'));
  const registry = new RunRegistry({ roots: async () => [root], eventPollMs: 20, statusPollMs: 60_000, isPidAlive: () => false });
  t.after(() => registry.dispose());
  const queue = new RunQueue({ maxConcurrent: () => 1, activeRunDirs: () => registry.list().filter((r) => r.state === 'starting' || r.state === 'running').map((r) => r.runDir) });
  t.after(() => queue.dispose());
  registry.onDidChange(() => queue.pump());
  const notes = new RunNotes();
  await registry.refresh();
  const follower = new SlurmFollower({ api: cluster.api, runs: registry, notes, pollMs: 1000 });
  t.after(() => follower.dispose());

  assert.equal(registry.get(runDir)?.state, 'starting');
  await eventually(() => notes.get(runDir) === 'queued (Slurm job 91)');
  let started = 0;
  const submitted = queue.submit({ label: 'next.sft.yaml' }, async () => void started++);
  assert.ok(submitted.queued, 'the pending job holds the only slot');
  assert.equal(queue.used(), 1);

  cancel = true;
  await follower.follow(runDir);
  // The job's end, written by --record, reaches the registry; the slot frees and the queued start begins.
  assert.equal(registry.get(runDir)?.state, 'failed');
  assert.match(registry.get(runDir)?.error?.message ?? '', /Slurm job 91 ended CANCELLED before the trainer started/);
  assert.equal(notes.get(runDir), undefined);
  await eventually(() => started === 1);
  assert.equal(queue.list().length, 0);
});
