// Stop and liveness trust a recorded pid only with its host and start time: a pid from an old status.json may
// belong to any process by now. Real processes stand in for a reused pid and for a torchrun launcher.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { checkProcess, identityOf, isPidAlive, startToken, type Liveness, type ProcessIdentity, type Signal } from '../../src/runs/processes';
import { stopRun } from '../../src/runs/runManager';
import { deriveRunState, type StatusFile } from '../../src/runs/runStatus';
import { stopTargets } from '../../src/runs/stopTargets';
import { eventually, repoRoot, tempDir } from './helpers';

const posix = process.platform !== 'win32';

/** A long-lived process that has nothing to do with any run. */
function stranger(t: { after(fn: () => void): void }): ChildProcess {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  return child;
}

async function started(child: ChildProcess): Promise<number> {
  if (child.pid === undefined) await new Promise((resolve) => child.once('spawn', resolve));
  assert.ok(child.pid);
  return child.pid;
}

function writeStatus(runDir: string, status: object): void {
  fs.writeFileSync(path.join(runDir, 'status.json'), JSON.stringify(status));
}

test('a live process whose start time differs from the record is gone: it is never signalled and the run is crashed', { skip: !posix }, async (t) => {
  const dir = tempDir(t);
  const child = stranger(t);
  const pid = await started(child);
  const real = identityOf(pid);
  assert.ok(real.start, 'this machine reads start times');
  assert.equal(checkProcess(real), 'alive');
  // The trainer that wrote this status.json had the same pid, but started at another time: its pid was reused.
  const recorded: ProcessIdentity = { ...real, start: `${real.start}0` };
  assert.equal(checkProcess(recorded), 'gone');
  assert.equal(checkProcess({ ...real, host: `${os.hostname()}-elsewhere` }), 'unknown');
  const now = Date.now() / 1000;
  writeStatus(dir, { pid, state: 'running', heartbeat: now, progress: now, process: recorded });

  const sent: [number, Signal][] = [];
  const outcome = await stopRun(dir, { graceMs: 50, killAfterMs: 50, pollMs: 5, signal: (p, s) => void sent.push([p, s]) });
  assert.equal(outcome, 'not-running');
  assert.deepEqual(sent, []);
  // With the real signal function too: the stranger lives on.
  assert.equal(await stopRun(dir, { graceMs: 50, killAfterMs: 50, pollMs: 5 }), 'not-running');
  assert.ok(isPidAlive(pid) && child.exitCode === null && child.signalCode === null);
  assert.match(fs.readFileSync(path.join(dir, 'control.jsonl'), 'utf8'), /"type":"stop"/);

  const status: StatusFile = { pid, state: 'running', heartbeat: now, process: recorded };
  assert.equal(deriveRunState({ status, now, isPidAlive }), 'crashed', 'a fresh heartbeat does not make a stranger the trainer');
  assert.equal(deriveRunState({ status: { ...status, process: real }, now, isPidAlive }), 'running');
});

test('a record this machine cannot verify is never signalled; only the request is written', async (t) => {
  const dir = tempDir(t);
  // Written before identities were recorded: a pid alone.
  writeStatus(dir, { pid: process.pid, state: 'running' });
  const sent: Signal[] = [];
  const outcome = await stopRun(dir, { graceMs: 10, signal: (_p, s) => void sent.push(s) });
  assert.equal(outcome, 'unverified');
  assert.deepEqual(sent, []);
});

test('the trainer and the extension read the same start time for a process', { skip: !posix }, async (t) => {
  const pid = await started(stranger(t));
  const python = path.join(repoRoot, '.venv', 'bin', 'python');
  const out = spawnSync(python, ['-c', `import json, sft_studio.run.identity as i; print(json.dumps(i.identity(${pid})))`], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, PYTHONPATH: path.join(repoRoot, 'trainer') },
  });
  assert.equal(out.status, 0, out.stderr);
  assert.deepEqual(JSON.parse(out.stdout), { pid, host: os.hostname(), start: startToken(pid) });
});

test('stop targets: SIGINT to rank 0, SIGTERM through the torchrun launcher, SIGKILL to both groups', async (t) => {
  const dir = tempDir(t);
  const rank0 = { pid: 200, host: 'h', start: 'linux:b:2' };
  const launcher = { pid: 100, host: 'h', start: 'linux:b:1' };
  writeStatus(dir, { pid: 200, state: 'running', process: rank0, launcher });
  const alive = new Set([100, 200]);
  const sent: string[] = [];
  const outcome = await stopRun(dir, {
    graceMs: 10,
    killAfterMs: 10,
    pollMs: 2,
    check: (p): Liveness => (alive.has(p.pid) && p.start?.startsWith('linux:b:') ? 'alive' : 'gone'),
    signal: (pid, signal, group) => {
      sent.push(`${signal} ${group ? '-' : ''}${pid}`);
      if (signal === 'SIGKILL') alive.delete(pid);
    },
  });
  assert.equal(outcome, 'killed');
  assert.deepEqual(sent, ['SIGINT 200', 'SIGTERM 100', 'SIGKILL -100', 'SIGKILL -200']);

  // Without torchrun the launcher is the trainer itself; a dead launcher record is not a target.
  const same = stopTargets({ trainers: [rank0], launchers: [{ ...rank0 }] }, () => 'alive');
  assert.deepEqual([same.trainer?.pid, same.launcher], [200, undefined]);
  const gone = stopTargets({ trainers: [rank0], launchers: [launcher] }, (p) => (p.pid === 100 ? 'gone' : 'alive'));
  assert.deepEqual([gone.trainer?.pid, gone.launcher], [200, undefined]);
});

test('a torchrun-like tree (rank 0 in a session of its own) is stopped whole: the launcher is signalled too', { skip: !posix }, async (t) => {
  const dir = tempDir(t);
  // The launcher ignores SIGINT and SIGTERM like a stuck torchrun; its rank 0 is started detached (setsid), as
  // torchrun starts each rank, and ignores them too, so only SIGKILL to each group ends the tree.
  const stubborn = 'process.on("SIGINT",()=>{});process.on("SIGTERM",()=>{});setInterval(()=>{},1000);';
  const launcherCode =
    `const {spawn}=require("node:child_process");` +
    `const rank=spawn(process.execPath,["-e",${JSON.stringify(stubborn)}],{detached:true,stdio:"ignore"});` +
    `console.log(rank.pid);${stubborn}`;
  const launcher = spawn(process.execPath, ['-e', launcherCode], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  const rankPid = Number(await new Promise<string>((resolve) => launcher.stdout?.once('data', (d: Buffer) => resolve(d.toString()))));
  const launcherPid = await started(launcher);
  t.after(() => {
    for (const pid of [launcherPid, rankPid]) if (isPidAlive(pid)) process.kill(pid, 'SIGKILL');
  });
  // Both install their handlers within Node's start-up.
  await new Promise((resolve) => setTimeout(resolve, 300));
  writeStatus(dir, { pid: rankPid, state: 'running', process: identityOf(rankPid), launcher: identityOf(launcherPid) });

  const outcome = await stopRun(dir, { graceMs: 100, killAfterMs: 100, pollMs: 10 });
  assert.equal(outcome, 'killed');
  await eventually(() => launcher.exitCode !== null || launcher.signalCode !== null);
  assert.equal(launcher.signalCode, 'SIGKILL', 'the launcher is killed, not only the rank it started');
  await eventually(() => !isPidAlive(rankPid) || isZombie(rankPid));
});

/** A killed rank whose parent is gone waits to be reaped by the system; until then it is a zombie. */
function isZombie(pid: number): boolean {
  const ps = spawnSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' });
  return ps.status !== 0 || ps.stdout.trim().startsWith('Z');
}
