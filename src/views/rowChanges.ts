// What the Runs view sends the workbench after its runs change: the whole tree, some rows, or nothing.
// Every refresh costs the workbench a round of requests and a render (a second on two busy cores while a
// window starts), so a change the view has drawn already is not sent again:
// - a new shape (runs added or gone, a run moved to another group or place) is sent as the whole tree,
//   unless the view fetched its top level after that change;
// - a run's row is sent only when what the row shows (or a tooltip the view holds) differs from what was sent.
// No vscode here: the provider (runsTree.ts) turns the answer into tree events.
import type { RunSummary } from '../protocol/runSummary';

/** A run row as the view would draw it now: `shown` for what it draws without a hover, and the tooltip. */
export interface RowLook {
  shown: string;
  tooltip: string;
}

/** What to send: 'tree' for the whole tree, else the runs whose rows changed (maybe none). */
export type Refresh = 'tree' | string[];

/** A run's place in the tree: its group (config) and its order (start time). */
type Place = Pick<RunSummary, 'configPath' | 'startedAt'>;

export class RowChanges {
  /** Changes are counted, so "the view fetched its top level after the latest new shape" is a comparison. */
  private count = 0;
  private reshapedAt = 0;
  private servedAt = 0;
  /** Each run's place in the top level the view fetched last. */
  private served = new Map<string, Place>();
  /** What each row showed when last sent, and the tooltip the view fetched for it since (on hover). */
  private readonly sent = new Map<string, { shown: string; tooltip?: string }>();
  private readonly dirty = new Set<string>();
  private readonly forced = new Set<string>();

  /** The set of runs, the queue or the notes changed: the tree's shape may have. */
  reshape(): void {
    this.reshapedAt = ++this.count;
  }

  /** A run's summary changed: its row, or the shape when the run is not where the view last saw it. */
  summaryChanged(summary: RunSummary): void {
    const place = this.served.get(summary.runDir);
    if (!place || place.configPath !== summary.configPath || place.startedAt !== summary.startedAt) this.reshape();
    else this.dirty.add(summary.runDir);
  }

  /** What is under a run changed (a checkpoint written, a new best evaluation): its row is sent with its children. */
  childrenChanged(runDir: string): void {
    this.forced.add(runDir);
  }

  /** The view fetched the top level: these runs, in these places. */
  topLevelServed(runs: readonly RunSummary[]): void {
    this.servedAt = ++this.count;
    this.served = new Map(runs.map((run) => [run.runDir, { configPath: run.configPath, startedAt: run.startedAt }]));
    for (const runDir of this.sent.keys()) if (!this.served.has(runDir)) this.sent.delete(runDir);
  }

  rowSent(runDir: string, shown: string): void {
    this.sent.set(runDir, { shown });
  }

  tooltipSent(runDir: string, tooltip: string): void {
    const row = this.sent.get(runDir);
    if (row) row.tooltip = tooltip;
  }

  /** What to send now; `lookOf` gives a run row as it would be drawn now (undefined: the run is gone). */
  take(lookOf: (runDir: string) => RowLook | undefined): Refresh {
    const dirty = new Set([...this.dirty, ...this.forced]);
    const forced = new Set(this.forced);
    this.dirty.clear();
    this.forced.clear();
    if (this.reshapedAt > this.servedAt) {
      this.reshapedAt = 0;
      return 'tree';
    }
    return [...dirty].filter((runDir) => {
      const row = this.sent.get(runDir);
      // A row the view has not drawn yet is drawn with its newest look (and children) when it is.
      if (!row) return false;
      if (forced.has(runDir)) return true;
      const look = lookOf(runDir);
      return look !== undefined && (look.shown !== row.shown || (row.tooltip !== undefined && row.tooltip !== look.tooltip));
    });
  }
}
