// Trainer processes are detached from the extension host on purpose (runs survive window reloads), so
// stopping code-server does not end them. These helpers stop the ones a test or demo session started.
import fs from 'node:fs';
import path from 'node:path';
import { sleep } from './codeServer.mjs';

/** A run folder's events.jsonl, parsed line by line. */
export function readEvents(runDir) {
  return fs
    .readFileSync(path.join(runDir, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line));
}

export function runFolders(runsRoot) {
  try {
    return fs
      .readdirSync(runsRoot, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => path.join(runsRoot, e.name));
  } catch {
    return [];
  }
}

/**
 * Sends SIGINT (stop after saving a checkpoint) to live trainers of the given run folders. Only a
 * process whose command line names its run folder is signalled, never an unrelated reused pid.
 * Synchronous so it can run in a process 'exit' handler. Returns the signalled pids.
 */
export function signalTrainers(runDirs, log = () => {}) {
  const pids = [];
  for (const runDir of runDirs) {
    try {
      const { pid, state } = JSON.parse(fs.readFileSync(path.join(runDir, 'status.json'), 'utf8'));
      if (!['starting', 'running'].includes(state) || !Number.isInteger(pid)) continue;
      if (!fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(runDir)) continue;
      log(`stopping trainer ${pid} still running in ${runDir}`);
      process.kill(pid, 'SIGINT');
      pids.push(pid);
    } catch {
      // no status yet, or the process is already gone
    }
  }
  return pids;
}

/** SIGINT, then SIGKILL whatever is still alive after `graceMs`. */
export async function stopTrainers(runDirs, { graceMs = 15_000, log } = {}) {
  const pids = signalTrainers(runDirs, log);
  const deadline = Date.now() + graceMs;
  for (const pid of pids) {
    while (Date.now() < deadline && fs.existsSync(`/proc/${pid}`)) await sleep(200);
    if (fs.existsSync(`/proc/${pid}`)) process.kill(pid, 'SIGKILL');
  }
  return pids;
}
