// Every window follows the Slurm jobs of the runs it sees, not only the window that submitted them: a reloaded
// window, a second window on the same shared folder. A job waiting for its nodes shows as "queued (Slurm job N)"
// beside its run, and a job Slurm ends (cancelled while pending, a time limit, a lost node) gets its end written
// into the run folder (`slurm-state --record`) by whichever window sees it first, so every window shows why.
import type { Disposable } from '../common/emitter';
import { isActiveState, type RunState, type RunSummary } from '../protocol/runSummary';
import { querySlurmState, readSlurmJob, type SlurmApi, type SlurmState } from './slurmLauncher';

/** How often a job's state is asked for; each ask starts the submitting Python once (squeue, sacct, scontrol). */
export const SLURM_POLL_MS = 15_000;

/** The Runs view's words for a job in Slurm's PENDING state, in place of "starting". */
export function queuedNote(jobId: string): string {
  return `queued (Slurm job ${jobId})`;
}

export interface SlurmFollowerOptions {
  api: SlurmApi;
  runs: {
    list(): readonly RunSummary[];
    onDidChange(listener: (summary: RunSummary | undefined) => void): Disposable;
    /** Reads a run's folder again after `--record` wrote an end into it. */
    reread(runDir: string): Promise<void>;
  };
  /** Where the queued label is shown (the Runs view's notes); a note another action set is left alone. */
  notes: { get(runDir: string): string | undefined; set(runDir: string, note: string | undefined): void };
  pollMs?: number;
}

export class SlurmFollower implements Disposable {
  /** The state each run had when last looked at: slurm.json is read again only when that changes. */
  private readonly seen = new Map<string, RunState>();
  private readonly following = new Map<string, Promise<SlurmState | undefined>>();
  /** One `slurm-state` at a time: a window that finds fifty Slurm runs does not start fifty Pythons at once. */
  private lane: Promise<unknown> = Promise.resolve();
  private readonly subscription: Disposable;
  private disposed = false;

  constructor(private readonly options: SlurmFollowerOptions) {
    this.subscription = options.runs.onDidChange((summary) => (summary ? this.consider(summary) : this.considerAll()));
    this.considerAll();
  }

  /** Follows the run's job until it leaves the queue; a second call while it is followed joins the first. */
  follow(runDir: string): Promise<SlurmState | undefined> {
    let following = this.following.get(runDir);
    if (!following) {
      following = this.poll(runDir).finally(() => this.following.delete(runDir));
      this.following.set(runDir, following);
    }
    return following;
  }

  isFollowing(runDir: string): boolean {
    return this.following.has(runDir);
  }

  dispose(): void {
    this.disposed = true;
    this.subscription.dispose();
  }

  private considerAll(): void {
    for (const run of this.options.runs.list()) this.consider(run);
  }

  private consider(run: RunSummary): void {
    if (this.disposed || this.seen.get(run.runDir) === run.state) return;
    this.seen.set(run.runDir, run.state);
    if (this.following.has(run.runDir)) return;
    const job = readSlurmJob(run.runDir);
    if (!job) return;
    // An active run until its job leaves the queue; an ended one once, while Slurm may know an end its trainer
    // could not write (a job killed at its time limit reads as crashed until then).
    if (isActiveState(run.state) || job.recorded !== job.jobId) void this.follow(run.runDir);
  }

  private async poll(runDir: string): Promise<SlurmState | undefined> {
    const { api, notes } = this.options;
    let label: string | undefined;
    const show = (next: string | undefined) => {
      if (next === label || this.disposed) return;
      const current = notes.get(runDir);
      if (current === undefined || current === label) notes.set(runDir, next);
      label = next;
    };
    try {
      for (;;) {
        const state = await this.serially(() => querySlurmState(api, runDir, true));
        if (state?.recorded && !this.disposed) await this.options.runs.reread(runDir);
        // Unknown to Slurm too (forgotten, no accounting to ask) or no Python to ask with: nothing more to learn.
        if (this.disposed || !state?.active) return state;
        show(state.state === 'PENDING' ? queuedNote(state.jobId) : undefined);
        await api.sleep(this.options.pollMs ?? SLURM_POLL_MS);
      }
    } finally {
      show(undefined);
    }
  }

  private serially<T>(task: () => Promise<T>): Promise<T> {
    const next = this.lane.then(task, task);
    this.lane = next.catch(() => undefined);
    return next;
  }
}
