// What a window read of each ended run, kept for the next window: its facts, its kept events and where
// its events.jsonl ended. An ended run's file no longer changes, so when its size and modification time
// are as recorded, the next window takes the run from here instead of reading the file again (a
// workspace of 300 runs reads 1.1 M lines otherwise, while the window is starting). One JSON file in
// the workspace's storage folder, written whole through a temporary file; anything unexpected in it
// (another format, another extension version, a damaged file) means no cache, never an error.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isObject } from '../protocol/bridge';
import { isRunEvent, type RunEvent } from '../protocol/events';
import type { EventFacts } from './runStatus';

/** Bumped whenever EventFacts or the kept events change meaning: an older file is then ignored. */
const FORMAT = 1;

export interface CachedRun {
  /** events.jsonl's size and mtime when it was read to its end. */
  size: number;
  mtimeMs: number;
  nextSeq: number;
  lines?: number;
  facts: EventFacts;
  events: RunEvent[];
}

export interface RunCache {
  read(): Promise<Map<string, CachedRun>>;
  write(runs: Iterable<[string, CachedRun]>): Promise<void>;
}

/** The cached run for `runDir` when its events file is still exactly as it was read. */
export function freshEntry(entry: CachedRun | undefined, stat: { size: number; mtimeMs: number } | undefined): CachedRun | undefined {
  return entry && stat && entry.size === stat.size && entry.mtimeMs === stat.mtimeMs ? entry : undefined;
}

export class SummaryCacheFile implements RunCache {
  constructor(
    private readonly file: string,
    /** The extension's version: facts written by another version are not trusted. */
    private readonly version: string,
  ) {}

  async read(): Promise<Map<string, CachedRun>> {
    const runs = new Map<string, CachedRun>();
    try {
      const data: unknown = JSON.parse(await fs.promises.readFile(this.file, 'utf8'));
      if (!isObject(data) || data.format !== FORMAT || data.version !== this.version || !isObject(data.runs)) return runs;
      for (const [runDir, entry] of Object.entries(data.runs)) if (isCachedRun(entry)) runs.set(runDir, entry);
    } catch {
      // No file yet, or one that cannot be read: the runs are read from their folders.
    }
    return runs;
  }

  async write(runs: Iterable<[string, CachedRun]>): Promise<void> {
    const body = JSON.stringify({ format: FORMAT, version: this.version, runs: Object.fromEntries(runs) });
    const temporary = `${this.file}.${process.pid}.tmp`;
    await fs.promises.mkdir(path.dirname(this.file), { recursive: true });
    await fs.promises.writeFile(temporary, body);
    await fs.promises.rename(temporary, this.file);
  }
}

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 0;

function isCachedRun(value: unknown): value is CachedRun {
  return (
    isObject(value) &&
    isCount(value.size) &&
    typeof value.mtimeMs === 'number' &&
    isCount(value.nextSeq) &&
    (value.lines === undefined || isCount(value.lines)) &&
    isObject(value.facts) &&
    Array.isArray(value.events) &&
    value.events.every(isRunEvent)
  );
}
