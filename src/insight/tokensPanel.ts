// The token insight panel: statistics of a config's training set and the label-mask preview of any
// example. Counted in a worker thread (tokenStatsWorker) with progress in a cancellable notification;
// the worker stays alive while the panel is open and encodes the one example the preview shows, so
// the host never holds the examples. After a window reload the serializer reopens a panel for the
// config its app saved (checked by restoreTokensState) and counts again.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { TOKENS_VIEW_TYPE, tokensGuards, type TokensRequests, type TokensState } from '../protocol/tokens';
import { KeyedPanels } from '../webviews/keyedPanels';
import { PanelBridge } from '../webviews/panelBridge';
import { loadPanelPage } from '../webviews/panelShell';
import { insightErrorMessage } from './configTokenStats';
import { restoreTokensState } from './restoreState';
import { CancelledError, TokenStatsJob } from './tokenStatsWorker';

class TokensPanel {
  private state: TokensState;
  private job: TokenStatsJob | undefined;
  readonly bridge: PanelBridge<TokensRequests, TokensState>;

  constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly configPath: string,
    extensionUri: vscode.Uri,
  ) {
    this.state = { type: 'tokensState', configPath, status: 'computing', progress: { done: 0, total: 0 } };
    loadPanelPage(panel, extensionUri, 'tokens', `Tokens: ${path.basename(configPath)}`);
    this.bridge = new PanelBridge(panel.webview, {
      guards: tokensGuards,
      fullState: () => this.state,
      handlers: {
        example: ({ index }) => {
          if (this.state.status !== 'done' || !this.job || index >= (this.state.stats?.examples ?? 0)) throw new Error(`no example ${index}`);
          return this.job.example(index);
        },
        recompute: () => {
          void this.compute();
          return null;
        },
      },
    });
    panel.onDidChangeViewState(() => panel.visible || this.bridge.unready());
    panel.onDidDispose(() => {
      this.job?.cancel();
      this.bridge.dispose();
    });
  }

  private update(patch: Partial<TokensState>): void {
    this.state = { ...this.state, ...patch };
    this.bridge.post(this.state);
  }

  async compute(): Promise<void> {
    this.job?.cancel();
    let reported = 0;
    let report: ((done: number, total: number) => void) | undefined;
    const job = (this.job = new TokenStatsJob(this.configPath, {
      keep: true,
      onProgress: (done, total) => {
        report?.(done, total);
        this.update({ progress: { done, total } });
      },
    }));
    this.update({ status: 'computing', error: undefined, progress: { done: 0, total: 0 } });
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Counting tokens of ${path.basename(this.configPath)}`, cancellable: true },
      async (progress, token) => {
        token.onCancellationRequested(() => job.cancel());
        report = (done, total) => {
          if (total) progress.report({ increment: ((done - reported) / total) * 100, message: `${done} / ${total} examples` });
          reported = done;
        };
        try {
          const { stats } = await job.result;
          this.update({ status: 'done', stats });
        } catch (error) {
          if (error instanceof CancelledError) {
            // Replaced by a newer count (which shows its own state), or cancelled by the user.
            if (this.job === job) this.update({ status: 'error', error: 'cancelled' });
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

/** One panel per config; opening it again reveals it and counts afresh. `roots` are the folders a restored config may lie in. */
export class TokensPanels extends KeyedPanels<string, TokensPanel> {
  constructor(extensionUri: vscode.Uri, roots: () => readonly string[]) {
    super(extensionUri, {
      viewType: TOKENS_VIEW_TYPE,
      title: 'Tokens',
      column: vscode.ViewColumn.Beside,
      key: (configPath) => configPath,
      restoreTarget: async (saved) => {
        const restored = restoreTokensState(saved, roots());
        if (!restored.ok) console.warn(`[sft-studio] tokens panel not restored: ${restored.reason}`);
        return restored.ok ? restored.value.configPath : undefined;
      },
      create: (panel, configPath) => {
        const view = new TokensPanel(panel, configPath, extensionUri);
        void view.compute();
        return view;
      },
      reopened: (view) => void view.compute(),
    });
  }
}
