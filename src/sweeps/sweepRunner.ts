// Feeds a sweep's trials to the run queue. grid and random trials are all known when the sweep is planned and go
// in at once (the queue holds them to sftStudio.maxConcurrentRuns); a bayes sweep starts with as many trials as may
// run at once, and each trial that ends asks the trainer for the next suggestion (`sweep --next DIR --count 1`),
// which then sees that trial's result. Without vscode: the trainer call, the submission and the run states are
// injected, so the unit tests drive it with fakes.
import type { Disposable } from '../common/emitter';
import type { SweepDoc, SweepTrial } from './sweepFile';

export interface SweepRunnerDeps {
  /** `sweep --next SWEEP_DIR --count N --json`: the refreshed document, new trials appended. */
  next(sweepDir: string, count: number): Promise<SweepDoc>;
  /** Puts one trial's run in the run queue. */
  submit(doc: SweepDoc, trial: SweepTrial): void;
  /** Reports a failure to ask for the next trial (the sweep stops growing; its runs go on). */
  report(message: string): void;
}

const ENDED = new Set(['completed', 'stopped', 'failed', 'crashed']);

export function isEndedState(state: string): boolean {
  return ENDED.has(state);
}

interface Managed {
  doc: SweepDoc;
  /** Trial run folders already submitted, and those whose end was already answered. */
  submitted: Set<string>;
  answered: Set<string>;
  /** Calls to the trainer for one sweep run one after another: sweep.json has one writer at a time. */
  chain: Promise<void>;
}

export class SweepRunner implements Disposable {
  private readonly sweeps = new Map<string, Managed>();

  constructor(private readonly deps: SweepRunnerDeps) {}

  /** Submits the planned trials of a sweep the trainer just wrote; returns how many went to the queue. */
  start(doc: SweepDoc): number {
    const managed: Managed = { doc, submitted: new Set(), answered: new Set(), chain: Promise.resolve() };
    this.sweeps.set(doc.sweepDir, managed);
    return this.submitPending(managed);
  }

  /** Sweeps this window feeds. */
  managed(): string[] {
    return [...this.sweeps.keys()];
  }

  /**
   * A run changed state. When it is an ended trial of a bayes sweep this window feeds (and its end was not seen
   * yet), ask for the next trial. Resolves when that request is over (tests wait on it).
   */
  runChanged(runDir: string, state: string): Promise<void> {
    if (!isEndedState(state)) return Promise.resolve();
    for (const managed of this.sweeps.values()) {
      if (!managed.submitted.has(runDir) || managed.answered.has(runDir)) continue;
      managed.answered.add(runDir);
      if (managed.doc.method !== 'bayes') return Promise.resolve();
      managed.chain = managed.chain.then(() => this.grow(managed));
      return managed.chain;
    }
    return Promise.resolve();
  }

  dispose(): void {
    this.sweeps.clear();
  }

  private async grow(managed: Managed): Promise<void> {
    const budget = managed.doc.maxTrials ?? 0;
    if (managed.doc.trials.length >= budget) return;
    try {
      managed.doc = await this.deps.next(managed.doc.sweepDir, 1);
    } catch (error) {
      this.deps.report(`SFT Studio: sweep ${managed.doc.id}: the next trial could not be suggested: ${(error as Error).message}`);
      return;
    }
    this.submitPending(managed);
  }

  private submitPending(managed: Managed): number {
    let count = 0;
    for (const trial of managed.doc.trials) {
      if (trial.status !== 'pending' || managed.submitted.has(trial.runDir)) continue;
      managed.submitted.add(trial.runDir);
      this.deps.submit(managed.doc, trial);
      count++;
    }
    return count;
  }
}
