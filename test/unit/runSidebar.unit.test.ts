import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { throttle } from '../../src/common/throttle';
import { setUpEnvironment, spawnStreaming, type SetupDeps } from '../../src/python/setupEnvironment';
import type { RunSummary } from '../../src/protocol/runSummary';
import { LogFollower } from '../../src/runs/logFollower';
import { isResumable, presentRun, progressPercent } from '../../src/views/runPresentation';
import { eventually, FakeUi, tempDir } from './helpers';

const run = (over: Partial<RunSummary>): RunSummary => ({ runDir: '/w/runs/a', name: 'a', state: 'running', ...over });

test('tree row: state · percent · step · loss while running; ETA and checkpoints in the tooltip', () => {
  const look = presentRun(run({ step: 12, totalSteps: 30, loss: 2.3456, etaSeconds: 75 }), { checkpoints: 1 });
  assert.equal(look.description, 'running · 40% · step 12/30 · loss 2.35');
  assert.match(look.tooltip, /Progress: step 12\/30 \(40%\)/);
  assert.match(look.tooltip, /ETA: 1m 15s/);
  assert.match(look.tooltip, /Checkpoints: 1/);
  assert.equal(look.contextValue, 'run.running');
  assert.equal(presentRun(run({ state: 'completed', step: 30, totalSteps: 30 })).description, 'completed · step 30/30');
  assert.deepEqual([progressPercent({ step: 0, totalSteps: 30 }), progressPercent({ step: 29, totalSteps: 30 }), progressPercent({ step: 3 })], [0, 96, undefined]);
});

test('a stopping run shows the stop step; stopped and crashed runs with a checkpoint are resumable', () => {
  const stopping = presentRun(run({ step: 5 }), { note: 'stopping: SIGTERM sent' });
  assert.match(stopping.description, /^stopping: SIGTERM sent · /);
  assert.equal(stopping.icon.id, 'loading~spin');
  assert.equal(presentRun(run({ state: 'stopped' }), { checkpoints: 2 }).contextValue, 'run.stopped.resumable');
  const crashed = presentRun(run({ state: 'crashed' }), { checkpoints: 1 });
  assert.equal(crashed.contextValue, 'run.crashed.resumable');
  assert.match(crashed.tooltip, /gone without finishing: Resume continues from the last checkpoint/);
  assert.equal(presentRun(run({ state: 'crashed' })).contextValue, 'run.crashed');
  assert.equal(isResumable(run({ state: 'completed' }), 3), false);
  assert.equal(isResumable(run({ state: 'running' }), 3), false);
});

test('throttle: the first call at once, a burst collapses into one trailing call', async () => {
  let calls = 0;
  const fire = throttle(() => calls++, 40);
  for (let i = 0; i < 1000; i++) fire();
  assert.equal(calls, 1);
  await eventually(() => calls === 2, 1000);
  await new Promise((resolve) => setTimeout(resolve, 80));
  assert.equal(calls, 2, 'nothing more without new calls');
  fire.dispose();
});

test('log follower: appended text once, a split multi-byte character held back, truncation restarts', async (t) => {
  const file = path.join(tempDir(t), 'trainer.log');
  const seen: string[] = [];
  const follower = new LogFollower(file, (text) => seen.push(text));
  await follower.read();
  assert.deepEqual(seen, [], 'no file yet: nothing, no error');
  const utf8 = (text: string) => new TextEncoder().encode(text);
  const euro = utf8('€'); // 3 bytes
  fs.writeFileSync(file, utf8('step 1 loss 2.0\ncost '));
  fs.appendFileSync(file, euro.subarray(0, 1));
  await follower.read();
  fs.appendFileSync(file, euro.subarray(1));
  fs.appendFileSync(file, utf8('5\n'));
  await follower.read();
  await follower.read();
  assert.equal(seen.join(''), 'step 1 loss 2.0\ncost €5\n');
  assert.equal(seen.length, 2);
  fs.writeFileSync(file, 'restarted\n');
  await follower.read();
  assert.match(seen.join(''), /truncated; showing it again from the start\]\nrestarted\n$/);
  follower.dispose();
});

test('log follower: polls while the run is active, then stops', async (t) => {
  const file = path.join(tempDir(t), 'trainer.log');
  fs.writeFileSync(file, 'a\n');
  let active = true;
  let text = '';
  const follower = new LogFollower(file, (piece) => (text += piece), { pollMs: 10, keepFollowing: () => active });
  follower.start();
  await eventually(() => text === 'a\n');
  fs.appendFileSync(file, 'b\n');
  await eventually(() => text === 'a\nb\n');
  active = false;
  await new Promise((resolve) => setTimeout(resolve, 40));
  fs.appendFileSync(file, 'c\n');
  await new Promise((resolve) => setTimeout(resolve, 40));
  assert.equal(text, 'a\nb\n', 'no more reads once the run ended');
  follower.start();
  await eventually(() => text === 'a\nb\nc\n');
  follower.dispose();
});

function setupHarness(t: { after(fn: () => void): void }, results: (number | null)[]) {
  const ui = new FakeUi();
  const folder = tempDir(t);
  const ran: string[] = [];
  const logged: string[] = [];
  const written: string[] = [];
  const deps: SetupDeps = {
    ui,
    isTrusted: () => true,
    folder: () => folder,
    extensionPath: '/ext',
    exists: () => false,
    run: async (command, args, options) => {
      ran.push([command, ...args].join(' '));
      options.onLine('Collecting torch==2.13.0');
      return results.shift() ?? 0;
    },
    log: (line) => logged.push(line),
    showLog: () => undefined,
    setPythonPath: async (p) => void written.push(p),
    platform: 'linux',
    basePythons: ['python3', 'python'],
  };
  return { deps, ui, folder, ran, logged, written };
}

test('set up environment: venv, then pip with the pinned constraints; the setting points at the new Python', async (t) => {
  const h = setupHarness(t, [0, 0]);
  const python = await setUpEnvironment(h.deps);
  const venv = path.join(h.folder, '.venv');
  assert.equal(python, path.join(venv, 'bin', 'python'));
  assert.deepEqual(h.ran, [
    `python3 -m venv ${venv}`,
    `${python} -m pip install -c /ext/trainer/constraints.txt -r /ext/trainer/requirements.txt`,
  ]);
  assert.deepEqual(h.written, [python]);
  assert.ok(h.ui.messages('progress-report').some((m) => /Collecting torch==2\.13\.0/.test(m)), 'pip progress is visible');
  assert.ok(h.logged.includes(`$ python3 -m venv ${venv}`));
});

test('set up environment: a missing venv module falls back, then fails with the fix; untrusted refuses', async (t) => {
  const failing = setupHarness(t, [1, 1]);
  assert.equal(await setUpEnvironment(failing.deps), undefined);
  assert.equal(failing.ran.length, 2);
  assert.match(failing.ui.messages('error')[0], /could not create .*\.venv \(tried python3, python; on Debian\/Ubuntu install python3-venv\)/);
  assert.deepEqual(failing.written, []);

  const pipFails = setupHarness(t, [0, 1]);
  assert.equal(await setUpEnvironment(pipFails.deps), undefined);
  assert.match(pipFails.ui.messages('error')[0], /pip could not install/);

  const untrusted = setupHarness(t, []);
  untrusted.deps.isTrusted = () => false;
  assert.equal(await setUpEnvironment(untrusted.deps), undefined);
  assert.match(untrusted.ui.messages('error')[0], /trust this workspace first/);
  assert.equal(untrusted.ran.length, 0);
});

test('spawnStreaming hands over stdout and stderr line by line and the exit code (a real process)', async () => {
  const lines: string[] = [];
  const code = await spawnStreaming(process.execPath, ['-e', 'console.log("one\\ntwo"); console.error("three"); process.exit(3)'], {
    cwd: process.cwd(),
    onLine: (line) => lines.push(line),
  });
  assert.equal(code, 3);
  assert.deepEqual([...lines].sort(), ['one', 'three', 'two']);
  assert.equal(await spawnStreaming('/nonexistent/python', [], { cwd: process.cwd(), onLine: () => undefined }), null);
});
