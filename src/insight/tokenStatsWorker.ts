// Token statistics counted off the extension host's thread: one worker_threads Worker per request
// (dist/insightWorker.js, which loads transformers.js itself). The host only receives progress, the
// statistics object and per-example typed arrays, so its event loop never waits on the data.
// Cancelling terminates the worker (and its helpers) at once. So does a tokenizer stuck on one row (a
// tokenizer.json regex backtracking without end): the worker threads count the rows they begin in
// shared memory, and once rows are being encoded a count that stands still for the time limit ends the
// job with an error naming the tokenizer file; the next count starts a fresh worker.
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ExamplePreview } from '../protocol/tokens';
import { TOKENIZER_TIMEOUT_MS, TokenizerTimeoutError } from './tokenizerLoader';
import type { ExampleTable, TokenStats } from './tokenStats';
import { fromWire, type CountJob, type CountReply, type CountRequest } from './workerMessages';

export interface WorkerCount {
  stats: TokenStats;
  table: ExampleTable;
}

export interface TokenStatsJobOptions {
  onProgress?: (done: number, total: number) => void;
  /** Keep the worker (rows and tokenizer) for example previews until cancel(). */
  keep?: boolean;
  /** Threads that encode (default: the machine's parallelism, at most 8). */
  threads?: number;
  /** The worker bundle (default: insightWorker.js beside this bundle, as in dist/). */
  workerScript?: string;
  /** How long one row may take to encode, in a count or a preview (default TOKENIZER_TIMEOUT_MS). */
  timeoutMs?: number;
}

/** The count was cancelled, or a newer request for the same config replaced it. */
export class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

export function defaultThreads(): number {
  return Math.max(1, Math.min(8, os.availableParallelism()));
}

export class TokenStatsJob {
  readonly result: Promise<WorkerCount>;
  /** Resolves once the worker thread has ended: after counting (unless kept), cancel() or a failure. */
  readonly exited: Promise<void>;
  private readonly worker: Worker;
  private settle: { resolve: (count: WorkerCount) => void; reject: (error: Error) => void } | undefined;
  private readonly examples = new Map<number, { resolve: (preview: ExamplePreview) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  private seq = 0;
  private ended = false;
  /** Known once the worker starts encoding. */
  private tokenizerFile: string | undefined;
  /** Rows begun, counted by the worker threads. */
  private readonly beat = new Int32Array(new SharedArrayBuffer(4));
  private watchdog: NodeJS.Timeout | undefined;

  constructor(
    readonly configPath: string,
    private readonly options: TokenStatsJobOptions = {},
  ) {
    const job: CountJob = { mode: 'count', configPath, threads: options.threads ?? defaultThreads(), keep: options.keep ?? false, beat: this.beat };
    this.worker = new Worker(options.workerScript ?? path.join(__dirname, 'insightWorker.js'), { workerData: job });
    this.result = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.on('message', (message: CountReply) => this.receive(message));
    this.worker.on('error', (error) => this.end(error));
    this.worker.on('exit', (code) => this.end(new Error(`the token statistics worker stopped (exit code ${code})`)));
  }

  /** The label-mask preview of training example `index` (0-based), encoded by the kept worker. */
  example(index: number): Promise<ExamplePreview> {
    if (this.ended || !this.options.keep) return Promise.reject(new Error('the token statistics are no longer loaded; count again'));
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.timedOut(`while encoding training example ${index + 1} of ${path.basename(this.configPath)} for the label-mask preview`), this.timeoutMs);
      this.examples.set(seq, { resolve, reject, timer });
      const request: CountRequest = { type: 'example', seq, index };
      this.worker.postMessage(request);
    });
  }

  /** Stops the worker; a pending result rejects with CancelledError. */
  cancel(): void {
    this.end(new CancelledError());
  }

  private get timeoutMs(): number {
    return this.options.timeoutMs ?? TOKENIZER_TIMEOUT_MS;
  }

  /** Checks the row count a few times per time limit; one that stood still for the whole limit is a stuck row. */
  private watch(): void {
    let seen = Atomics.load(this.beat, 0);
    let since = performance.now();
    this.watchdog = setInterval(
      () => {
        const now = Atomics.load(this.beat, 0);
        if (now !== seen) [seen, since] = [now, performance.now()];
        else if (performance.now() - since >= this.timeoutMs) this.timedOut(`while encoding one of the training rows of ${path.basename(this.configPath)}`);
      },
      Math.max(10, this.timeoutMs / 20),
    );
  }

  private timedOut(doing: string): void {
    this.end(new TokenizerTimeoutError(this.tokenizerFile ?? 'tokenizer.json', this.timeoutMs, doing));
  }

  private receive(message: CountReply): void {
    if (message.type === 'encoding') {
      this.tokenizerFile = message.tokenizerFile;
      this.watch();
    } else if (message.type === 'progress') this.options.onProgress?.(message.done, message.total);
    else if (message.type === 'done') {
      clearInterval(this.watchdog);
      this.settle?.resolve({ stats: message.stats, table: message.table });
      this.settle = undefined;
      if (!this.options.keep) this.end(new Error('finished'));
    } else if (message.type === 'failed') this.end(fromWire(message.error));
    else {
      const pending = this.examples.get(message.seq);
      this.examples.delete(message.seq);
      clearTimeout(pending?.timer);
      if (message.preview) pending?.resolve(message.preview);
      else pending?.reject(message.error ? fromWire(message.error) : new Error('no preview'));
    }
  }

  private end(error: Error): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.watchdog);
    void this.worker.terminate();
    this.settle?.reject(error);
    this.settle = undefined;
    for (const pending of this.examples.values()) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.examples.clear();
  }
}

/** The statistics of a config counted in a worker; aborting the signal terminates it (TokenStatsCache's computer). */
export async function countStatsInWorker(configPath: string, signal: AbortSignal, options: TokenStatsJobOptions = {}): Promise<TokenStats> {
  const job = new TokenStatsJob(configPath, options);
  signal.addEventListener('abort', () => job.cancel(), { once: true });
  return (await job.result).stats;
}
