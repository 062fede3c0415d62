import * as vscode from 'vscode';
import type { RunSummary } from '../protocol/runSummary';
import type { RunRegistry } from '../runs/runRegistry';
import { groupRunsByConfig, presentRun, type RunGroup } from './runPresentation';

export const RUNS_VIEW_ID = 'sftStudio.runs';

type Node = { kind: 'group'; group: RunGroup } | { kind: 'run'; run: RunSummary };

/** The Runs view: configs at the top level, their runs below. */
export class RunsTreeProvider implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscription: { dispose(): void };

  constructor(private readonly registry: RunRegistry) {
    // Any change re-renders the whole (small) tree: simpler than mapping summaries to nodes.
    this.subscription = registry.onDidChange(() => this.changed.fire(undefined));
  }

  getChildren(node?: Node): Node[] {
    if (!node) {
      return groupRunsByConfig(this.registry.list(), (f) => vscode.workspace.asRelativePath(f, false)).map((group) => ({
        kind: 'group',
        group,
      }));
    }
    return node.kind === 'group' ? node.group.runs.map((run) => ({ kind: 'run', run })) : [];
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node.kind === 'group') {
      const item = new vscode.TreeItem(node.group.label, vscode.TreeItemCollapsibleState.Expanded);
      item.id = `config:${node.group.key}`;
      item.description = node.group.description;
      item.tooltip = node.group.key;
      item.iconPath = new vscode.ThemeIcon('settings-gear');
      item.contextValue = 'config';
      return item;
    }
    const look = presentRun(node.run);
    const item = new vscode.TreeItem(look.label, vscode.TreeItemCollapsibleState.None);
    item.id = `run:${node.run.runDir}`;
    item.description = look.description;
    item.tooltip = look.tooltip;
    item.iconPath = new vscode.ThemeIcon(look.icon.id, look.icon.color ? new vscode.ThemeColor(look.icon.color) : undefined);
    item.contextValue = look.contextValue;
    item.resourceUri = vscode.Uri.file(node.run.runDir);
    item.command = { command: 'sftStudio.openDashboard', title: 'Open Dashboard', arguments: [node.run.runDir] };
    return item;
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
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
