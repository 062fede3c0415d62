// One Resume per run at a time. Between the command and the trainer's first heartbeat there are seconds (the
// interpreter check, a queue slot, Python's start-up) in which the Runs view still shows the run as stopped; a
// second Resume then would start a second trainer on the same folder. The trainer's lock would refuse it, but
// only after a failed start; here it is refused at once, with a message.
import type { RunQueue } from '../runs/runQueue';

type Queue = Pick<RunQueue, 'submit' | 'used' | 'limit'>;

interface Pending {
  /** Set while the resume waits in the queue. */
  queuedId?: number;
  starting?: boolean;
}

export type Guarded<T> = { refused: true } | { refused: false; value: T };

export class ResumeGuard {
  private readonly pending = new Map<string, Pending>();

  /** `waiting` lists the queue's entries, to notice a queued resume that was cancelled. */
  constructor(private readonly waiting: () => readonly { id: number }[]) {}

  /** A resume of this run is being prepared, waits in the queue or is starting. */
  isPending(runDir: string): boolean {
    const entry = this.pending.get(runDir);
    if (entry?.queuedId !== undefined && !this.waiting().some((q) => q.id === entry.queuedId)) {
      this.pending.delete(runDir);
      return false;
    }
    return entry !== undefined;
  }

  /**
   * Runs `resume` unless one of this run is pending. It gets a queue that keeps the run pending while its start
   * waits for a slot and until that start is over (by then the run shows as starting or running, or failed).
   */
  async resume<T>(runDir: string, queue: Queue, resume: (queue: Queue) => Promise<T>): Promise<Guarded<T>> {
    if (this.isPending(runDir)) return { refused: true };
    const entry: Pending = {};
    this.pending.set(runDir, entry);
    const release = () => {
      if (this.pending.get(runDir) === entry) this.pending.delete(runDir);
    };
    const guarded: Queue = {
      used: () => queue.used(),
      limit: () => queue.limit(),
      submit: (what, start) => {
        const submitted = queue.submit(what, async (claim) => {
          entry.queuedId = undefined;
          entry.starting = true;
          try {
            return await start(claim);
          } finally {
            release();
          }
        });
        if (submitted.queued) entry.queuedId = submitted.queued.id;
        return submitted;
      },
    };
    try {
      return { refused: false, value: await resume(guarded) };
    } finally {
      if (entry.queuedId === undefined && !entry.starting) release();
    }
  }
}
