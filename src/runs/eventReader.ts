// Follows a run's events.jsonl: reads only bytes appended since the last read, in bounded chunks (a
// 200k-event file is never held whole), leaves a torn last line (or a split multi-byte character)
// on disk until its newline arrives, and delivers each seq once. What it parses is chosen per
// reader: the registry needs the facts of a run, a dashboard needs its train steps, and neither
// needs the other's lines parsed.
import * as fs from 'node:fs';
import { Emitter, type Disposable } from '../common/emitter';
import { isRunEvent, type RunEvent } from '../protocol/events';
import { classifyLine, type LineEnvelope } from './eventLines';

export type ReaderProblem =
  /** `lineNumber`: the line's number in the file (1-based), absent when the reader resumed at an offset without it. */
  | { kind: 'malformed-line'; line: string; lineNumber?: number }
  | { kind: 'seq-gap'; expected: number; got: number }
  | { kind: 'duplicate'; seq: number }
  | { kind: 'truncated'; size: number; offset: number };

/**
 * - `all`: every event.
 * - `summary`: every event except train steps inside a burst: of each run of consecutive train
 *   lines only the first and the last are parsed and delivered (enough to fold a run's facts: the
 *   first step after a (re)start for the ETA, the newest step and loss).
 * - `train`: train events only.
 * Lines that are skipped unparsed still count for seq order, so duplicates are dropped the same way.
 */
export type LineSelection = 'all' | 'summary' | 'train';

export interface EventReaderOptions {
  /** Use fs.watch besides polling (default true); polling alone still catches every append. */
  watch?: boolean;
  pollMs?: number;
  /** Resume from a previous reader's position: bytes already consumed and the next expected seq. */
  offset?: number;
  nextSeq?: number;
  /** Lines before `offset` (with it, malformed lines are reported with their line number). */
  lines?: number;
  select?: LineSelection;
}

const NEWLINE = 0x0a;
/** Bytes read at once: a big file is parsed a chunk at a time, with the event loop free in between. */
const CHUNK_BYTES = 1 << 20;
/** A line longer than this is skipped as malformed rather than buffered (no event is near this size). */
const MAX_LINE_BYTES = 64 << 20;
/** File change notifications arrive per write; one read per this many ms serves a burst of them. */
const WATCH_COALESCE_MS = 20;

/**
 * Read buffers are reused: loading 300 runs would otherwise allocate a fresh megabyte per file and
 * leave the process's memory high long after (freed buffers are returned to the system lazily).
 */
const spareChunks: Uint8Array[] = [];
const takeChunk = (): Uint8Array => spareChunks.pop() ?? new Uint8Array(CHUNK_BYTES);
/** EventReader.parse's list of train lines; it grows to the longest burst of a chunk and is reused. */
const burstScratch: number[] = [];

export class EventReader implements Disposable {
  private _offset: number;
  private _nextSeq: number;
  /** Complete lines consumed so far, when known (always from offset 0). */
  private _lines: number | undefined;
  private readonly eventsEmitter = new Emitter<RunEvent[]>();
  private readonly problemEmitter = new Emitter<ReaderProblem>();
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
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
    this._lines = options.offset ? options.lines : 0;
  }

  /** Complete lines consumed (the `lines` a reader resuming at `offset` takes), when known. */
  get lines(): number | undefined {
    return this._lines;
  }

  /** Bytes consumed: everything up to the end of the last complete line. */
  get offset(): number {
    return this._offset;
  }

  /** The seq the next new event should carry. */
  get nextSeq(): number {
    return this._nextSeq;
  }

  get selection(): LineSelection {
    return this.options.select ?? 'all';
  }

  /** Reads what was appended since the last read and returns it. Calls are serialised, so reads never overlap. */
  async read(): Promise<RunEvent[]> {
    return (await this.enqueue(() => this.readOnce(true))).events;
  }

  /**
   * Reads what was appended, delivering it only through onEvents, chunk by chunk: nothing is
   * collected, so a first read of a long run holds one chunk's events at a time. With a budget it
   * stops after the chunk that used it up; resolves to whether it reached the end of the file.
   */
  async catchUp(budgetMs?: number): Promise<boolean> {
    return (await this.enqueue(() => this.readOnce(false, budgetMs))).done;
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
    clearTimeout(this.watchTimer);
    this.timer = undefined;
    this.watcher?.close();
    this.watcher = undefined;
    this.eventsEmitter.dispose();
    this.problemEmitter.dispose();
  }

  dispose(): void {
    this.close();
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const next = this.chain.then(work, work);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private tryWatch(): void {
    try {
      this.watcher = fs.watch(this.file, { persistent: false }, () => this.readSoon());
      this.watcher.on('error', () => {
        // The file was removed or replaced: polling goes on and the next tick watches the new file.
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      // Not created yet (the trainer is still importing torch): the poll will try again.
    }
  }

  private readSoon(): void {
    if (this.watchTimer || this.closed) return;
    this.watchTimer = setTimeout(() => {
      this.watchTimer = undefined;
      void this.read().catch(() => undefined);
    }, WATCH_COALESCE_MS);
  }

  private async readOnce(collect: boolean, budgetMs?: number): Promise<{ events: RunEvent[]; done: boolean }> {
    const deadline = budgetMs === undefined ? Number.POSITIVE_INFINITY : performance.now() + budgetMs;
    let handle: fs.promises.FileHandle;
    try {
      handle = await fs.promises.open(this.file, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { events: [], done: true };
      throw error;
    }
    const collected: RunEvent[] = [];
    let done = true;
    // Held for the whole read: a buffer is parsed after the await that filled it.
    const chunk = takeChunk();
    try {
      const { size } = await handle.stat();
      if (size < this._offset) {
        // Replaced by a shorter file: read it again from the start; seqs already delivered are skipped.
        this.problemEmitter.fire({ kind: 'truncated', size, offset: this._offset });
        this._offset = 0;
        this._lines = 0;
      }
      // Up to the size seen now: a file that grows while it is read is finished by the next read.
      while (this._offset < size && !this.closed) {
        if (performance.now() > deadline) {
          done = false;
          break;
        }
        const lines = await this.nextLines(handle, size, chunk);
        if (lines === undefined) break;
        const events = this.parse(lines);
        if (events.length === 0) continue;
        if (collect) collected.push(...events);
        this.eventsEmitter.fire(events);
      }
    } finally {
      spareChunks.push(chunk);
      await handle.close();
    }
    return { events: collected, done };
  }

  /** The bytes of the next chunk's complete lines (consumed), or undefined when only a torn line is left. */
  private async nextLines(handle: fs.promises.FileHandle, size: number, chunk: Uint8Array): Promise<Buffer | undefined> {
    for (let window = CHUNK_BYTES; ; window *= 4) {
      const length = Math.min(window, size - this._offset);
      const into = window === CHUNK_BYTES ? chunk : new Uint8Array(length);
      const { bytesRead } = await handle.read(into, 0, length, this._offset);
      const bytes = Buffer.from(into.buffer, into.byteOffset, bytesRead);
      const end = bytes.lastIndexOf(NEWLINE);
      if (end >= 0) {
        this._offset += end + 1;
        return bytes.subarray(0, end);
      }
      if (bytesRead < window) return undefined; // the last line is still being written
      if (window >= MAX_LINE_BYTES) return this.skipLongLine(handle, size, bytes.toString('utf8', 0, 200), bytesRead);
    }
  }

  private async skipLongLine(handle: fs.promises.FileHandle, size: number, start: string, skipped: number): Promise<Buffer | undefined> {
    const chunk = new Uint8Array(CHUNK_BYTES);
    for (let at = this._offset + skipped; at < size; at += CHUNK_BYTES) {
      const { bytesRead } = await handle.read(chunk, 0, Math.min(CHUNK_BYTES, size - at), at);
      const end = Buffer.from(chunk.buffer, 0, bytesRead).indexOf(NEWLINE);
      if (end >= 0) {
        this._offset = at + end + 1;
        const lineNumber = this.countLine();
        this.problemEmitter.fire({ kind: 'malformed-line', line: `${start}… (longer than ${MAX_LINE_BYTES >> 20} MiB)`, ...(lineNumber && { lineNumber }) });
        return Buffer.alloc(0);
      }
    }
    return undefined;
  }

  /**
   * The events of complete lines. With a selection, lines are told apart on their bytes
   * (eventLines.ts) and only the lines needed are decoded and parsed: most of a long run's file is
   * train steps a summary does not need.
   */
  private parse(bytes: Buffer): RunEvent[] {
    const select = this.selection;
    const events: RunEvent[] = [];
    const known: LineEnvelope = { seq: 0, type: '' };
    // Summary: the train lines since the last other line, not parsed yet, as [start, end, line number] of
    // `bytes`, in one array for all readers (parse runs start to end without a pause): garbage per line
    // (900k lines for 300 runs) made V8 grow its young generation by 20 MiB of the extension host's memory.
    const burst = burstScratch;
    let burstLength = 0;
    const endBurst = () => {
      if (burstLength > 0) events.push(...this.burstEnds(bytes, burst, burstLength / 3));
      burstLength = 0;
    };
    const addToBurst = (from: number, end: number, lineNumber: number) => {
      burst[burstLength++] = from;
      burst[burstLength++] = end;
      burst[burstLength++] = lineNumber;
    };
    for (let start = 0; start < bytes.length; ) {
      let end = bytes.indexOf(NEWLINE, start);
      if (end < 0) end = bytes.length;
      const from = start;
      start = end + 1;
      const lineNumber = this.countLine() ?? 0;
      const classified = select !== 'all' && classifyLine(bytes, from, end, known) !== undefined;
      if (classified) {
        if (!this.acceptSeq(known.seq)) continue;
        if (known.type === 'train' ? select === 'summary' : select === 'train') {
          if (known.type === 'train') addToBurst(from, end, lineNumber);
          continue;
        }
      }
      const text = bytes.toString('utf8', from, end);
      if (!text.trim()) continue;
      const value = this.parseLine(text, lineNumber);
      if (!value) continue;
      if (!classified && !this.acceptSeq(value.seq)) continue;
      if (select === 'train' && value.type !== 'train') continue;
      if (select === 'summary' && value.type === 'train') {
        addToBurst(from, end, lineNumber);
        continue;
      }
      endBurst();
      events.push(value);
    }
    endBurst();
    return events;
  }

  /** The first and the last train event of a burst that parse (the rest of the burst is not needed). */
  private burstEnds(bytes: Buffer, ranges: readonly number[], count: number): RunEvent[] {
    const lineAt = (k: number) => this.parseLine(bytes.toString('utf8', ranges[3 * k], ranges[3 * k + 1]), ranges[3 * k + 2]);
    let first = -1;
    let firstEvent: RunEvent | undefined;
    for (let k = 0; k < count && !firstEvent; k++) {
      firstEvent = lineAt(k);
      first = k;
    }
    if (!firstEvent) return [];
    for (let k = count - 1; k > first; k--) {
      const last = lineAt(k);
      if (last) return [firstEvent, last];
    }
    return [firstEvent];
  }

  /** Counts one consumed line; its number when the count is known. */
  private countLine(): number | undefined {
    if (this._lines === undefined) return undefined;
    this._lines += 1;
    return this._lines;
  }

  /** `lineNumber` 0: not known. */
  private parseLine(line: string, lineNumber: number): RunEvent | undefined {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      value = undefined;
    }
    if (isRunEvent(value)) return value;
    this.problemEmitter.fire({ kind: 'malformed-line', line: line.slice(0, 200), ...(lineNumber > 0 && { lineNumber }) });
    return undefined;
  }

  /** Seq order: an event already delivered is a duplicate; a jump is reported and accepted. */
  private acceptSeq(seq: number): boolean {
    if (seq < this._nextSeq) {
      this.problemEmitter.fire({ kind: 'duplicate', seq });
      return false;
    }
    if (seq > this._nextSeq) this.problemEmitter.fire({ kind: 'seq-gap', expected: this._nextSeq, got: seq });
    this._nextSeq = seq + 1;
    return true;
  }
}
