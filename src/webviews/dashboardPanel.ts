import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  DASHBOARD_VIEW_TYPE,
  HostMessageType,
  isDashboardWebviewState,
  isWebviewToHost,
  type HostToWebview,
} from '../protocol/dashboard';
import type { RunRegistry } from '../runs/runRegistry';
import { makeNonce, renderWebviewHtml } from './webviewHtml';

/** One dashboard panel per run; a second open reveals the first. */
export class DashboardPanels implements vscode.Disposable {
  private readonly panels = new Map<string, vscode.WebviewPanel>();

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly registry: RunRegistry,
    private readonly stopRun: (runDir: string) => void,
  ) {}

  async open(runDir: string): Promise<void> {
    const existing = this.panels.get(runDir);
    if (existing) {
      existing.reveal();
      return;
    }
    await this.registry.ensure(runDir);
    const panel = vscode.window.createWebviewPanel(
      DASHBOARD_VIEW_TYPE,
      this.title(runDir),
      vscode.ViewColumn.Active,
      this.webviewOptions(),
    );
    this.attach(panel, runDir);
  }

  /** Called by the serializer after a window reload with the state the app saved. */
  async restore(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    if (!isDashboardWebviewState(state) || this.panels.has(state.runDir)) {
      panel.dispose();
      return;
    }
    await this.registry.ensure(state.runDir);
    panel.webview.options = this.webviewOptions();
    this.attach(panel, state.runDir);
  }

  dispose(): void {
    for (const panel of this.panels.values()) panel.dispose();
    this.panels.clear();
  }

  private webviewOptions(): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    return {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist'), vscode.Uri.joinPath(this.extensionUri, 'media')],
      // Not retained when hidden: the app re-sends `ready` and gets the full state again.
      retainContextWhenHidden: false,
    };
  }

  private title(runDir: string): string {
    return `SFT: ${path.basename(runDir)}`;
  }

  private attach(panel: vscode.WebviewPanel, runDir: string): void {
    this.panels.set(runDir, panel);
    panel.title = this.title(runDir);
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'sft-studio.svg');
    const webview = panel.webview;
    const asset = (file: string) => webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview', file)).toString();
    webview.html = renderWebviewHtml({
      title: this.title(runDir),
      cspSource: webview.cspSource,
      nonce: makeNonce(),
      scriptUri: asset('dashboard.js'),
      styleUri: asset('dashboard.css'),
    });

    // Deltas go out only after the app said `ready` to this load of the page.
    let ready = false;
    const post = (message: HostToWebview) => {
      if (ready) void webview.postMessage(message);
    };
    const disposables: vscode.Disposable[] = [
      webview.onDidReceiveMessage((message: unknown) => {
        if (!isWebviewToHost(message)) return;
        if (message.type === 'ready') {
          ready = true;
          const run = this.registry.get(runDir);
          if (run) post({ type: HostMessageType.state, run, events: [...this.registry.events(runDir)] });
        } else if (message.type === 'stop') {
          this.stopRun(runDir);
        }
      }),
      this.registry.onDidAppendEvents(({ runDir: changed, events, summary }) => {
        if (changed === runDir) post({ type: HostMessageType.events, run: summary, events });
      }),
      this.registry.onDidChange((summary) => {
        if (summary?.runDir === runDir) post({ type: HostMessageType.events, run: summary, events: [] });
      }),
      panel.onDidChangeViewState(() => {
        // A hidden panel's page is torn down; the next page load will say `ready` again.
        if (!panel.visible) ready = false;
      }),
    ];
    panel.onDidDispose(() => {
      disposables.forEach((d) => d.dispose());
      this.panels.delete(runDir);
    });
  }
}
