import assert from 'node:assert/strict';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { Liveness, Signal } from '../../src/runs/processes';
import { launch, planLaunch, stopRun, tailOfLog } from '../../src/runs/runManager';
import { OverrideError, trainArgs, trainerEnv } from '../../src/runs/trainerCommand';
import { tempDir } from './helpers';

const when = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));

test('train argv: module, config, run folder, then overrides in the order given', () => {
  assert.deepEqual(trainArgs('/w/a.sft.yaml', '/w/runs/a-1', ['max_steps=20', 'learning_rate=1e-4', 'max_steps=5']), [
    '-m',
    'sft_studio',
    'train',
    '/w/a.sft.yaml',
    '--output-dir',
    '/w/runs/a-1',
    '--set',
    'max_steps=20',
    '--set',
    'learning_rate=1e-4',
    '--set',
    'max_steps=5',
  ]);
});

test('a config path with spaces and shell characters stays one argument', () => {
  const args = trainArgs('/w/my runs; rm -rf ~/x.sft.yaml', '/w/out dir', []);
  assert.equal(args[3], '/w/my runs; rm -rf ~/x.sft.yaml');
  assert.equal(args[5], '/w/out dir');
});

test('overrides that are not key=value are refused before anything starts', (t) => {
  assert.throws(() => trainArgs('c', 'r', ['max_steps 20']), OverrideError);
  assert.throws(() => trainArgs('c', 'r', ['--set=x']), OverrideError);
  assert.throws(() => trainArgs('c', 'r', [42] as unknown as string[]), /must look like "key=value"; got 42/);
  const dir = tempDir(t);
  assert.throws(() =>
    planLaunch({ configPath: path.join(dir, 'a.sft.yaml'), python: 'python', overrides: ['oops'], extensionPath: '/ext', now: when }),
  );
  assert.deepEqual(fs.readdirSync(dir), [], 'no run folder is left behind');
});

test('trainer env prepends the bundled trainer to PYTHONPATH and unbuffers output', () => {
  const env = trainerEnv({ PATH: '/bin', PYTHONPATH: '/site' }, '/ext');
  assert.equal(env.PYTHONPATH, `/ext/trainer${path.delimiter}/site`);
  assert.equal(env.PYTHONUNBUFFERED, '1');
  assert.equal(env.PATH, '/bin');
  assert.equal(trainerEnv({}, '/ext').PYTHONPATH, '/ext/trainer');
});

test('launch: argv array, no shell, detached, output into trainer.log', (t) => {
  const dir = tempDir(t);
  const plan = planLaunch({
    configPath: path.join(dir, 'tiny.sft.yaml'),
    runName: 'exp',
    python: '/venv/bin/python',
    overrides: ['max_steps=3'],
    extensionPath: '/ext',
    now: when,
    env: { HOME: '/home/u' },
  });
  assert.equal(plan.runDir, path.join(dir, 'runs', 'exp-20260102-030405'));
  let seen: { command: string; args: readonly string[]; options: SpawnOptions } | undefined;
  let unref = false;
  const child = launch(plan, (command, args, options) => {
    seen = { command, args, options };
    const fake = new EventEmitter() as ChildProcess;
    fake.unref = () => {
      unref = true;
    };
    return fake;
  });
  assert.ok(child);
  assert.ok(seen);
  assert.equal(seen.command, '/venv/bin/python');
  assert.deepEqual(seen.args, ['-m', 'sft_studio', 'train', path.join(dir, 'tiny.sft.yaml'), '--output-dir', plan.runDir, '--set', 'max_steps=3']);
  assert.equal(seen.options.shell, false);
  assert.equal(seen.options.detached, true);
  assert.equal(seen.options.cwd, dir);
  assert.equal(seen.options.env?.PYTHONPATH, '/ext/trainer');
  const stdio = seen.options.stdio as unknown[];
  assert.equal(stdio[0], 'ignore');
  assert.equal(typeof stdio[1], 'number');
  assert.equal(stdio[1], stdio[2]);
  assert.ok(unref, 'the extension host does not wait for the run');
  assert.ok(fs.existsSync(plan.logPath));
});

test('a real trainer process writes into trainer.log', async (t) => {
  const dir = tempDir(t);
  const plan = planLaunch({ configPath: path.join(dir, 'a.sft.yaml'), python: process.execPath, overrides: [], extensionPath: '/ext', now: when });
  // Node stands in for Python: it rejects `-m` and says so on stderr, which must land in the log.
  const child = launch(plan);
  // launch() unrefs the child so VS Code can exit; the test has to wait for it.
  child.ref();
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.notEqual(code, 0);
  assert.match(tailOfLog(plan.runDir), /-m|bad option/);
});

function fakeProcess(exitAfter: Signal | undefined) {
  const sent: Signal[] = [];
  let alive = true;
  return {
    sent,
    signal: (_pid: number, signal: Signal) => {
      sent.push(signal);
      if (signal === exitAfter) alive = false;
    },
    check: (): Liveness => (alive ? 'alive' : 'gone'),
  };
}

/** status.json naming a trainer process, as the trainer writes it. */
function recordTrainer(dir: string, pid = 99): void {
  fs.writeFileSync(path.join(dir, 'status.json'), JSON.stringify({ pid, state: 'running', process: { pid, host: 'h', start: 'linux:b:1' } }));
}

test('stop: control.jsonl request and SIGINT; a trainer that obeys is not signalled again', async (t) => {
  const dir = tempDir(t);
  recordTrainer(dir);
  const fake = fakeProcess('SIGINT');
  const outcome = await stopRun(dir, { graceMs: 100, pollMs: 5, signal: fake.signal, check: fake.check, now: () => 1234.5 });
  assert.equal(outcome, 'exited');
  assert.deepEqual(fake.sent, ['SIGINT']);
  assert.equal(fs.readFileSync(path.join(dir, 'control.jsonl'), 'utf8'), '{"type":"stop","time":1234.5}\n');
});

test('stop escalates to SIGTERM after the grace period, then SIGKILL', async (t) => {
  const dir = tempDir(t);
  recordTrainer(dir);
  const stubborn = fakeProcess(undefined);
  assert.equal(await stopRun(dir, { graceMs: 20, killAfterMs: 20, pollMs: 5, signal: stubborn.signal, check: stubborn.check }), 'killed');
  assert.deepEqual(stubborn.sent, ['SIGINT', 'SIGTERM', 'SIGKILL']);
  const slow = fakeProcess('SIGTERM');
  assert.equal(await stopRun(dir, { graceMs: 20, pollMs: 5, signal: slow.signal, check: slow.check }), 'terminated');
  assert.deepEqual(slow.sent, ['SIGINT', 'SIGTERM']);
});

test('stopping a run whose process is gone only leaves the request', async (t) => {
  const dir = tempDir(t);
  recordTrainer(dir);
  const fake = fakeProcess(undefined);
  assert.equal(await stopRun(dir, { graceMs: 10, signal: fake.signal, check: () => 'gone' }), 'not-running');
  assert.deepEqual(fake.sent, []);
  assert.ok(fs.existsSync(path.join(dir, 'control.jsonl')));
});
