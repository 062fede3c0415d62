import * as path from 'node:path';
import * as vscode from 'vscode';
import { throttle } from '../common/throttle';
import { formatDuration } from '../protocol/format';
import type { RunSummary } from '../protocol/runSummary';
import { listCheckpoints, type Checkpoint } from '../runs/checkpoints';
import type { RunNotes } from '../runs/runNotes';
import type { QueuedRun, RunQueue } from '../runs/runQueue';
import type { RunRegistry } from '../runs/runRegistry';
import { groupRunsByConfig, presentRun, type RunGroup } from './runPresentation';

export const RUNS_VIEW_ID = 'sftStudio.runs';
/** Re-render at most this often while a run streams events. */
const REFRESH_MS = 100;

type Node =
  | { kind: 'group'; group: RunGroup; queued: QueuedRun[] }
  | { kind: 'run'; run: RunSummary }
  | { kind: 'checkpoint'; run: RunSummary; checkpoint: Checkpoint }
  | { kind: 'queued'; queued: QueuedRun };

/** The Runs view: configs at the top level, their queued and actual runs below, checkpoints under each run. */
export class RunsTreeProvider implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscriptions: { dispose(): void }[];

  constructor(
    private readonly registry: RunRegistry,
    private readonly queue: RunQueue,
    private readonly notes: RunNotes,
  ) {
    // Any change re-renders the whole (small) tree: simpler than mapping summaries to nodes.
    const refresh = throttle(() => this.changed.fire(undefined), REFRESH_MS);
    this.subscriptions = [
      refresh,
      registry.onDidChange(refresh),
      // New events (steps, losses, checkpoints) change what a run shows before its status does.
      registry.onDidAppendEvents(refresh),
      queue.onDidChange(refresh),
      notes.onDidChange(refresh),
    ];
  }

  getChildren(node?: Node): Node[] {
    if (!node) return this.groups();
    switch (node.kind) {
      case 'group':
        return [
          ...node.queued.map((queued): Node => ({ kind: 'queued', queued })),
          ...node.group.runs.map((run): Node => ({ kind: 'run', run })),
        ];
      case 'run':
        // Newest first, like the runs themselves.
        return listCheckpoints(node.run.runDir)
          .reverse()
          .map((checkpoint) => ({ kind: 'checkpoint', run: node.run, checkpoint }));
      default:
        return [];
    }
  }

  getTreeItem(node: Node): vscode.TreeItem {
    switch (node.kind) {
      case 'group':
        return groupItem(node.group);
      case 'run':
        return this.runItem(node.run);
      case 'checkpoint':
        return checkpointItem(node.run, node.checkpoint);
      case 'queued':
        return queuedItem(node.queued);
    }
  }

  dispose(): void {
    this.subscriptions.forEach((s) => s.dispose());
    this.changed.dispose();
  }

  private groups(): Node[] {
    const groups = groupRunsByConfig(this.registry.list(), (f) => vscode.workspace.asRelativePath(f, false));
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

  private runItem(run: RunSummary): vscode.TreeItem {
    const checkpoints = listCheckpoints(run.runDir).length;
    const look = presentRun(run, { note: this.notes.get(run.runDir), checkpoints });
    const item = new vscode.TreeItem(
      look.label,
      checkpoints > 0 ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None,
    );
    item.id = `run:${run.runDir}`;
    item.description = look.description;
    item.tooltip = look.tooltip;
    item.iconPath = new vscode.ThemeIcon(look.icon.id, look.icon.color ? new vscode.ThemeColor(look.icon.color) : undefined);
    item.contextValue = look.contextValue;
    item.resourceUri = vscode.Uri.file(run.runDir);
    item.command = { command: 'sftStudio.openDashboard', title: 'Open Dashboard', arguments: [run.runDir] };
    return item;
  }
}

function groupItem(group: RunGroup): vscode.TreeItem {
  const item = new vscode.TreeItem(group.label, vscode.TreeItemCollapsibleState.Expanded);
  item.id = `config:${group.key}`;
  item.description = group.description;
  item.tooltip = group.key;
  item.iconPath = new vscode.ThemeIcon('settings-gear');
  item.contextValue = 'config';
  return item;
}

function checkpointItem(run: RunSummary, checkpoint: Checkpoint): vscode.TreeItem {
  const item = new vscode.TreeItem(`step ${checkpoint.step}`, vscode.TreeItemCollapsibleState.None);
  item.id = `checkpoint:${checkpoint.path}`;
  item.description = 'checkpoint';
  item.tooltip = `Checkpoint of ${run.name} after step ${checkpoint.step}\n${checkpoint.path}`;
  item.iconPath = new vscode.ThemeIcon('save');
  item.contextValue = 'checkpoint';
  item.resourceUri = vscode.Uri.file(checkpoint.path);
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
