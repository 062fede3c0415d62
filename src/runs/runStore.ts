// Where runs live on disk and how one run folder is read (see "Where runs live" in HOUSE.md).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseConfigText } from '../config/parseConfig';
import { defaultOutputDir } from '../config/runConfigSchema';
import { isObject } from '../protocol/bridge';
import type { RunEvent } from '../protocol/events';
import { isActiveState, type RunState, type RunSummary } from '../protocol/runSummary';
import { EventReader } from './eventReader';
import { isPidAlive } from './processes';
import { deriveRunState, foldEvents, summarize, type EventFacts, type StatusFile } from './runStatus';
import { freshEntry, type CachedRun } from './summaryCache';

export interface RootsInput {
  configPaths: readonly string[];
  workspaceFolders: readonly string[];
  /** The sftStudio.runsDirectory setting, relative to each workspace folder. */
  runsDirectory: string;
  /** Reads a config; the file on disk by default (tests pass texts). */
  readText?(file: string): Promise<string | undefined>;
}

/** Each config's output_dir (relative to the config's folder) and the runs directory of every folder. */
export async function runRoots(input: RootsInput): Promise<string[]> {
  const roots: string[] = [];
  for (const configPath of input.configPaths) {
    let outputDir = defaultOutputDir;
    try {
      const text = input.readText ? await input.readText(configPath) : await fs.promises.readFile(configPath, 'utf8');
      const value = text === undefined ? undefined : parseConfigText(text).value;
      const declared = (value as { output_dir?: unknown } | undefined)?.output_dir;
      if (typeof declared === 'string' && declared.trim()) outputDir = declared;
    } catch {
      // An unreadable or broken config still has the default runs folder.
    }
    roots.push(path.resolve(path.dirname(configPath), outputDir));
  }
  roots.push(...workspaceRunRoots(input.workspaceFolders, input.runsDirectory));
  return [...new Set(roots)];
}

/** The runs folder (setting sftStudio.runsDirectory) of each workspace folder: roots known without a search. */
export function workspaceRunRoots(workspaceFolders: readonly string[], runsDirectory: string): string[] {
  return [...new Set(workspaceFolders.map((folder) => path.resolve(folder, runsDirectory)))];
}

/**
 * Run folders are the children of a root holding status.json or events.jsonl, and the trial folders of a sweep
 * (a child holding sweep.json: `<output_dir>/<name>-sweep-<UTC>/trial-<k>`); sorted, unique.
 */
export async function findRunFolders(roots: readonly string[]): Promise<string[]> {
  const found = new Set<string>();
  const sweeps: string[] = [];
  for (const root of roots) {
    const entries = await fs.promises.readdir(root, { withFileTypes: true }).catch(() => [] as fs.Dirent[]);
    for (const e of entries) if (e.isDirectory() && fs.existsSync(path.join(root, e.name, 'sweep.json'))) sweeps.push(path.join(root, e.name));
  }
  for (const root of [...roots, ...sweeps]) {
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(root, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      const dir = path.join(root, entry.name);
      if (fs.existsSync(path.join(dir, 'status.json')) || fs.existsSync(path.join(dir, 'events.jsonl'))) found.add(dir);
    }
  }
  return [...found].sort();
}

export async function readStatus(runDir: string): Promise<StatusFile | undefined> {
  const text = await fs.promises.readFile(path.join(runDir, 'status.json'), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : statusFromText(text);
}

/** readStatus without a trip through the thread pool (runPreview.ts reads hundreds of runs in a row). */
export function readStatusSync(runDir: string): StatusFile | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(runDir, 'status.json'), 'utf8');
  } catch {
    return undefined;
  }
  return statusFromText(text);
}

function statusFromText(text: string): StatusFile | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isObject(value) ? (value as StatusFile) : undefined;
  } catch {
    // Caught between the trainer's write and rename on a filesystem without atomic rename.
    return undefined;
  }
}

export async function lastActivity(runDir: string): Promise<number | undefined> {
  try {
    return (await fs.promises.stat(path.join(runDir, 'events.jsonl'))).mtimeMs / 1000;
  } catch {
    return undefined;
  }
}

export interface LoadOptions {
  now?: () => number;
  isPidAlive?: (pid: number) => boolean;
  eventPollMs?: number;
  watch?: boolean;
  /** What an earlier window read of this run (summaryCache.ts): used when the file is still as it was. */
  cached?: CachedRun;
}

export interface RunSnapshot {
  /** The events a window keeps for a run (see keepsEvent); train steps are read on demand (trainSeries). */
  events: RunEvent[];
  facts: EventFacts;
  status?: StatusFile;
  summary: RunSummary;
  /** Positioned after the events read; start() it to follow the run. */
  reader: EventReader;
  /** For the next window's cache: an ended run read to the end of its file. */
  cacheable?: CachedRun;
  /** Whether it came from the cache instead of the file. */
  fromCache: boolean;
}

/**
 * Train steps (one per optimizer step: 200,000 in a long run) and download progress are folded into
 * the facts and dropped; everything else (starts, evaluations, generations, checkpoints, logs,
 * errors, endings) is few and is what the panels and commands look up.
 */
export function keepsEvent(event: RunEvent): boolean {
  return event.type !== 'train' && event.type !== 'download';
}

/** Reads a run folder's facts without holding its train steps: the file is read in chunks and folded. */
export async function loadRun(runDir: string, options: LoadOptions = {}): Promise<RunSnapshot> {
  const file = path.join(runDir, 'events.jsonl');
  const before = options.cached ? await fs.promises.stat(file).catch(() => undefined) : undefined;
  const cached = freshEntry(options.cached, before);
  const reader = new EventReader(file, {
    pollMs: options.eventPollMs,
    watch: options.watch,
    select: 'summary',
    ...(cached ? { offset: cached.size, nextSeq: cached.nextSeq, lines: cached.lines } : {}),
  });
  let facts: EventFacts = cached?.facts ?? {};
  const events: RunEvent[] = cached ? [...cached.events] : [];
  if (!cached) {
    const subscription = reader.onEvents((chunk) => {
      facts = foldEvents(facts, chunk);
      for (const e of chunk) if (keepsEvent(e)) events.push(e);
    });
    try {
      await reader.catchUp();
    } catch (error) {
      reader.close();
      throw error;
    } finally {
      subscription.dispose();
    }
  }
  const { status, state, summary } = await summaryOf(runDir, facts, options);
  return { events, facts, status, summary, reader, fromCache: cached !== undefined, cacheable: cached ?? (await cacheEntry(file, reader, facts, events, state)) };
}

/** The run's state and summary from its facts and its status.json (the same rule for a whole read and a preview). */
async function summaryOf(runDir: string, facts: EventFacts, options: Pick<LoadOptions, 'now' | 'isPidAlive'> = {}) {
  const status = await readStatus(runDir);
  return summaryFrom(runDir, facts, status, status ? undefined : await lastActivity(runDir), options);
}

/** summaryOf for a caller that has read status.json (and, without one, the events file's mtime) itself. */
export function summaryFrom(runDir: string, facts: EventFacts, status: StatusFile | undefined, activity: number | undefined, options: Pick<LoadOptions, 'now' | 'isPidAlive'> = {}) {
  const state = deriveRunState({
    status,
    finished: facts.finished,
    lastActivity: status ? undefined : activity,
    now: (options.now ?? (() => Date.now() / 1000))(),
    isPidAlive: options.isPidAlive ?? isPidAlive,
  });
  return { status, state, summary: summarize(runDir, facts, state, status?.pid) };
}

/** An ended run read exactly to the end of its file, as the cache keeps it; undefined for anything else. */
async function cacheEntry(file: string, reader: EventReader, facts: EventFacts, events: RunEvent[], state: RunState): Promise<CachedRun | undefined> {
  if (isActiveState(state) || state === 'crashed') return undefined;
  const stat = await fs.promises.stat(file).catch(() => undefined);
  if (!stat || stat.size !== reader.offset) return undefined;
  return { size: stat.size, mtimeMs: stat.mtimeMs, nextSeq: reader.nextSeq, lines: reader.lines, facts, events };
}
