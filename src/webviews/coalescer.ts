// Turns a stream of "something changed" into a bounded stream of flushes: the first change after a
// quiet spell is flushed at once, later ones wait for the interval, and a flush never starts while
// the previous one is still running (its message not yet taken by the webview). A run logging 200
// events a second thus costs a panel at most 1000 / intervalMs messages a second, and a slow webview
// slows the messages down instead of queueing them up.
import type { Disposable } from '../common/emitter';
import { UI_BEAT_MS, untilBeat } from '../common/throttle';

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * Four messages a second, on the beat the status bar and the Runs view share. Every visible change
 * makes the browser commit the workbench's whole layer tree (about 10 ms each in code-server without a
 * GPU): measured with a run logging 200 steps/s, ten a second kept the renderer at 73% of a core, five
 * at 51%, and every event still showed within 250 ms (median) of its write (bench/README.md, editor scale).
 */
export const PANEL_FLUSH_MS = UI_BEAT_MS;

export class Coalescer implements Disposable {
  private timer: unknown;
  private running = false;
  private pending = false;
  private disposed = false;
  private last = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly flush: () => Promise<void> | void,
    private readonly intervalMs = PANEL_FLUSH_MS,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Something changed: it goes out with the next flush. */
  mark(): void {
    this.pending = true;
    this.schedule();
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer !== undefined || this.running || !this.pending || this.disposed) return;
    const wait = untilBeat(this.clock.now(), this.last, this.intervalMs);
    this.timer = this.clock.setTimeout(() => void this.run(), wait);
  }

  private async run(): Promise<void> {
    this.timer = undefined;
    if (this.disposed) return;
    this.pending = false;
    this.running = true;
    this.last = this.clock.now();
    try {
      await this.flush();
    } catch (error) {
      // A failed flush (a file that vanished) must not stop the ones after it.
      console.error('[sft-studio] panel update failed', error);
    } finally {
      this.running = false;
      this.schedule();
    }
  }
}
