// A first look at an ended run without reading its whole events.jsonl: the file's head (run_started: the
// config, total steps, start time) and its tail (the last train step, the last evaluation, the ending)
// give the Runs row. A window opening on hundreds of runs shows every row from these while the files are
// read in full behind them (runRegistry.ts), which then replaces each preview with the whole summary.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isRunEvent, type RunEvent } from '../protocol/events';
import { isActiveState, type RunSummary } from '../protocol/runSummary';
import { classifyLine } from './eventLines';
import { foldEvents, type StatusFile } from './runStatus';
import { readStatus, readStatusSync, summaryFrom, type LoadOptions } from './runStore';

/** Bytes read at the start of the file: run_started (with its config) and the first steps. */
const HEAD_BYTES = 16 * 1024;
/** Bytes read at the end: a few hundred train lines, the last evaluation of most runs, the ending. */
const TAIL_BYTES = 48 * 1024;

/**
 * The Runs row of an ended run from the head and tail of its events.jsonl, or undefined when a preview
 * would not save anything (a small file is read whole as fast) or could be wrong (a live run, whose
 * facts must follow the whole file).
 *
 * Synchronous on purpose: a window's first scan previews hundreds of runs while the workbench, the
 * other extensions and their searches start on the same few cores. Each await of an fs promise is a
 * hand-off to the thread pool and back, and in that crowd the 301 runs of the bench took 0.9 s with
 * the extension host idle most of that time. The caller reads a few runs at a time between yields, and
 * turns to previewRunAsync where the files are slow to reach (a network file system).
 */
export function previewRun(runDir: string, options: PreviewOptions = {}): RunSummary | undefined {
  let fd: number | undefined;
  try {
    fd = fs.openSync(path.join(runDir, 'events.jsonl'), 'r');
    const { size, mtimeMs } = fs.fstatSync(fd);
    if (!worthPreviewing(size)) return undefined;
    const bytes = previewBuffers();
    const headRead = fs.readSync(fd, bytes.head, 0, HEAD_BYTES, 0);
    const tailRead = fs.readSync(fd, bytes.tail, 0, TAIL_BYTES, size - TAIL_BYTES);
    return previewOf(runDir, { ...bytes, headRead, tailRead, mtimeMs }, readStatusSync(runDir), options);
  } catch {
    // Anything unusual is left to the whole read, which reports it.
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** previewRun with asynchronous reads, many at once: where each read waits on a network, they overlap. */
export async function previewRunAsync(runDir: string, options: PreviewOptions = {}): Promise<RunSummary | undefined> {
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(path.join(runDir, 'events.jsonl'), 'r');
    const { size, mtimeMs } = await handle.stat();
    if (!worthPreviewing(size)) return undefined;
    const bytes = previewBuffers();
    const [head, tail, status] = await Promise.all([handle.read(bytes.head, 0, HEAD_BYTES, 0), handle.read(bytes.tail, 0, TAIL_BYTES, size - TAIL_BYTES), readStatus(runDir)]);
    return previewOf(runDir, { ...bytes, headRead: head.bytesRead, tailRead: tail.bytesRead, mtimeMs }, status, options);
  } catch {
    return undefined;
  } finally {
    await handle?.close();
  }
}

type PreviewOptions = Pick<LoadOptions, 'now' | 'isPidAlive'>;

/** What a preview reads of a run folder: the head and tail of events.jsonl (and how much of each), its mtime. */
interface PreviewBytes {
  head: Uint8Array;
  tail: Uint8Array;
  headRead: number;
  tailRead: number;
  mtimeMs: number;
}

/** A small file is read whole about as fast as its head and tail. */
function worthPreviewing(size: number): boolean {
  return size > 4 * (HEAD_BYTES + TAIL_BYTES);
}

/** Plain byte arrays (the fs typings take no Buffer for these reads), viewed as Buffers to search and decode. */
function previewBuffers(): { head: Uint8Array; tail: Uint8Array } {
  return { head: new Uint8Array(HEAD_BYTES), tail: new Uint8Array(TAIL_BYTES) };
}

function previewOf(runDir: string, bytes: PreviewBytes, status: StatusFile | undefined, options: PreviewOptions): RunSummary | undefined {
  const first = wholeLines(asBuffer(bytes.head), bytes.headRead, true);
  // Without its run_started (a config larger than the head, or a long model download first), the row
  // would lack its config and start and move once read: no preview then.
  if (!first.some((e) => e.type === 'run_started')) return undefined;
  const facts = foldEvents(foldEvents({}, first), wholeLines(asBuffer(bytes.tail), bytes.tailRead, false));
  const { state, summary } = summaryFrom(runDir, facts, status, bytes.mtimeMs / 1000, options);
  return isActiveState(state) ? undefined : summary;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The events of the complete lines in bytes[0, length): from the start when `fromStart`, else after the
 * first newline (the chunk may begin inside a line). Of the train lines only the last is parsed: the
 * facts keep the last step's values only. A line that does not parse is skipped (the whole read reports it).
 */
function wholeLines(bytes: Buffer, length: number, fromStart: boolean): RunEvent[] {
  const end = bytes.lastIndexOf(0x0a, length - 1);
  let start = fromStart ? 0 : bytes.indexOf(0x0a) + 1;
  if (end < 0 || (!fromStart && start === 0)) return [];
  const lines: { from: number; to: number; train: boolean }[] = [];
  const envelope = { seq: 0, type: '' };
  while (start < end) {
    const next = bytes.indexOf(0x0a, start);
    const to = next < 0 || next > end ? end : next;
    if (to > start) lines.push({ from: start, to, train: classifyLine(bytes, start, to, envelope)?.type === 'train' });
    start = to + 1;
  }
  let lastTrain = lines.length - 1;
  while (lastTrain >= 0 && !lines[lastTrain].train) lastTrain--;
  const events: RunEvent[] = [];
  lines.forEach(({ from, to, train }, i) => {
    if (train && i !== lastTrain) return;
    try {
      const value: unknown = JSON.parse(bytes.toString('utf8', from, to));
      if (isRunEvent(value)) events.push(value);
    } catch {
      // Torn or foreign: the whole read reports it.
    }
  });
  return events;
}
