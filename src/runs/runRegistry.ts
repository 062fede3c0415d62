// Every run the window knows about, followed live: the sidebar, status bar and dashboards all read
// from here. Runs are found on disk (so they come back after a reload) or registered when spawned.
import * as fs from 'node:fs';
import { Emitter, type Disposable } from '../common/emitter';
import type { RunEvent } from '../protocol/events';
import { isActiveState, type RunSummary } from '../protocol/runSummary';
import { EventReader } from './eventReader';
import { isPidAlive } from './processes';
import { deriveRunState, foldEvents, summarize, type EventFacts, type StatusFile } from './runStatus';
import { findRunFolders, lastActivity, loadRun, readStatus } from './runStore';

export interface AppendedEvents {
  runDir: string;
  events: RunEvent[];
  summary: RunSummary;
}

export interface RegistryOptions {
  roots(): Promise<string[]>;
  eventPollMs?: number;
  statusPollMs?: number;
  now?: () => number;
  isPidAlive?: (pid: number) => boolean;
}

interface Tracked {
  runDir: string;
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
}

export class RunRegistry implements Disposable {
  private readonly runs = new Map<string, Tracked>();
  private readonly loading = new Map<string, Promise<Tracked>>();
  private readonly changeEmitter = new Emitter<RunSummary | undefined>();
  private readonly appendEmitter = new Emitter<AppendedEvents>();
  private readonly statusTimer: NodeJS.Timeout;
  private refreshing: Promise<void> = Promise.resolve();
  private disposed = false;

  /** A run's summary changed (or, with undefined, the set of runs did). */
  readonly onDidChange = this.changeEmitter.event;
  readonly onDidAppendEvents = this.appendEmitter.event;

  constructor(private readonly options: RegistryOptions) {
    this.statusTimer = setInterval(() => void this.pollStatuses(), options.statusPollMs ?? 2000);
    this.statusTimer.unref?.();
  }

  list(): RunSummary[] {
    return [...this.runs.values()]
      .sort((a, b) => (b.summary.startedAt ?? b.discoveredAt) - (a.summary.startedAt ?? a.discoveredAt) || b.runDir.localeCompare(a.runDir))
      .map((r) => r.summary);
  }

  get(runDir: string): RunSummary | undefined {
    return this.runs.get(runDir)?.summary;
  }

  events(runDir: string): readonly RunEvent[] {
    return this.runs.get(runDir)?.events ?? [];
  }

  /** Re-scans the run roots: new folders are loaded, deleted ones dropped. Calls are serialised. */
  refresh(): Promise<void> {
    this.refreshing = this.refreshing.then(
      () => this.scan(),
      () => this.scan(),
    );
    return this.refreshing;
  }

  /** Makes sure a run folder is tracked (e.g. a dashboard restored for a run outside the roots). */
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

  dispose(): void {
    this.disposed = true;
    clearInterval(this.statusTimer);
    for (const run of this.runs.values()) run.reader.close();
    this.runs.clear();
    this.changeEmitter.dispose();
    this.appendEmitter.dispose();
  }

  private async scan(): Promise<void> {
    if (this.disposed) return;
    const folders = new Set(await findRunFolders(await this.options.roots()));
    let changed = false;
    for (const runDir of folders) {
      if (!this.runs.has(runDir)) {
        await this.track(runDir);
        changed = true;
      }
    }
    for (const [runDir, run] of this.runs) {
      if (!folders.has(runDir) && !run.spawned?.alive && !fs.existsSync(runDir)) {
        run.reader.close();
        this.runs.delete(runDir);
        changed = true;
      }
    }
    if (changed) this.changeEmitter.fire(undefined);
  }

  private track(runDir: string): Promise<Tracked> {
    const known = this.runs.get(runDir);
    if (known) return Promise.resolve(known);
    let pending = this.loading.get(runDir);
    if (!pending) {
      pending = this.load(runDir).finally(() => this.loading.delete(runDir));
      this.loading.set(runDir, pending);
    }
    return pending;
  }

  private async load(runDir: string): Promise<Tracked> {
    const snapshot = await loadRun(runDir, { now: this.options.now, isPidAlive: this.options.isPidAlive, eventPollMs: this.options.eventPollMs });
    const run: Tracked = {
      runDir,
      events: snapshot.events,
      facts: snapshot.facts,
      status: snapshot.status,
      summary: snapshot.summary,
      reader: snapshot.reader,
      following: false,
      discoveredAt: await folderTime(runDir),
    };
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
    run.events.push(...events);
    run.facts = foldEvents(run.facts, events);
    // Deltas first so a dashboard holds the events before any listener re-renders from the summary.
    const before = run.summary;
    this.update(run, false);
    this.appendEmitter.fire({ runDir: run.runDir, events, summary: run.summary });
    if (JSON.stringify(before) !== JSON.stringify(run.summary)) this.changeEmitter.fire(run.summary);
  }

  private update(run: Tracked, announce = true): void {
    const before = JSON.stringify(run.summary);
    const status = this.currentStatus(run);
    const state = deriveRunState({
      status,
      finished: run.facts.finished,
      spawned: run.spawned,
      lastActivity: run.status ? undefined : run.facts.lastTime,
      now: this.now(),
      isPidAlive: this.options.isPidAlive ?? isPidAlive,
    });
    run.summary = summarize(run.runDir, run.facts, state, status?.pid ?? run.spawned?.pid);
    if (announce && JSON.stringify(run.summary) !== before) this.changeEmitter.fire(run.summary);
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
    });
    reader.onEvents((events) => this.append(run, events));
    return reader;
  }

  private now(): number {
    return (this.options.now ?? (() => Date.now() / 1000))();
  }
}

async function folderTime(runDir: string): Promise<number> {
  try {
    const stat = await fs.promises.stat(runDir);
    return stat.birthtimeMs > 0 ? stat.birthtimeMs / 1000 : stat.mtimeMs / 1000;
  } catch {
    return Date.now() / 1000;
  }
}
