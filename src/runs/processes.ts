// Process primitives behind one seam, so stop/liveness logic is testable without real processes.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';

export type Signal = 'SIGINT' | 'SIGTERM' | 'SIGKILL';

/**
 * A process as the trainer records it (trainer/sft_studio/run/identity.py). A pid alone names a process only while it
 * lives: once the trainer is gone the system hands its number to another process, so the host and the start time
 * are recorded with it and compared before the pid is trusted.
 */
export interface ProcessIdentity {
  pid: number;
  host?: string;
  /** `linux:<boot id>:<start ticks>` or `ps:<lstart>`; null where the trainer's platform has neither. */
  start?: string | null;
}

/** `unknown`: this machine cannot tell (another host, or no start time recorded). */
export type Liveness = 'alive' | 'gone' | 'unknown';

export interface ProcessProbe {
  hostname(): string;
  exists(pid: number): boolean;
  startOf(pid: number): string | undefined;
}

/** True while a process with this pid exists (signal 0 probes without delivering anything). */
export function isPidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else; still alive.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let bootId: string | null | undefined;

function readBootId(): string | null {
  if (bootId === undefined) {
    try {
      bootId = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'ascii').trim() || null;
    } catch {
      bootId = null;
    }
  }
  return bootId;
}

/** The start time of `pid` in the trainer's format; undefined when the process is gone or cannot be read. */
export function startToken(pid: number): string | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const boot = readBootId();
  if (boot) {
    let text: string;
    try {
      text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return undefined;
    }
    // The command name (field 2) may hold spaces and parentheses: count the fields after its closing one.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(/\s+/);
    return fields.length > 19 ? `linux:${boot}:${fields[19]}` : undefined;
  }
  if (process.platform === 'win32') return undefined;
  const ps = spawnSync('ps', ['-o', 'lstart=', '-p', String(pid)], {
    encoding: 'utf8',
    timeout: 10_000,
    env: { PATH: process.env.PATH ?? '/bin:/usr/bin', LC_ALL: 'C', TZ: 'UTC' },
  });
  const line = (ps.stdout ?? '').split(/\s+/).filter(Boolean).join(' ');
  return ps.status === 0 && line ? `ps:${line}` : undefined;
}

export const systemProbe: ProcessProbe = { hostname: () => os.hostname(), exists: isPidAlive, startOf: startToken };

/** This machine's record of a live process, as the trainer would write it. */
export function identityOf(pid: number, probe: ProcessProbe = systemProbe): ProcessIdentity {
  return { pid, host: probe.hostname(), start: probe.startOf(pid) ?? null };
}

/** Whether a recorded process still runs: same host, pid present and the same start time. */
export function checkProcess(recorded: ProcessIdentity, probe: ProcessProbe = systemProbe): Liveness {
  const { pid, host, start } = recorded;
  if (!Number.isInteger(pid) || pid <= 0) return 'gone';
  if (host !== undefined && host !== probe.hostname()) return 'unknown';
  if (!probe.exists(pid)) return 'gone';
  if (!start) return 'unknown';
  const now = probe.startOf(pid);
  if (now === undefined) return probe.exists(pid) ? 'unknown' : 'gone';
  return now === start ? 'alive' : 'gone';
}

/**
 * Sends a signal to a process, or with `group` to the process group it leads (a trainer spawned detached leads
 * its own; torchrun starts each rank as the leader of another). A process that is not a group leader gets the
 * signal itself.
 */
export function sendSignal(pid: number, signal: Signal, group = false): void {
  try {
    if (group) {
      try {
        process.kill(-pid, signal);
        return;
      } catch {
        // not a group leader (e.g. started by a terminal): fall through to the pid itself
      }
    }
    process.kill(pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}
