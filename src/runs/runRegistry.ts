// Every run the window knows about, followed live: the sidebar, status bar and dashboards all read
// from here. Runs are found on disk (so they come back after a reload) or registered when spawned.
// Per run it holds a compact summary (state, step, last metrics, the few events that are not train
// steps, checkpoints); train steps are folded and dropped, and a dashboard reads them on demand
// (trainSeries.ts), so memory grows with the number of runs, not with their length.
import * as fs from 'node:fs';
import { Emitter, type Disposable } from '../common/emitter';
import type { RunEvent } from '../protocol/events';
import { isActiveState, type RunSummary } from '../protocol/runSummary';
import { listCheckpoints, type Checkpoint } from './checkpoints';
import { EventReader } from './eventReader';
import { isPidAlive } from './processes';
import { DEFAULT_STALL_MINUTES, deriveRunState, foldEvents, stalledMinutes, summarize, type EventFacts, type StatusFile } from './runStatus';
import { previewRun, previewRunAsync } from './runPreview';
import { findRunFolders, keepsEvent, lastActivity, loadRun, readStatus } from './runStore';
import type { CachedRun, RunCache } from './summaryCache';

export interface AppendedEvents {
  runDir: string;
  /** The new events other than train steps and download progress (the summary has the newest step). */
  events: RunEvent[];
  summary: RunSummary;
}

export interface RegistryOptions {
  roots(): Promise<string[]>;
  /**
   * Roots known without searching the workspace (the runs folder of each workspace folder). The first scan reads
   * these before `roots()`, whose search for config files took half a second while the window was starting.
   */
  quickRoots?(): string[];
  /** Ended runs as an earlier window read them (summaryCache.ts); written again after each scan that read files. */
  cache?: RunCache;
  eventPollMs?: number;
  statusPollMs?: number;
  now?: () => number;
  isPidAlive?: (pid: number) => boolean;
  /** A preview slower than this (ms, on average) means a slow file system: the rest are read asynchronously (tests: 0). */
  slowPreviewMs?: number;
  /** sftStudio.stallMinutes in seconds: a running run whose loop has not beaten for this long shows as stalled. */
  stallSeconds?: () => number;
}

interface Tracked {
  runDir: string;
  /** The events keepsEvent() keeps, in seq order. */
  events: RunEvent[];
  facts: EventFacts;
  status?: StatusFile;
  /** `at`: unix seconds of the spawn, to tell the new process's status.json from an older one. */
  spawned?: { alive: boolean; exitCode?: number | null; pid?: number; at?: number };
  summary: RunSummary;
  reader: EventReader;
  following: boolean;
  /** For ordering runs that have not written run_started yet. */
  discoveredAt: number;
  /** Listed on first use; dropped when a checkpoint event arrives or the roots are scanned again. */
  checkpoints?: Checkpoint[];
  /** What the next window's cache keeps of it (ended runs read to their end). */
  cacheable?: CachedRun;
}

/** Run folders loaded at once: file reads overlap while the parsing stays on the one thread. */
const LOAD_CONCURRENCY = 4;
/** How long the preview pass reads before it yields: short enough that the extension host stays responsive. */
const PREVIEW_SLICE_MS = 8;
/**
 * A preview from the page cache takes well under a millisecond, also on a busy machine; slower than this on
 * average, the files are behind a network and the previews are read asynchronously, PREVIEW_CONCURRENCY at once.
 */
const SLOW_PREVIEW_MS = 3;
/** Previews read before their speed is judged. */
const SLOW_PREVIEW_SAMPLE = 8;
const PREVIEW_CONCURRENCY = 8;

interface Preview {
  summary: RunSummary;
  discoveredAt: number;
  checkpoints?: Checkpoint[];
}

export class RunRegistry implements Disposable {
  private readonly runs = new Map<string, Tracked>();
  /**
   * Rows of ended runs from the head and tail of their files (runPreview.ts), shown while a window's first
   * scan reads the files in full; each goes when its run is loaded.
   */
  private readonly previews = new Map<string, Preview>();
  private readonly loading = new Map<string, Promise<Tracked>>();
  private readonly changeEmitter = new Emitter<RunSummary | undefined>();
  private readonly appendEmitter = new Emitter<AppendedEvents>();
  private readonly statusTimer: NodeJS.Timeout;
  private refreshing: Promise<void> = Promise.resolve();
  /** Resolved once the first scan lists every run it can without reading whole files (see listed()). */
  private readonly firstListing = deferred();
  private scanning = 0;
  private scannedOnce = false;
  /** The cache as the first scan found it; let go of once that scan has used it. */
  private cached: Map<string, CachedRun> | undefined;
  /** Runs read from their files since the cache was last written. */
  private readSinceWrite = 0;
  private cacheWrite: Promise<void> = Promise.resolve();
  private disposed = false;

  /** A run's summary changed (or, with undefined, the set of runs or the loading state did). */
  readonly onDidChange = this.changeEmitter.event;
  readonly onDidAppendEvents = this.appendEmitter.event;

  constructor(private readonly options: RegistryOptions) {
    this.statusTimer = setInterval(() => void this.pollStatuses(), options.statusPollMs ?? 2000);
    this.statusTimer.unref?.();
  }

  /** True until the first scan of the roots has finished: "no runs" is not known yet. */
  get isLoading(): boolean {
    return !this.scannedOnce || this.scanning > 0;
  }

  list(): RunSummary[] {
    const previewed = [...this.previews].flatMap(([runDir, preview]) => (this.runs.has(runDir) ? [] : [{ runDir, ...preview }]));
    return [...this.runs.values(), ...previewed]
      .sort((a, b) => (b.summary.startedAt ?? b.discoveredAt) - (a.summary.startedAt ?? a.discoveredAt) || b.runDir.localeCompare(a.runDir))
      .map((r) => r.summary);
  }

  get(runDir: string): RunSummary | undefined {
    return this.runs.get(runDir)?.summary ?? this.previews.get(runDir)?.summary;
  }

  /** The run's events other than train steps and download progress (see keepsEvent). */
  events(runDir: string): readonly RunEvent[] {
    return this.runs.get(runDir)?.events ?? [];
  }

  /** Complete checkpoints, oldest first; listed once and kept until the run writes another. */
  checkpoints(runDir: string): Checkpoint[] {
    const run = this.runs.get(runDir) ?? this.previews.get(runDir);
    if (!run) return listCheckpoints(runDir);
    return (run.checkpoints ??= listCheckpoints(runDir));
  }

  /**
   * Whether `runDir` is a run this window found under its roots or spawned, once the scan in
   * progress has finished. Paths that come from a webview (a restored panel's state, a compare
   * request) are accepted only when this says yes.
   */
  async knows(runDir: string): Promise<boolean> {
    await this.refreshing.catch(() => undefined);
    return this.runs.has(runDir);
  }

  /** Re-scans the run roots: new folders are loaded, deleted ones dropped. Calls are serialised. */
  refresh(): Promise<void> {
    this.refreshing = this.refreshing.then(
      () => this.scan(),
      () => this.scan(),
    );
    return this.refreshing;
  }

  /**
   * Resolves once the window's first scan lists every run it found that the cache or a preview can show
   * (or once that scan ended): a few hundred ms, while the files are still being read in full behind them.
   * What a first look at the Runs view waits for, instead of drawing a part of the list and then the rest.
   */
  listed(): Promise<void> {
    return this.firstListing.promise;
  }

  /** Resolves once the scans asked for so far have finished. */
  async loaded(): Promise<void> {
    await this.refreshing.catch(() => undefined);
  }

  /** Makes sure a run folder is tracked (e.g. a dashboard opened on a folder outside the roots). */
  async ensure(runDir: string): Promise<RunSummary | undefined> {
    return (await this.track(runDir)).summary;
  }

  /** A run this window just spawned: shown as starting at once, followed until it exits. */
  async trackSpawned(runDir: string, pid: number | undefined): Promise<RunSummary> {
    const run = await this.track(runDir);
    run.spawned = { alive: true, pid, at: this.now() };
    run.facts = { ...run.facts, finished: undefined };
    this.follow(run);
    this.update(run);
    return run.summary;
  }

  /** The spawned process exited: read what it wrote last, then settle its state. */
  async markExited(runDir: string, exitCode: number | null): Promise<void> {
    const run = this.runs.get(runDir);
    if (!run) return;
    run.spawned = { ...run.spawned, alive: false, exitCode };
    await run.reader.read().catch(() => undefined);
    run.status = await readStatus(runDir);
    this.update(run);
  }

  /**
   * Something other than the run's trainer wrote into its folder (`slurm-state --record`: how a job Slurm ended
   * ended): read the new events and status.json again, also for a run no longer followed.
   */
  async reread(runDir: string): Promise<void> {
    const run = this.runs.get(runDir);
    if (!run || run.summary.state === 'unreadable') return;
    await run.reader.read().catch(() => undefined);
    run.status = await readStatus(runDir);
    this.update(run);
  }

  dispose(): void {
    this.disposed = true;
    clearInterval(this.statusTimer);
    for (const run of this.runs.values()) run.reader.close();
    this.runs.clear();
    this.previews.clear();
    this.changeEmitter.dispose();
    this.appendEmitter.dispose();
  }

  private async scan(): Promise<void> {
    if (this.disposed) return;
    this.scanning++;
    try {
      // The search for configs runs while the quick roots are read.
      const roots = this.options.roots();
      roots.catch(() => undefined);
      if (!this.scannedOnce && this.options.cache) this.cached = await this.options.cache.read();
      if (!this.scannedOnce && this.options.quickRoots) await this.scanRoots(this.options.quickRoots());
      await this.scanRoots(await roots);
    } finally {
      this.cached = undefined;
      this.scanning--;
      this.scannedOnce = true;
      this.firstListing.resolve();
      // Also the end of "loading": the Runs view swaps its placeholder for the runs (or "No runs yet").
      if (!this.disposed) this.changeEmitter.fire(undefined);
    }
    // After "loaded" is announced, and one write at a time.
    this.cacheWrite = this.cacheWrite.then(() => this.writeCache());
    await this.cacheWrite;
  }

  /** Writes the ended runs for the next window, when this window read any of them from their files. */
  private async writeCache(): Promise<void> {
    if (!this.options.cache || this.readSinceWrite === 0 || this.disposed) return;
    this.readSinceWrite = 0;
    const entries = [...this.runs].flatMap(([runDir, run]): [string, CachedRun][] => (run.cacheable ? [[runDir, run.cacheable]] : []));
    await this.options.cache.write(entries).catch((error) => console.error('[sft-studio] the runs cache was not written', error));
  }

  private async scanRoots(roots: string[]): Promise<void> {
    const folders = new Set(await findRunFolders(roots));
    for (const run of this.runs.values()) run.checkpoints = undefined;
    // Unreadable runs are tried again: a fixed permission or a replaced file shows up on refresh.
    for (const [runDir, run] of this.runs) {
      if (run.summary.state === 'unreadable' && !run.spawned) {
        run.reader.close();
        this.runs.delete(runDir);
      }
    }
    const fresh = await newestFirst([...folders].filter((dir) => !this.runs.has(dir)));
    // A window's first scan lists every run before it reads any file in full: the runs the cache knows
    // (a stat each), then a row for every other ended run from its file's head and tail (a fraction of a
    // second for hundreds of runs). The files are read in full behind them.
    const fromCache = new Set(fresh.filter(({ dir }) => this.cached?.has(dir)).map(({ dir }) => dir));
    await eachConcurrently(
      fresh.filter(({ dir }) => fromCache.has(dir)),
      LOAD_CONCURRENCY,
      async ({ dir, time }) => {
        await this.track(dir, time);
        this.changeEmitter.fire(undefined);
      },
    );
    if (!this.scannedOnce) await this.preview(fresh.filter(({ dir }) => !fromCache.has(dir)));
    this.firstListing.resolve();
    // Each run is announced as soon as it is loaded, newest first, so the top of the view fills in
    // while older runs are still being read.
    await eachConcurrently(fresh, LOAD_CONCURRENCY, async ({ dir, time }) => {
      if (this.disposed || fromCache.has(dir)) return;
      const previewed = this.previews.has(dir);
      const run = await this.track(dir, time);
      this.previews.delete(dir);
      // A previewed run is already listed: its own change (the Runs view refreshes its row, not the
      // whole tree 300 times over). A new one changes the set of runs.
      this.changeEmitter.fire(previewed ? run.summary : undefined);
    });
    this.previews.clear();
    for (const [runDir, run] of this.runs) {
      if (!folders.has(runDir) && !run.spawned?.alive && !fs.existsSync(runDir)) {
        run.reader.close();
        this.runs.delete(runDir);
      }
    }
  }

  /**
   * Previews a slice of the runs at a time (runPreview.ts reads synchronously), then lets the window's other
   * work in. Where previews turn out slow (a network file system: each read waits on the network), the rest
   * are read asynchronously, several at once, so the waits overlap instead of adding up.
   */
  private async preview(folders: readonly { dir: string; time: number }[]): Promise<void> {
    const options = { now: this.options.now, isPidAlive: this.options.isPidAlive };
    const slowMs = this.options.slowPreviewMs ?? SLOW_PREVIEW_MS;
    const add = (dir: string, time: number, summary: RunSummary | undefined) => {
      if (!summary || this.runs.has(dir)) return false;
      this.previews.set(dir, { summary, discoveredAt: time });
      return true;
    };
    let next = 0;
    // Judged on the average of the first few, not on one: a busy machine may pause this thread in any one of them.
    let spentMs = 0;
    const slow = () => next >= SLOW_PREVIEW_SAMPLE && spentMs / next > slowMs;
    while (next < folders.length && !this.disposed && !slow()) {
      const sliceStart = performance.now();
      let added = false;
      while (next < folders.length && !slow() && performance.now() - sliceStart < PREVIEW_SLICE_MS) {
        const { dir, time } = folders[next++];
        const start = performance.now();
        added = add(dir, time, this.runs.has(dir) ? undefined : previewRun(dir, options)) || added;
        spentMs += performance.now() - start;
      }
      if (added) this.changeEmitter.fire(undefined);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await eachConcurrently(folders.slice(next), PREVIEW_CONCURRENCY, async ({ dir, time }) => {
      if (this.disposed || this.runs.has(dir)) return;
      if (add(dir, time, await previewRunAsync(dir, options))) this.changeEmitter.fire(undefined);
    });
  }

  private track(runDir: string, discoveredAt?: number): Promise<Tracked> {
    const known = this.runs.get(runDir);
    if (known) return Promise.resolve(known);
    let pending = this.loading.get(runDir);
    if (!pending) {
      pending = this.load(runDir, discoveredAt).finally(() => this.loading.delete(runDir));
      this.loading.set(runDir, pending);
    }
    return pending;
  }

  private async load(runDir: string, discoveredAt?: number): Promise<Tracked> {
    const time = discoveredAt ?? (await folderTime(runDir));
    let run: Tracked;
    try {
      const snapshot = await loadRun(runDir, {
        now: this.options.now,
        isPidAlive: this.options.isPidAlive,
        eventPollMs: this.options.eventPollMs,
        cached: this.cached?.get(runDir),
      });
      if (!snapshot.fromCache) this.readSinceWrite++;
      run = {
        runDir,
        events: snapshot.events,
        facts: snapshot.facts,
        status: snapshot.status,
        summary: snapshot.summary,
        reader: snapshot.reader,
        following: false,
        discoveredAt: time,
        cacheable: snapshot.cacheable,
      };
    } catch (error) {
      // One bad folder (no permission, a directory named events.jsonl, a file that cannot be read)
      // is one row saying why; the other runs load as usual.
      run = unreadableRun(runDir, error, time, this.options.eventPollMs);
    }
    if (this.disposed) {
      run.reader.close();
      return run;
    }
    this.runs.set(runDir, run);
    run.reader.onEvents((events) => this.append(run, events));
    if (isActiveState(run.summary.state)) this.follow(run);
    return run;
  }

  private follow(run: Tracked): void {
    if (run.following || this.disposed) return;
    run.following = true;
    run.reader.start();
  }

  private append(run: Tracked, events: RunEvent[]): void {
    const kept = events.filter(keepsEvent);
    run.events.push(...kept);
    run.facts = foldEvents(run.facts, events);
    if (kept.some((e) => e.type === 'checkpoint' || e.type === 'run_finished')) run.checkpoints = undefined;
    // Deltas first so a dashboard holds the events before any listener re-renders from the summary.
    const before = run.summary;
    this.update(run, false);
    this.appendEmitter.fire({ runDir: run.runDir, events: kept, summary: run.summary });
    if (!sameSummary(before, run.summary)) this.changeEmitter.fire(run.summary);
  }

  private update(run: Tracked, announce = true): void {
    if (run.summary.state === 'unreadable') return;
    const before = run.summary;
    const status = this.currentStatus(run);
    const state = deriveRunState({
      status,
      finished: run.facts.finished,
      spawned: run.spawned,
      lastActivity: run.status ? undefined : run.facts.lastTime,
      now: this.now(),
      isPidAlive: this.options.isPidAlive ?? isPidAlive,
    });
    const stalled = stalledMinutes(status, state, this.now(), this.options.stallSeconds?.() ?? DEFAULT_STALL_MINUTES * 60);
    run.summary = summarize(run.runDir, run.facts, state, status?.pid ?? run.spawned?.pid, stalled);
    if (announce && !sameSummary(before, run.summary)) this.changeEmitter.fire(run.summary);
  }

  /**
   * A resumed run's folder still holds the previous process's status.json ("stopped") until the new
   * process rewrites it; that older file says nothing about the live process.
   */
  private currentStatus(run: Tracked): StatusFile | undefined {
    const { status, spawned } = run;
    const older = spawned?.alive && spawned.at !== undefined && status?.heartbeat !== undefined && status.heartbeat < spawned.at - 1;
    return older ? undefined : status;
  }

  private async pollStatuses(): Promise<void> {
    for (const run of this.runs.values()) {
      if (!isActiveState(run.summary.state) && !run.spawned?.alive) continue;
      run.status = await readStatus(run.runDir);
      if (!run.status && !run.facts.lastTime) {
        const activity = await lastActivity(run.runDir);
        if (activity !== undefined) run.facts = { ...run.facts, lastTime: activity };
      }
      this.update(run);
      if (!isActiveState(run.summary.state) && !run.spawned?.alive) {
        // One last read so the final events (run_finished) are not left behind, then stop polling the file.
        await run.reader.read().catch(() => undefined);
        run.following = false;
        run.reader.close();
        run.reader = this.finishedReader(run);
      }
    }
  }

  /** A closed reader cannot restart; a resumed run needs a fresh one from the same position. */
  private finishedReader(run: Tracked): EventReader {
    const reader = new EventReader(run.reader.file, {
      pollMs: this.options.eventPollMs,
      offset: run.reader.offset,
      nextSeq: run.reader.nextSeq,
      lines: run.reader.lines,
      select: 'summary',
    });
    reader.onEvents((events) => this.append(run, events));
    return reader;
  }

  private now(): number {
    return (this.options.now ?? (() => Date.now() / 1000))();
  }
}

function unreadableRun(runDir: string, error: unknown, discoveredAt: number, pollMs: number | undefined): Tracked {
  const message = error instanceof Error ? error.message : String(error);
  const summary: RunSummary = {
    runDir,
    name: runDir.split(/[\\/]/).pop() ?? runDir,
    state: 'unreadable',
    error: { kind: 'unreadable', message, hint: 'Check that the folder and its events.jsonl can be read, then refresh the Runs view.' },
  };
  return { runDir, events: [], facts: {}, summary, reader: new EventReader(`${runDir}/events.jsonl`, { pollMs }), following: false, discoveredAt };
}

/** Summaries are flat apart from `error` and `download`; comparing them field by field is cheap. */
function sameSummary(a: RunSummary, b: RunSummary): boolean {
  const keys = Object.keys(a) as (keyof RunSummary)[];
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => (typeof a[k] === 'object' ? JSON.stringify(a[k]) === JSON.stringify(b[k]) : a[k] === b[k]));
}

async function folderTime(runDir: string): Promise<number> {
  try {
    const stat = await fs.promises.stat(runDir);
    return stat.birthtimeMs > 0 ? stat.birthtimeMs / 1000 : stat.mtimeMs / 1000;
  } catch {
    return Date.now() / 1000;
  }
}

async function newestFirst(dirs: readonly string[]): Promise<{ dir: string; time: number }[]> {
  const timed = await Promise.all(dirs.map(async (dir) => ({ dir, time: await folderTime(dir) })));
  return timed.sort((a, b) => b.time - a.time || b.dir.localeCompare(a.dir));
}

async function eachConcurrently<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
