// Which processes a Stop may signal, from what the trainer recorded in its run folder. Only a process whose
// identity (host, pid, start time) still matches is ever signalled: a pid from an old status.json may belong to
// any process by now.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Liveness, ProcessIdentity } from './processes';

/** What the run folder says about its processes: status.json first, the lock file (written earlier) second. */
export interface RecordedProcesses {
  /** The process that trains and writes the folder (rank 0 under torchrun), newest record first. */
  trainers: ProcessIdentity[];
  /** Under torchrun, the launcher that started the ranks: the process the extension spawned. */
  launchers: ProcessIdentity[];
}

export interface StopTargets {
  /** Asked first (SIGINT): it saves a checkpoint and, under torchrun, stops every rank with it. */
  trainer?: ProcessIdentity;
  /** Under torchrun: SIGTERM reaches every rank through it (each rank has a session of its own). */
  launcher?: ProcessIdentity;
  /** A recorded process may still run but cannot be proven to be the trainer, so it is not signalled. */
  unverified: boolean;
}

export const LOCK_FILE = 'trainer.lock';

export function readRecordedProcesses(runDir: string): RecordedProcesses {
  const status = readObject(path.join(runDir, 'status.json'));
  const lock = readObject(path.join(runDir, LOCK_FILE));
  const trainers: ProcessIdentity[] = [];
  const launchers: ProcessIdentity[] = [];
  const add = (list: ProcessIdentity[], value: unknown) => {
    const identity = asIdentity(value);
    if (identity) list.push(identity);
  };
  // A status.json written before identities were recorded has its pid alone, which can never be verified.
  add(trainers, status?.process ?? (typeof status?.pid === 'number' ? { pid: status.pid } : undefined));
  add(trainers, lock);
  add(launchers, status?.launcher);
  add(launchers, lock?.launcher);
  return { trainers, launchers };
}

/** The first live record of each kind; a launcher that is the trainer itself (no torchrun) is not a second target. */
export function stopTargets(recorded: RecordedProcesses, check: (process: ProcessIdentity) => Liveness): StopTargets {
  let unverified = false;
  const firstAlive = (records: ProcessIdentity[]) =>
    records.find((record) => {
      const liveness = check(record);
      if (liveness === 'unknown') unverified = true;
      return liveness === 'alive';
    });
  const trainer = firstAlive(recorded.trainers);
  let launcher = firstAlive(recorded.launchers);
  if (launcher && trainer && launcher.pid === trainer.pid) launcher = undefined;
  return { trainer, launcher, unverified: unverified && !trainer && !launcher };
}

function readObject(file: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function asIdentity(value: unknown): ProcessIdentity | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { pid, host, start } = value as Record<string, unknown>;
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) return undefined;
  return {
    pid,
    ...(typeof host === 'string' ? { host } : {}),
    ...(typeof start === 'string' ? { start } : {}),
  };
}
