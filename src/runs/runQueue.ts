// Caps how many runs train at once: a start beyond the cap waits here, in order, and begins when a
// running one ends. Slots are counted from the registry's active runs plus starts still in flight
// whose run folder the registry does not know yet, so a starting run is never counted twice.
import { Emitter, type Disposable } from '../common/emitter';

export interface QueuedRun {
  id: number;
  /** What the queue entry is shown as, e.g. the config file name or "resume demo-…". */
  label: string;
  /** The config the run belongs to (for grouping in the Runs view). */
  configPath?: string;
  queuedAt: number;
}

/** Starts a run; calls `claim(runDir)` once its folder exists, resolves when the start is over. */
export type StartFn<T = unknown> = (claim: (runDir: string) => void) => Promise<T>;

export type Submitted<T> = { queued: QueuedRun; started?: undefined } | { queued?: undefined; started: Promise<T> };

export interface RunQueueOptions {
  maxConcurrent(): number;
  activeRunDirs(): readonly string[];
  now?: () => number;
}

interface Waiting extends QueuedRun {
  start: StartFn;
}

export class RunQueue implements Disposable {
  private readonly waiting: Waiting[] = [];
  private readonly inFlight = new Map<number, { runDir?: string }>();
  private readonly changeEmitter = new Emitter<void>();
  private nextId = 1;

  readonly onDidChange = this.changeEmitter.event;

  constructor(private readonly options: RunQueueOptions) {}

  list(): QueuedRun[] {
    return this.waiting.map(({ start: _start, ...run }) => run);
  }

  /** Slots in use: active runs plus starts whose folder is not yet among them. */
  used(): number {
    const active = new Set(this.options.activeRunDirs());
    let used = active.size;
    for (const start of this.inFlight.values()) if (!start.runDir || !active.has(start.runDir)) used++;
    return used;
  }

  /** Whether a start now would have to wait. */
  isFull(): boolean {
    return this.waiting.length > 0 || this.used() >= this.limit();
  }

  limit(): number {
    const max = Math.floor(this.options.maxConcurrent());
    return Number.isFinite(max) && max >= 1 ? max : 1;
  }

  /** Starts at once when a slot is free, else queues the start and returns its entry. */
  submit<T>(run: { label: string; configPath?: string }, start: StartFn<T>): Submitted<T> {
    const entry: Waiting = { ...run, id: this.nextId++, queuedAt: (this.options.now ?? Date.now)(), start };
    if (!this.isFull()) return { started: this.begin(entry, start) };
    this.waiting.push(entry);
    this.changeEmitter.fire();
    return { queued: this.list().at(-1) as QueuedRun };
  }

  cancel(id: number): boolean {
    const index = this.waiting.findIndex((w) => w.id === id);
    if (index < 0) return false;
    this.waiting.splice(index, 1);
    this.changeEmitter.fire();
    return true;
  }

  /** Starts queued runs while slots are free; call it whenever a run may have ended. */
  pump(): void {
    let started = false;
    while (this.waiting.length > 0 && this.used() < this.limit()) {
      const entry = this.waiting.shift() as Waiting;
      void this.begin(entry, entry.start).catch((error) => console.error('[sft-studio] queued start failed', error));
      started = true;
    }
    if (started) this.changeEmitter.fire();
  }

  dispose(): void {
    this.waiting.length = 0;
    this.changeEmitter.dispose();
  }

  private begin<T>(entry: QueuedRun, start: StartFn<T>): Promise<T> {
    const slot: { runDir?: string } = {};
    this.inFlight.set(entry.id, slot);
    const started = Promise.resolve().then(() => start((runDir) => (slot.runDir = runDir)));
    // The slot is released only when the start is over; the run itself is then counted as active.
    void started.then(
      () => this.release(entry.id),
      () => this.release(entry.id),
    );
    return started;
  }

  private release(id: number): void {
    this.inFlight.delete(id);
    this.pump();
  }
}
