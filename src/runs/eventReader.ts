// Follows a run's events.jsonl: reads only bytes appended since the last read, leaves a torn last line
// (or a split multi-byte character) on disk until its newline arrives, and delivers each seq once.
import * as fs from 'node:fs';
import { Emitter, type Disposable } from '../common/emitter';
import { isRunEvent, type RunEvent } from '../protocol/events';

export type ReaderProblem =
  | { kind: 'malformed-line'; line: string }
  | { kind: 'seq-gap'; expected: number; got: number }
  | { kind: 'duplicate'; seq: number }
  | { kind: 'truncated'; size: number; offset: number };

export interface EventReaderOptions {
  /** Use fs.watch besides polling (default true); polling alone still catches every append. */
  watch?: boolean;
  pollMs?: number;
  /** Resume from a previous reader's position: bytes already consumed and the next expected seq. */
  offset?: number;
  nextSeq?: number;
}

const NEWLINE = 0x0a;

export class EventReader implements Disposable {
  private _offset: number;
  private _nextSeq: number;
  private readonly eventsEmitter = new Emitter<RunEvent[]>();
  private readonly problemEmitter = new Emitter<ReaderProblem>();
  private chain: Promise<RunEvent[]> = Promise.resolve([]);
  private timer: NodeJS.Timeout | undefined;
  private watcher: fs.FSWatcher | undefined;
  private closed = false;

  readonly onEvents = this.eventsEmitter.event;
  readonly onProblem = this.problemEmitter.event;

  constructor(
    readonly file: string,
    private readonly options: EventReaderOptions = {},
  ) {
    this._offset = options.offset ?? 0;
    this._nextSeq = options.nextSeq ?? 0;
  }

  /** Bytes consumed: everything up to the end of the last complete line. */
  get offset(): number {
    return this._offset;
  }

  /** The seq the next new event should carry. */
  get nextSeq(): number {
    return this._nextSeq;
  }

  /** Reads what was appended since the last read. Calls are serialised, so concurrent reads never overlap. */
  read(): Promise<RunEvent[]> {
    const next = this.chain.then(
      () => this.readOnce(),
      () => this.readOnce(),
    );
    this.chain = next.catch(() => []);
    return next;
  }

  /** Follow the file: an immediate read, then on every change notification and every poll tick. */
  start(): void {
    if (this.timer || this.closed) return;
    const tick = () => {
      if (this.options.watch !== false && !this.watcher) this.tryWatch();
      void this.read().catch(() => undefined);
    };
    this.timer = setInterval(tick, this.options.pollMs ?? 1000);
    tick();
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.timer = undefined;
    this.watcher?.close();
    this.watcher = undefined;
    this.eventsEmitter.dispose();
    this.problemEmitter.dispose();
  }

  dispose(): void {
    this.close();
  }

  private tryWatch(): void {
    try {
      this.watcher = fs.watch(this.file, { persistent: false }, () => void this.read().catch(() => undefined));
      this.watcher.on('error', () => {
        // The file was removed or replaced: polling goes on and the next tick watches the new file.
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      // Not created yet (the trainer is still importing torch): the poll will try again.
    }
  }

  private async readOnce(): Promise<RunEvent[]> {
    let handle: fs.promises.FileHandle;
    try {
      handle = await fs.promises.open(this.file, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    let bytes: Buffer;
    try {
      const { size } = await handle.stat();
      if (size < this._offset) {
        // Replaced by a shorter file: read it again from the start; seqs already delivered are skipped.
        this.problemEmitter.fire({ kind: 'truncated', size, offset: this._offset });
        this._offset = 0;
      }
      const length = size - this._offset;
      if (length <= 0) return [];
      const chunk = new Uint8Array(length);
      const { bytesRead } = await handle.read(chunk, 0, length, this._offset);
      bytes = Buffer.from(chunk.buffer, 0, bytesRead);
    } finally {
      await handle.close();
    }

    const end = bytes.lastIndexOf(NEWLINE);
    if (end < 0) return [];
    this._offset += end + 1;
    const events = this.parse(bytes.subarray(0, end).toString('utf8'));
    if (events.length > 0 && !this.closed) this.eventsEmitter.fire(events);
    return events;
  }

  private parse(text: string): RunEvent[] {
    const events: RunEvent[] = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        value = undefined;
      }
      if (!isRunEvent(value)) {
        this.problemEmitter.fire({ kind: 'malformed-line', line: line.slice(0, 200) });
        continue;
      }
      if (value.seq < this._nextSeq) {
        this.problemEmitter.fire({ kind: 'duplicate', seq: value.seq });
        continue;
      }
      if (value.seq > this._nextSeq) this.problemEmitter.fire({ kind: 'seq-gap', expected: this._nextSeq, got: value.seq });
      this._nextSeq = value.seq + 1;
      events.push(value);
    }
    return events;
  }
}
