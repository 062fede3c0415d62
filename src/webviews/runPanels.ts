// One panel per run, for the panels that show a run (dashboard, generations): a second open
// reveals the first, and the serializer reopens a panel for the run its app saved in setState.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RequestMap } from '../protocol/bridge';
import type { RunRegistry } from '../runs/runRegistry';
import { PanelBridge, type BridgeOptions, type Disposable } from './panelBridge';
import { loadPanelPage, panelOptions } from './panelShell';
import { restorableState } from './restoredRun';

/** What a panel kind does for one run: its bridge options and the deltas it forwards. */
export interface RunSessionLike<R extends RequestMap, HostMessage> {
  options(): BridgeOptions<R, HostMessage>;
  follow(bridge: Pick<PanelBridge<R, HostMessage>, 'post'>): Disposable[];
}

export interface RunPanelKind<State extends { runDir: string }, R extends RequestMap, HostMessage> {
  viewType: string;
  /** The bundle: dist/webview/<entry>.js and .css. */
  entry: string;
  titlePrefix: string;
  isState(value: unknown): value is State;
  session(runDir: string, restored: State | undefined): RunSessionLike<R, HostMessage>;
}

export class RunPanels<State extends { runDir: string }, R extends RequestMap, HostMessage> implements vscode.Disposable {
  private readonly panels = new Map<string, vscode.WebviewPanel>();

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly registry: RunRegistry,
    private readonly kind: RunPanelKind<State, R, HostMessage>,
  ) {}

  async open(runDir: string): Promise<void> {
    const existing = this.panels.get(runDir);
    if (existing) {
      existing.reveal();
      return;
    }
    await this.registry.ensure(runDir);
    const panel = vscode.window.createWebviewPanel(this.kind.viewType, this.title(runDir), vscode.ViewColumn.Active, panelOptions(this.extensionUri));
    this.attach(panel, runDir, undefined);
  }

  /** Called by the serializer after a window reload with the state the app saved (restoredRun.ts). */
  async restore(panel: vscode.WebviewPanel, saved: unknown): Promise<void> {
    const state = await restorableState(saved, this.kind.isState, this.registry);
    // `has` is checked after the wait: two panels of one run restored at once must not both attach.
    if (!state || this.panels.has(state.runDir)) {
      panel.dispose();
      return;
    }
    panel.webview.options = panelOptions(this.extensionUri);
    this.attach(panel, state.runDir, state);
  }

  dispose(): void {
    for (const panel of this.panels.values()) panel.dispose();
    this.panels.clear();
  }

  private title(runDir: string): string {
    return `${this.kind.titlePrefix}: ${path.basename(runDir)}`;
  }

  private attach(panel: vscode.WebviewPanel, runDir: string, restored: State | undefined): void {
    this.panels.set(runDir, panel);
    loadPanelPage(panel, this.extensionUri, this.kind.entry, this.title(runDir));
    const session = this.kind.session(runDir, restored);
    const bridge = new PanelBridge<R, HostMessage>(panel.webview, session.options());
    const disposables: Disposable[] = [
      bridge,
      ...session.follow(bridge),
      panel.onDidChangeViewState(() => {
        // A hidden panel's page is torn down; the next page load will say `ready` again.
        if (!panel.visible) bridge.unready();
      }),
    ];
    panel.onDidDispose(() => {
      disposables.forEach((d) => d.dispose());
      this.panels.delete(runDir);
    });
  }
}
