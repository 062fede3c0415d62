#!/usr/bin/env node
// The Slurm suite (npm run test:slurm): a real single-host Slurm (Debian's slurm-wlm with munge) started in a
// temporary folder, then trainer/tests/slurm/test_real_slurm.py submits runs to it with `python -m sft_studio
// submit`. Not part of `npm test`: it needs root, apt (the first time) and two daemons, and takes minutes.
// Without root or apt it says why and exits 0. Extra arguments go to pytest.
//
// The cluster: one node (localhost) in one partition, munged on its own key and socket, slurmctld and slurmd in
// the foreground as children of this script on free ports, state and spool in the temporary folder, no cgroups
// (proctrack/linuxproc, task/none) and no accounting database: sacct answers "accounting storage is disabled",
// so job states come from squeue and `scontrol show job` (MinJobAge keeps ended jobs there for an hour).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, chmodSync, openSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, venvPython, hasVenv } from './lib.mjs';

const TOOLS = ['munged', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'scontrol', 'scancel', 'sinfo', 'srun'];
const started = Date.now();
const seconds = (from) => ((Date.now() - from) / 1000).toFixed(1);

function skip(why) {
  console.log(`test:slurm skipped: ${why}`);
  process.exit(0);
}

const which = (tool) => ['/usr/sbin', '/usr/bin', '/sbin', '/bin', ...(process.env.PATH ?? '').split(path.delimiter)].map((d) => path.join(d, tool)).find(existsSync);

function installIfMissing() {
  const missing = TOOLS.filter((t) => !which(t));
  if (missing.length === 0) return;
  if (process.platform !== 'linux') skip(`a real Slurm needs Linux (missing ${missing.join(', ')}).`);
  if (process.getuid?.() !== 0) skip(`${missing.join(', ')} not installed, and installing slurm-wlm and munge needs root (apt-get).`);
  if (!which('apt-get')) skip(`${missing.join(', ')} not installed, and there is no apt-get to install slurm-wlm and munge with.`);
  console.log(`installing slurm-wlm and munge (missing: ${missing.join(', ')})…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'slurm-wlm', 'munge'], { stdio: 'inherit', env });
  if (install().status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
    if (install().status !== 0) skip('apt-get could not install slurm-wlm and munge (see above).');
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function slurmConf(dir, ports, cpus) {
  return `# Written by scripts/test-slurm.mjs: a one-node cluster for the tests, gone when they end.
ClusterName=sftstudio
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=${dir}/munge/munge.socket
SlurmctldPort=${ports.ctld}
SlurmdPort=${ports.d}
StateSaveLocation=${dir}/state
SlurmdSpoolDir=${dir}/spool
SlurmctldPidFile=${dir}/slurmctld.pid
SlurmdPidFile=${dir}/slurmd.pid
SlurmctldLogFile=${dir}/log/slurmctld.log
SlurmdLogFile=${dir}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
MinJobAge=3600
KillWait=60
SchedulerType=sched/backfill
NodeName=localhost CPUs=${cpus} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
`;
}

function startDaemon(dir, name, command, args, env) {
  const out = openSync(path.join(dir, 'log', `${name}.out`), 'a');
  const child = spawn(command, args, { env, stdio: ['ignore', out, out] });
  closeSync(out);
  child.once('exit', (code, signal) => {
    if (!stopping) console.error(`${name} exited (${code ?? signal}); its log: ${path.join(dir, 'log')}`);
  });
  return child;
}

async function waitForIdleNode(env, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const result = spawnSync('sinfo', ['--noheader', '--format=%T'], { env, encoding: 'utf8' });
    last = `${result.stdout}${result.stderr}`.trim();
    if (result.status === 0 && last.split('\n').includes('idle')) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`the node did not become idle within ${timeoutMs / 1000} s (sinfo: ${last || 'no answer'})`);
}

let stopping = false;
const daemons = [];
let tempRoot;

function stopAll() {
  stopping = true;
  // In reverse order of their start: slurmd, slurmctld, munged.
  for (const child of daemons.reverse()) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
}

async function main() {
  installIfMissing();
  if (process.getuid?.() !== 0) skip('slurmd must run as root to start jobs as their users.');
  if (!hasVenv()) {
    console.error('No .venv yet: run `npm run setup` first.');
    process.exit(1);
  }

  tempRoot = mkdtempSync(path.join(os.tmpdir(), 'sft-studio-slurm-'));
  for (const sub of ['munge', 'state', 'spool', 'log']) mkdirSync(path.join(tempRoot, sub));
  chmodSync(path.join(tempRoot, 'munge'), 0o700);
  const key = path.join(tempRoot, 'munge', 'munge.key');
  writeFileSync(key, randomBytes(1024), { mode: 0o400 });
  const ports = { ctld: await freePort(), d: await freePort() };
  const cpus = Math.min(2, os.cpus().length);
  const conf = path.join(tempRoot, 'slurm.conf');
  writeFileSync(conf, slurmConf(tempRoot, ports, cpus));
  const env = { ...process.env, SLURM_CONF: conf };

  const setupFrom = Date.now();
  const munge = path.join(tempRoot, 'munge');
  daemons.push(
    startDaemon(tempRoot, 'munged', which('munged'), ['--foreground', '--force', `--socket=${munge}/munge.socket`, `--key-file=${key}`,
      `--pid-file=${munge}/munged.pid`, `--seed-file=${munge}/munged.seed`, `--log-file=${tempRoot}/log/munged.log`], env),
  );
  for (let i = 0; i < 50 && !existsSync(`${munge}/munge.socket`); i++) await new Promise((r) => setTimeout(r, 100));
  daemons.push(startDaemon(tempRoot, 'slurmctld', which('slurmctld'), ['-D', '-f', conf], env));
  daemons.push(startDaemon(tempRoot, 'slurmd', which('slurmd'), ['-D', '-N', 'localhost', '-f', conf], env));
  await waitForIdleNode(env, 60_000);
  console.log(`Slurm is up (${seconds(setupFrom)} s): slurmctld :${ports.ctld}, slurmd :${ports.d}, node localhost (${cpus} CPUs), folder ${tempRoot}`);

  const testsFrom = Date.now();
  const result = spawnSync(venvPython, ['-m', 'pytest', 'trainer/tests/slurm', '-q', '-s', '-p', 'no:cacheprovider', ...process.argv.slice(2)], {
    stdio: 'inherit',
    cwd: repoRoot,
    env: { ...env, SFT_STUDIO_SLURM: '1' },
  });
  console.log(`test:slurm: tests ${seconds(testsFrom)} s, whole suite ${seconds(started)} s (set-up included)`);
  return result.status ?? 1;
}

const code = await main().catch((error) => {
  console.error(`test:slurm: ${error.message}`);
  return 1;
});
stopAll();
await new Promise((resolve) => setTimeout(resolve, 1000));
for (const child of daemons) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
if (tempRoot && code === 0) rmSync(tempRoot, { recursive: true, force: true });
else if (tempRoot) console.log(`test:slurm: kept ${tempRoot} (logs in log/) for a look at what failed`);
process.exit(code);
