// The token insight panel: statistics of a config's training set and the label-mask preview of any
// example. Computed in the extension host in slices that yield to its event loop, with progress in a
// cancellable notification. After a window reload the serializer reopens a panel for the config its
// app saved (checked by restoreTokensState) and counts again.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { TOKENS_VIEW_TYPE, tokensGuards, type TokensRequests, type TokensState } from '../protocol/tokens';
import { PanelBridge } from '../webviews/panelBridge';
import { loadPanelPage, panelOptions } from '../webviews/panelShell';
import { computeConfigTokens, insightErrorMessage, type ConfigTokens } from './configTokenStats';
import { examplePreview } from './examplePreview';
import { restoreTokensState } from './restoreState';

class TokensPanel {
  private state: TokensState;
  private result: ConfigTokens | undefined;
  private abort: AbortController | undefined;
  readonly bridge: PanelBridge<TokensRequests, TokensState>;

  constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly configPath: string,
    extensionUri: vscode.Uri,
    onDispose: () => void,
  ) {
    this.state = { type: 'tokensState', configPath, status: 'computing', progress: { done: 0, total: 0 } };
    loadPanelPage(panel, extensionUri, 'tokens', `Tokens: ${path.basename(configPath)}`);
    this.bridge = new PanelBridge(panel.webview, {
      guards: tokensGuards,
      fullState: () => this.state,
      handlers: {
        example: ({ index }) => {
          const example = this.result?.examples[index];
          if (!this.result || !example) throw new Error(`no example ${index}`);
          return examplePreview(index, example, this.result.tokenizer.tokenText);
        },
        recompute: () => {
          void this.compute();
          return null;
        },
      },
    });
    panel.onDidChangeViewState(() => panel.visible || this.bridge.unready());
    panel.onDidDispose(() => {
      this.abort?.abort();
      this.bridge.dispose();
      onDispose();
    });
  }

  private update(patch: Partial<TokensState>): void {
    this.state = { ...this.state, ...patch };
    this.bridge.post(this.state);
  }

  async compute(): Promise<void> {
    this.abort?.abort();
    const abort = (this.abort = new AbortController());
    this.update({ status: 'computing', error: undefined, progress: { done: 0, total: 0 } });
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Counting tokens of ${path.basename(this.configPath)}`, cancellable: true },
      async (progress, token) => {
        token.onCancellationRequested(() => abort.abort());
        let reported = 0;
        try {
          this.result = await computeConfigTokens(this.configPath, {
            signal: abort.signal,
            onProgress: (done, total) => {
              if (total) progress.report({ increment: ((done - reported) / total) * 100, message: `${done} / ${total} examples` });
              reported = done;
              this.update({ progress: { done, total } });
            },
          });
          this.update({ status: 'done', stats: this.result.stats });
        } catch (error) {
          if (abort.signal.aborted) {
            this.update({ status: 'error', error: 'cancelled' });
            return;
          }
          const message = insightErrorMessage(error);
          this.update({ status: 'error', error: message ?? String(error) });
          if (message === undefined) throw error;
        }
      },
    );
  }
}

/** One panel per config; opening it again reveals it and counts afresh. */
export class TokensPanels implements vscode.Disposable {
  private readonly panels = new Map<string, TokensPanel>();

  constructor(private readonly extensionUri: vscode.Uri) {}

  open(configPath: string): void {
    const existing = this.panels.get(configPath);
    if (existing) {
      existing.panel.reveal();
      void existing.compute();
      return;
    }
    this.attach(vscode.window.createWebviewPanel(TOKENS_VIEW_TYPE, 'Tokens', vscode.ViewColumn.Beside, panelOptions(this.extensionUri)), configPath);
  }

  /**
   * Called by the serializer after a window reload with the state the app saved; `roots` are the
   * folders a restored config may lie in. A state that fails the checks closes the panel.
   */
  restore(panel: vscode.WebviewPanel, state: unknown, roots: readonly string[]): void {
    const restored = restoreTokensState(state, roots);
    if (!restored.ok || this.panels.has(restored.value.configPath)) {
      if (!restored.ok) console.warn(`[sft-studio] tokens panel not restored: ${restored.reason}`);
      panel.dispose();
      return;
    }
    panel.webview.options = panelOptions(this.extensionUri);
    this.attach(panel, restored.value.configPath);
  }

  private attach(panel: vscode.WebviewPanel, configPath: string): void {
    const view = new TokensPanel(panel, configPath, this.extensionUri, () => this.panels.delete(configPath));
    this.panels.set(configPath, view);
    void view.compute();
  }

  dispose(): void {
    for (const view of this.panels.values()) view.panel.dispose();
  }
}
