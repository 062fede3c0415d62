// What a dashboard panel does for one run, without vscode: the full state, the control, compare and
// detail requests, and the deltas it forwards from the registry. dashboardPanel.ts wires it to a real
// webview; the webview tests wire it to Chromium.
//
// The stream to the webview is bounded: the registry only marks shown runs as changed, and a
// Coalescer sends what changed (new train rows read from the run's file by byte offset, new other
// events, the summary) as one message at most four times a second (on the UI beat), never two at once. Train rows go
// out as a min/max sample of the run (a few thousand rows, however long it is) and then as deltas, as
// Float64Array columns (binary to the page, no JSON: TrainColumns).
import * as path from 'node:path';
import type { Disposable } from '../common/emitter';
import {
  DASHBOARD_EVENT_TYPES,
  HostMessageType,
  dashboardGuards,
  packEvents,
  packTrainRows,
  pickableRun,
  type ControlAction,
  type DashboardRequests,
  type DetailParams,
  type HostToWebview,
  type PickableRun,
  type RunData,
  type RunDelta,
  type TrainRows,
} from '../protocol/dashboard';
import type { RunEvent } from '../protocol/events';
import type { RunSummary } from '../protocol/runSummary';
import type { RunRegistry } from '../runs/runRegistry';
import { TrainSeries } from '../runs/trainSeries';
import { Coalescer, PANEL_FLUSH_MS, type Clock } from './coalescer';
import { readConfigDiff } from './configDiff';
import type { BridgeOptions, PanelBridge } from './panelBridge';

export interface DashboardActions {
  stopRun(runDir: string): Promise<unknown> | void;
  /** Appends `{"type": action, "time": …}` to the run's control.jsonl. */
  requestControl(runDir: string, action: 'save' | 'generate'): void;
}

export type RegistryView = Pick<RunRegistry, 'get' | 'list' | 'events' | 'ensure' | 'knows' | 'refresh' | 'onDidAppendEvents' | 'onDidChange'>;

/** Buckets of the first sample: about the pixel width of a wide chart (two rows each, per metric). */
export const OVERVIEW_BUCKETS = 1000;
/**
 * Reading a run's file costs about 8 ms per 1,000 train steps. A long run is read this many ms at
 * a time: the dashboard draws what was read so far at once and fills in with the next messages,
 * and the extension host is never busy for long.
 */
const READ_BUDGET_MS = 250;
/**
 * While the page loads (half a second or more), the dashboard's own run is read in slices this long,
 * so the first state goes out with what was read by then instead of reading only when the page asks.
 */
const PREFETCH_SLICE_MS = 40;

export interface SessionTiming {
  flushMs?: number;
  clock?: Clock;
}

interface Shown {
  series: TrainSeries;
  /** Seq of the newest kept event sent; later ones go out with the next delta. */
  sentSeq: number;
  changed: boolean;
}

type Post = Pick<PanelBridge<DashboardRequests, HostToWebview>, 'post'>;

export class DashboardSession {
  private readonly shown = new Map<string, Shown>();
  private compare: string[];
  private serial: Promise<unknown> = Promise.resolve();
  private readonly coalescer: Coalescer;
  private bridge: Post | undefined;
  private runsChanged = false;
  private sentRunsKey = '';
  /** Set when the page asks for its state: reading ahead stops, what was read goes out. */
  private stateAsked = false;

  constructor(
    private readonly registry: RegistryView,
    readonly runDir: string,
    private readonly actions: DashboardActions,
    compare: readonly string[] = [],
    timing: SessionTiming = {},
  ) {
    this.compare = compare.filter((d) => d !== runDir);
    this.coalescer = new Coalescer(() => this.queue(() => this.flush()), timing.flushMs ?? PANEL_FLUSH_MS, timing.clock);
  }

  options(): BridgeOptions<DashboardRequests, HostToWebview> {
    return {
      guards: dashboardGuards,
      handlers: {
        control: ({ action }) => this.control(action),
        compare: ({ runDirs }) =>
          this.queue(async () => {
            this.compare = await this.knownRuns(runDirs);
            this.keepShown();
            const runs = await this.allRunData(this.compare);
            return { runs, configDiff: await readConfigDiff([this.runDir, ...this.compare]) };
          }),
        detail: (params) => this.queue(async () => ({ train: packTrainRows(this.detail(params)) })),
      },
      fullState: () => {
        this.stateAsked = true;
        return this.queue(async () => {
          await this.registry.ensure(this.runDir);
          // A restored panel's compare list came from the webview: only runs the registry knows.
          this.compare = await this.knownRuns(this.compare);
          this.keepShown();
          const [own, ...compare] = await this.allRunData([this.runDir, ...this.compare]);
          const configDiff = await readConfigDiff([this.runDir, ...this.compare]);
          const available = this.registry.list().map(pickableRun);
          this.sentRunsKey = runsKey(available);
          this.runsChanged = false;
          return { type: HostMessageType.state, ...own, compare, available, configDiff };
        });
      },
    };
  }

  /** Marks shown runs as changed when the registry says so; the coalescer sends what changed. */
  follow(bridge: Post): Disposable[] {
    this.bridge = bridge;
    this.readAhead();
    const changed = (runDir: string) => {
      const shown = this.shown.get(runDir);
      if (!shown) return;
      shown.changed = true;
      this.coalescer.mark();
    };
    return [
      this.registry.onDidAppendEvents(({ runDir }) => changed(runDir)),
      this.registry.onDidChange((summary) => {
        if (summary) return changed(summary.runDir);
        this.runsChanged = true;
        this.coalescer.mark();
      }),
      {
        dispose: () => {
          this.bridge = undefined;
          this.coalescer.dispose();
          for (const shown of this.shown.values()) shown.series.dispose();
          this.shown.clear();
        },
      },
    ];
  }

  /** Reads the own run (the registry knows it: the panel was opened for it) in slices until the page asks. */
  private readAhead(): void {
    const shown = this.showRun(this.runDir);
    const slice = async (): Promise<void> => {
      if (this.stateAsked || !this.bridge) return;
      if (!(await shown.series.update(PREFETCH_SLICE_MS))) void this.queue(slice);
    };
    void this.queue(slice);
  }

  /** Requests, full states and flushes run one at a time, so no delta overtakes the state it follows. */
  private queue<T>(work: () => Promise<T>): Promise<T> {
    const next = this.serial.then(work, work);
    this.serial = next.catch(() => undefined);
    return next;
  }

  private async flush(): Promise<void> {
    const bridge = this.bridge;
    if (!bridge) return;
    const runs: RunDelta[] = [];
    for (const [runDir, shown] of this.shown) {
      if (!shown.changed) continue;
      shown.changed = false;
      const run = this.registry.get(runDir);
      if (!run) continue;
      if (!(await shown.series.update(READ_BUDGET_MS))) this.readOnLater(shown);
      const train = shown.series.takeChanges(OVERVIEW_BUCKETS);
      const events = this.eventsAfter(runDir, shown);
      runs.push(train ? { run, events, train: packTrainRows(train) } : { run, events });
    }
    if (runs.length > 0) await bridge.post({ type: HostMessageType.append, runs });
    if (this.runsChanged) {
      this.runsChanged = false;
      const available = this.registry.list().map(pickableRun);
      const key = runsKey(available);
      // Summaries of other runs change with every step they log; the picker only needs the set.
      if (key !== this.sentRunsKey) {
        this.sentRunsKey = key;
        await bridge.post({ type: HostMessageType.runs, available });
      }
    }
  }

  private detail({ runDir, axis, min, max, buckets }: DetailParams): TrainRows {
    const shown = this.shown.get(runDir);
    if (!shown) throw new Error(`${path.basename(runDir)} is not shown in this dashboard`);
    return shown.series.detail(axis, min, max, buckets);
  }

  /** The shown runs are the dashboard's own and the overlaid ones; a run no longer shown lets go of its rows. */
  private keepShown(): void {
    const wanted = new Set([this.runDir, ...this.compare]);
    for (const [runDir, shown] of this.shown) {
      if (wanted.has(runDir)) continue;
      shown.series.dispose();
      this.shown.delete(runDir);
    }
    for (const runDir of wanted) this.showRun(runDir);
  }

  private showRun(runDir: string): Shown {
    let shown = this.shown.get(runDir);
    if (!shown) this.shown.set(runDir, (shown = { series: new TrainSeries(runDir), sentSeq: -1, changed: false }));
    return shown;
  }

  private async knownRuns(runDirs: readonly string[]): Promise<string[]> {
    const known: string[] = [];
    for (const dir of new Set(runDirs)) {
      if (dir !== this.runDir && (await this.registry.knows(dir))) known.push(dir);
    }
    return known;
  }

  private async allRunData(runDirs: readonly string[]): Promise<RunData[]> {
    const data: RunData[] = [];
    for (const runDir of runDirs) {
      const shown = this.shown.get(runDir);
      if (!shown) continue;
      // Rows read ahead go out as they are; the rest follows in deltas.
      const whole = await shown.series.update(shown.series.length > 0 ? 0 : READ_BUDGET_MS);
      const train = packTrainRows(shown.series.sample(OVERVIEW_BUCKETS));
      shown.series.markSent();
      shown.changed = false;
      if (!whole) this.readOnLater(shown);
      const kept = this.registry.events(runDir);
      const events = kept.filter((e) => DASHBOARD_EVENT_TYPES.has(e.type));
      shown.sentSeq = kept.at(-1)?.seq ?? -1;
      // A long run's thousands of evaluations go as columns too (packEvents), the rest as events.
      data.push({ run: this.registry.get(runDir) ?? missingRun(runDir), ...packEvents(events), train });
    }
    return data;
  }

  /** The rest of a long file is read by the next flushes and goes out as deltas. */
  private readOnLater(shown: Shown): void {
    shown.changed = true;
    this.coalescer.mark();
  }

  private eventsAfter(runDir: string, shown: Shown): RunEvent[] {
    const events = this.registry.events(runDir);
    let first = events.length;
    while (first > 0 && events[first - 1].seq > shown.sentSeq) first--;
    const fresh = events.slice(first);
    if (fresh.length > 0) shown.sentSeq = fresh[fresh.length - 1].seq;
    return fresh.filter((e) => DASHBOARD_EVENT_TYPES.has(e.type));
  }

  private async control(action: ControlAction): Promise<{ message: string }> {
    if (action === 'stop') {
      await this.actions.stopRun(this.runDir);
      return { message: 'Stop requested: the run saves a checkpoint and ends after its current step.' };
    }
    this.actions.requestControl(this.runDir, action);
    return {
      message:
        action === 'save'
          ? 'Checkpoint requested: it is written after the current step.'
          : 'Generation requested: samples appear in Generations after the current step.',
    };
  }
}

function missingRun(runDir: string): RunSummary {
  return { runDir, name: path.basename(runDir), state: 'crashed' };
}

function runsKey(runs: readonly PickableRun[]): string {
  return runs.map((r) => `${r.runDir}\u0000${r.name}`).join('\n');
}
