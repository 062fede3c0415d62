// Process primitives behind one seam, so stop/liveness logic is testable without real processes.

export type Signal = 'SIGINT' | 'SIGTERM' | 'SIGKILL';

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

/**
 * Trainers are spawned detached, so each leads its own process group: SIGKILL goes to the whole group
 * (torchrun workers included), the polite signals only to the leader, which forwards them itself.
 */
export function sendSignal(pid: number, signal: Signal): void {
  try {
    if (signal === 'SIGKILL') {
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
