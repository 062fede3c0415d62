// The chat panel's side of a checkpoint chat run in a worker thread (dist/insightWorker.js in `chat`
// mode): the model, its tokenizer and the sampling loop never run on the extension host's thread. The
// tokenizer is the part a workspace file can make run for ever (a regular expression in tokenizer.json
// that backtracks without end), so each prompt must be tokenized within the time limit or the worker is
// stopped, the reply fails with an error naming the tokenizer file, and the next reply starts a fresh one.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ChatMessage } from './datasetRows';
import type { ChatReply, Sampling } from './onnxChat';
import { TOKENIZER_TIMEOUT_MS, TokenizerTimeoutError } from './tokenizerLoader';
import { fromWire, type ChatEvent, type ChatJob, type ChatRequest } from './workerMessages';

export interface ChatWorkerOptions {
  /** The worker bundle (default: insightWorker.js beside this bundle, as in dist/). */
  workerScript?: string;
  /** How long tokenizing one prompt may take (default TOKENIZER_TIMEOUT_MS). */
  timeoutMs?: number;
}

interface Pending {
  resolve(reply: ChatReply): void;
  reject(error: Error): void;
  onText?: (piece: string) => void;
  /** Runs until the prompt is tokenized. */
  timer?: NodeJS.Timeout;
}

/** One worker thread and the replies it owes; once it has failed, it is done for. */
class ChatThread {
  readonly loaded: Promise<void>;
  failed = false;
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private loading: { resolve(): void; reject(error: Error): void } | undefined;

  constructor(
    private readonly checkpoint: string,
    private readonly options: ChatWorkerOptions,
  ) {
    const job: ChatJob = { mode: 'chat', checkpoint };
    this.worker = new Worker(options.workerScript ?? path.join(__dirname, 'insightWorker.js'), { workerData: job });
    this.loaded = new Promise((resolve, reject) => (this.loading = { resolve, reject }));
    // Whoever waits for the load sees its failure; a thread nobody waited on must not count as unhandled.
    this.loaded.catch(() => undefined);
    this.worker.on('message', (event: ChatEvent) => this.receive(event));
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => this.fail(new Error(`the chat worker stopped (exit code ${code})`)));
  }

  reply(messages: readonly ChatMessage[], sampling: Sampling, onText?: (piece: string) => void, signal?: AbortSignal): Promise<ChatReply> {
    const seq = ++this.seq;
    const limitMs = this.options.timeoutMs ?? TOKENIZER_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new TokenizerTimeoutError(path.join(this.checkpoint, 'tokenizer.json'), limitMs, 'while encoding the chat prompt')), limitMs);
      this.pending.set(seq, { resolve, reject, onText, timer });
      signal?.addEventListener('abort', () => this.post({ type: 'stop', seq }), { once: true });
      this.post({ type: 'reply', seq, messages: [...messages], sampling });
    });
  }

  /** Stops the worker; every reply still owed rejects with `error`. */
  fail(error: Error): void {
    if (this.failed) return;
    this.failed = true;
    void this.worker.terminate();
    this.loading?.reject(error);
    this.loading = undefined;
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.pending.clear();
  }

  private post(request: ChatRequest): void {
    if (!this.failed) this.worker.postMessage(request);
  }

  private receive(event: ChatEvent): void {
    if (event.type === 'loaded') {
      this.loading?.resolve();
      this.loading = undefined;
      return;
    }
    if (event.type === 'loadFailed') {
      this.fail(fromWire(event.error));
      return;
    }
    const pending = this.pending.get(event.seq);
    if (!pending) return;
    if (event.type === 'encoded') {
      clearTimeout(pending.timer);
      pending.timer = undefined;
    } else if (event.type === 'piece') pending.onText?.(event.piece);
    else {
      clearTimeout(pending.timer);
      this.pending.delete(event.seq);
      if (event.type === 'replied') pending.resolve(event.reply);
      else pending.reject(fromWire(event.error));
    }
  }
}

/** A checkpoint's chat model in a worker thread, started again after a failure. */
export class ChatWorker {
  private thread: ChatThread | undefined;
  private disposed = false;

  constructor(
    readonly checkpoint: string,
    private readonly options: ChatWorkerOptions = {},
  ) {}

  /** Resolves once the model is loaded; rejects with the reason it cannot be (no export, a bad tokenizer…). */
  ready(): Promise<void> {
    return this.current().loaded;
  }

  async reply(messages: readonly ChatMessage[], sampling: Sampling, onText?: (piece: string) => void, signal?: AbortSignal): Promise<ChatReply> {
    const thread = this.current();
    await thread.loaded;
    return thread.reply(messages, sampling, onText, signal);
  }

  dispose(): void {
    this.disposed = true;
    this.thread?.fail(new Error('the chat was closed'));
  }

  private current(): ChatThread {
    if (this.disposed) throw new Error('the chat was closed');
    if (!this.thread || this.thread.failed) this.thread = new ChatThread(this.checkpoint, this.options);
    return this.thread;
  }
}
