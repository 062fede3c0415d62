// Shared by the integration tests: the activated extension, the workspace the runner prepared, and
// polling for what the extension host computes asynchronously.
import { format } from 'node:util';
import * as vscode from 'vscode';
import type { TestApi } from '../../src/extension';

export const EXTENSION_ID = 'sft-studio.sft-studio';

/**
 * Marks the lines the tests print, so test/integration/run.mjs can tell them from the workbench's own
 * log lines, which reach it through the same channel (codeAutomationLog).
 */
export const OUTPUT_MARK = '[integration] ';

/** Prints a line of test output (console.log of the extension host, forwarded to the runner). */
export function log(...args: unknown[]): void {
  console.log(`${OUTPUT_MARK}${format(...args)}`);
}

export async function activatedExtension(): Promise<{ extension: vscode.Extension<TestApi>; api: TestApi }> {
  const extension = vscode.extensions.getExtension<TestApi>(EXTENSION_ID);
  if (!extension) throw new Error(`extension ${EXTENSION_ID} is not installed in this window`);
  const api = await extension.activate();
  return { extension, api };
}

/** The workspace folder test/integration/run.mjs opened: a copy of examples/ plus test/fixtures/runs/. */
export function workspaceFolder(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) throw new Error('the integration tests need a workspace folder (run them with test/integration/run.mjs)');
  return folder.uri.fsPath;
}

/** Polls `probe` until it returns something other than undefined; fails with `what` after the timeout. */
export async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A tree row as the view renders it. */
export interface Row {
  label: string;
  description?: string;
  tooltip?: string;
  contextValue?: string;
  icon?: string;
  collapsible: vscode.TreeItemCollapsibleState | undefined;
  command?: vscode.Command;
  children: Row[];
}

/** Everything a tree data provider shows, read the way the workbench reads it: getChildren, then getTreeItem (and resolveTreeItem, as a hover does). */
export async function treeRows(provider: vscode.TreeDataProvider<unknown>, parent?: unknown): Promise<Row[]> {
  const rows: Row[] = [];
  for (const element of (await provider.getChildren(parent)) ?? []) {
    // Tooltips may be left for resolveTreeItem, which the workbench calls on hover.
    const item = await provider.getTreeItem(element);
    if (item.tooltip === undefined && provider.resolveTreeItem) await provider.resolveTreeItem(item, element, new vscode.CancellationTokenSource().token);
    const label = typeof item.label === 'string' ? item.label : (item.label?.label ?? '');
    rows.push({
      label,
      description: typeof item.description === 'string' ? item.description : undefined,
      tooltip: typeof item.tooltip === 'string' ? item.tooltip : item.tooltip?.value,
      contextValue: item.contextValue,
      icon: item.iconPath instanceof vscode.ThemeIcon ? item.iconPath.id : undefined,
      collapsible: item.collapsibleState,
      command: item.command,
      children: await treeRows(provider, element),
    });
  }
  return rows;
}
