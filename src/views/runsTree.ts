import * as path from 'node:path';
import * as vscode from 'vscode';
import { bestOfEvents, type BestEvaluation } from '../shared/bestCheckpoint';
import { formatDuration } from '../shared/format';
import type { RunSummary } from '../protocol/runSummary';
import type { Checkpoint } from '../runs/checkpoints';
import type { RunNotes } from '../runs/runNotes';
import type { QueuedRun, RunQueue } from '../runs/runQueue';
import type { RunRegistry } from '../runs/runRegistry';
import { stallNote } from '../runs/runStatus';
import { groupRunsByConfig, presentCheckpoint, presentRun, type RunGroup, type RunItemPresentation } from './runPresentation';
import { RowChanges, type RowLook } from './rowChanges';
import { treeRefresher } from './treeRefresh';

export const RUNS_VIEW_ID = 'sftStudio.runs';
/** The longest a window's first look at the Runs view waits for the whole list before it shows a part. */
const LISTING_PATIENCE_MS = 1000;

type RunNode = { kind: 'run'; run: RunSummary };
type Node =
  | { kind: 'group'; group: RunGroup; queued: QueuedRun[] }
  | RunNode
  | { kind: 'checkpoint'; run: RunSummary; checkpoint: Checkpoint; best?: BestEvaluation }
  | { kind: 'queued'; queued: QueuedRun }
  | { kind: 'loading' };

/** The Runs view: configs at the top level, their queued and actual runs below, checkpoints under each run. */
export class RunsTreeProvider implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | Node[] | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscriptions: { dispose(): void }[];
  private loadedAnnounced: boolean | undefined;
  /** One node object per run, kept across refreshes: VS Code refreshes a single row by its element. */
  private readonly runNodes = new Map<string, RunNode>();
  /** What to send the workbench on the next refresh (rowChanges.ts). */
  private readonly changes = new RowChanges();
  /** Whether the view's first fetch of its top level has waited for the whole list (registry.listed()). */
  private waitedForListing = false;

  constructor(
    private readonly registry: RunRegistry,
    private readonly queue: RunQueue,
    private readonly notes: RunNotes,
  ) {
    // Paced so that VS Code's own debounce never swallows the updates of a fast run (treeRefresh.ts).
    // A run that only logged steps refreshes its own row: with 300 runs, re-rendering the whole tree
    // four times a second kept the workbench busy.
    const refresh = treeRefresher(() => this.refresh());
    const reshape = () => {
      this.changes.reshape();
      refresh();
    };
    this.subscriptions = [
      refresh,
      registry.onDidChange((summary) => {
        if (summary) this.changes.summaryChanged(summary);
        else this.changes.reshape();
        refresh();
      }),
      // A checkpoint changes a run's children, an evaluation may move its best (the star), before or
      // without a change of its summary.
      registry.onDidAppendEvents(({ runDir, events }) => {
        if (!events.some((e) => e.type === 'checkpoint' || e.type === 'eval' || e.type === 'run_finished')) return;
        this.changes.childrenChanged(runDir);
        refresh();
      }),
      queue.onDidChange(reshape),
      notes.onDidChange(reshape),
    ];
  }

  private refresh(): void {
    this.announceLoaded();
    const rows = this.changes.take((runDir) => {
      const run = this.registry.get(runDir);
      return run && this.runLook(run);
    });
    if (rows === 'tree') this.changed.fire(undefined);
    if (rows === 'tree' || rows.length === 0) return;
    // The nodes keep their newest summary: the row's commands get it as their argument.
    const nodes = rows.flatMap((runDir) => {
      const node = this.runNodes.get(runDir);
      if (node) node.run = this.registry.get(runDir) ?? node.run;
      return node ?? [];
    });
    this.changed.fire(nodes);
  }

  private runNode(run: RunSummary): RunNode {
    let node = this.runNodes.get(run.runDir);
    if (!node) this.runNodes.set(run.runDir, (node = { kind: 'run', run }));
    node.run = run;
    return node;
  }

  /**
   * package.json shows "No runs yet" only once this context key is set: an empty view before the
   * extension has read the run folders (or even activated) does not mean there are none.
   */
  private announceLoaded(): void {
    const loaded = !this.registry.isLoading;
    if (loaded === this.loadedAnnounced) return;
    this.loadedAnnounced = loaded;
    void vscode.commands.executeCommand('setContext', 'sftStudio.runsLoaded', loaded);
  }

  async getChildren(node?: Node): Promise<Node[]> {
    if (!node) {
      // A window's first look waits (briefly) for the whole list: drawing a part of 300 rows and then all of
      // them costs the starting workbench two rounds of requests and renders, a second on two busy cores.
      if (!this.waitedForListing) {
        this.waitedForListing = true;
        await Promise.race([this.registry.listed(), delay(LISTING_PATIENCE_MS)]);
      }
      // While the first scan reads the run folders, the runs found so far show above a "Loading runs…"
      // row; an empty view would say "No runs yet", which is not known yet.
      return this.registry.isLoading ? [...this.groups(), { kind: 'loading' }] : this.groups();
    }
    switch (node.kind) {
      case 'group':
        return [
          ...node.queued.map((queued): Node => ({ kind: 'queued', queued })),
          ...node.group.runs.map((run) => this.runNode(this.registry.get(run.runDir) ?? run)),
        ];
      case 'run': {
        const best = bestOfEvents(this.registry.events(node.run.runDir));
        // Newest first, like the runs themselves.
        return [...this.registry.checkpoints(node.run.runDir)]
          .reverse()
          .map((checkpoint) => ({ kind: 'checkpoint', run: node.run, checkpoint, best }));
      }
      default:
        return [];
    }
  }

  getTreeItem(node: Node): vscode.TreeItem {
    switch (node.kind) {
      case 'group':
        return groupItem(node.group);
      case 'run':
        return this.runItem(this.registry.get(node.run.runDir) ?? node.run);
      case 'checkpoint':
        return checkpointItem(node.run, node.checkpoint, node.best);
      case 'queued':
        return queuedItem(node.queued);
      case 'loading':
        return loadingItem();
    }
  }

  /**
   * A run row's tooltip is made when the pointer rests on it, not with the row: most rows are never
   * hovered, and a window of 300 runs then sends a tenth of the text on each refresh.
   */
  resolveTreeItem(item: vscode.TreeItem, node: Node): vscode.TreeItem {
    if (node.kind !== 'run') return item;
    const tooltip = this.runLook(this.registry.get(node.run.runDir) ?? node.run).tooltip;
    this.changes.tooltipSent(node.run.runDir, tooltip);
    item.tooltip = tooltip;
    return item;
  }

  dispose(): void {
    this.subscriptions.forEach((s) => s.dispose());
    this.changed.dispose();
  }

  private groups(): Node[] {
    const runs = this.registry.list();
    this.changes.topLevelServed(runs);
    // Nodes of runs that are gone are let go of.
    const present = new Set(runs.map((r) => r.runDir));
    for (const runDir of this.runNodes.keys()) if (!present.has(runDir)) this.runNodes.delete(runDir);
    const groups = groupRunsByConfig(runs, (f) => vscode.workspace.asRelativePath(f, false));
    const queued = this.queue.list();
    const nodes: Node[] = groups.map((group) => ({ kind: 'group', group, queued: queued.filter((q) => q.configPath === group.key) }));
    // Queued starts of configs that have no run yet still need a group to appear under.
    for (const entry of queued) {
      if (groups.some((g) => g.key === entry.configPath)) continue;
      const key = entry.configPath ?? '(queued)';
      const existing = nodes.find((n) => n.kind === 'group' && n.group.key === key);
      if (existing?.kind === 'group') existing.queued.push(entry);
      else {
        const relative = entry.configPath ? vscode.workspace.asRelativePath(entry.configPath, false) : '';
        const group: RunGroup = { key, label: entry.configPath ? path.basename(entry.configPath) : 'queued', description: path.dirname(relative) === '.' ? '' : path.dirname(relative), runs: [] };
        nodes.unshift({ kind: 'group', group, queued: [entry] });
      }
    }
    return nodes;
  }

  private runLook(run: RunSummary): RunLook {
    const checkpoints = this.registry.checkpoints(run.runDir).length;
    const stalled = stallNote(run);
    const best = bestOfEvents(this.registry.events(run.runDir));
    const look = presentRun(run, { note: this.notes.get(run.runDir) ?? stalled, checkpoints, best });
    const icon = stalled && !this.notes.get(run.runDir) ? { id: 'warning', color: 'problemsWarningIcon.foreground' } : look.icon;
    const collapsible = checkpoints > 0;
    return { ...look, icon, collapsible, shown: JSON.stringify([look.label, look.description, icon.id, icon.color, look.contextValue, collapsible]) };
  }

  private runItem(run: RunSummary): vscode.TreeItem {
    const look = this.runLook(run);
    this.changes.rowSent(run.runDir, look.shown);
    const item = new vscode.TreeItem(look.label, look.collapsible ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
    item.id = `run:${run.runDir}`;
    item.description = look.description;
    item.iconPath = new vscode.ThemeIcon(look.icon.id, look.icon.color ? new vscode.ThemeColor(look.icon.color) : undefined);
    item.contextValue = look.contextValue;
    item.resourceUri = vscode.Uri.file(run.runDir);
    // Like the Explorer's single click: the dashboard shows, the tree keeps the keyboard (arrow keys,
    // Ctrl+click selection, its context menu) instead of losing it to a page that loads a moment later.
    item.command = { command: 'sftStudio.openDashboard', title: 'Open Dashboard', arguments: [run.runDir, { preserveFocus: true }] };
    return item;
  }
}

/** A run row as presentRun gives it, with the icon a stall adds, and what RowChanges compares. */
type RunLook = RunItemPresentation & RowLook & { collapsible: boolean };

function groupItem(group: RunGroup): vscode.TreeItem {
  const item = new vscode.TreeItem(group.label, vscode.TreeItemCollapsibleState.Expanded);
  item.id = `config:${group.key}`;
  item.description = group.description;
  item.tooltip = group.key;
  item.iconPath = new vscode.ThemeIcon('settings-gear');
  item.contextValue = 'config';
  return item;
}

function checkpointItem(run: RunSummary, checkpoint: Checkpoint, best: BestEvaluation | undefined): vscode.TreeItem {
  const look = presentCheckpoint(run.name, checkpoint, best);
  const item = new vscode.TreeItem(look.label, vscode.TreeItemCollapsibleState.None);
  item.id = `checkpoint:${checkpoint.path}`;
  item.description = look.description;
  item.tooltip = look.tooltip;
  item.iconPath = new vscode.ThemeIcon(look.icon.id, look.icon.color ? new vscode.ThemeColor(look.icon.color) : undefined);
  item.contextValue = 'checkpoint';
  item.resourceUri = vscode.Uri.file(checkpoint.path);
  return item;
}

function loadingItem(): vscode.TreeItem {
  const item = new vscode.TreeItem('Loading runs…', vscode.TreeItemCollapsibleState.None);
  item.id = 'loading';
  item.iconPath = new vscode.ThemeIcon('loading~spin');
  item.contextValue = 'loading';
  return item;
}

function queuedItem(queued: QueuedRun): vscode.TreeItem {
  const item = new vscode.TreeItem(queued.label, vscode.TreeItemCollapsibleState.None);
  item.id = `queued:${queued.id}`;
  item.description = `queued ${formatDuration((Date.now() - queued.queuedAt) / 1000)} ago`;
  item.tooltip = 'Waiting for a free slot (sftStudio.maxConcurrentRuns); starts when a running run ends.';
  item.iconPath = new vscode.ThemeIcon('watch');
  item.contextValue = 'queued';
  return item;
}

/** Tree item actions receive the node; palette invocations receive nothing or a run folder. */
export function runDirOf(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  if (arg instanceof vscode.Uri) return arg.fsPath;
  if (typeof arg === 'object' && arg !== null && 'run' in arg) {
    const run = (arg as { run?: RunSummary }).run;
    return typeof run?.runDir === 'string' ? run.runDir : undefined;
  }
  return undefined;
}

/** The queue entry a "Cancel Queued Run" action was invoked on. */
export function queuedIdOf(arg: unknown): number | undefined {
  if (typeof arg === 'object' && arg !== null && 'queued' in arg) {
    const id = (arg as { queued?: QueuedRun }).queued?.id;
    return typeof id === 'number' ? id : undefined;
  }
  return undefined;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
