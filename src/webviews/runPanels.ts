// One panel per run, for the panels that show a run (dashboard, generations): a second open
// reveals the first, and the serializer reopens a panel for the run its app saved in setState
// (taken only when the registry knows that run: restoredRun.ts). The keyed host is keyedPanels.ts.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RequestMap } from '../protocol/bridge';
import type { RunRegistry } from '../runs/runRegistry';
import { KeyedPanels, type OpenOptions, type PanelView } from './keyedPanels';
import { PanelBridge, type BridgeOptions, type Disposable } from './panelBridge';
import { loadPanelPage } from './panelShell';
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

interface RunTarget<State> {
  runDir: string;
  restored?: State;
}

export class RunPanels<State extends { runDir: string }, R extends RequestMap, HostMessage> implements vscode.Disposable {
  private readonly panels: KeyedPanels<RunTarget<State>, PanelView>;

  constructor(extensionUri: vscode.Uri, registry: RunRegistry, kind: RunPanelKind<State, R, HostMessage>) {
    const title = (runDir: string) => `${kind.titlePrefix}: ${path.basename(runDir)}`;
    this.panels = new KeyedPanels(extensionUri, {
      viewType: kind.viewType,
      title: kind.titlePrefix,
      column: vscode.ViewColumn.Active,
      key: (target) => target.runDir,
      prepare: async (target) => void (await registry.ensure(target.runDir)),
      restoreTarget: async (saved) => {
        const state = await restorableState(saved, kind.isState, registry);
        return state ? { runDir: state.runDir, restored: state } : undefined;
      },
      create: (panel, { runDir, restored }) => {
        loadPanelPage(panel, extensionUri, kind.entry, title(runDir));
        const session = kind.session(runDir, restored);
        const bridge = new PanelBridge<R, HostMessage>(panel.webview, session.options());
        const disposables: Disposable[] = [
          bridge,
          ...session.follow(bridge),
          panel.onDidChangeViewState(() => {
            // A hidden panel's page is torn down; the next page load will say `ready` again.
            if (!panel.visible) bridge.unready();
          }),
        ];
        panel.onDidDispose(() => disposables.forEach((d) => d.dispose()));
        return { panel };
      },
    });
  }

  open(runDir: string, options?: OpenOptions): Promise<void> {
    return this.panels.open({ runDir }, options);
  }

  /** Called by the serializer after a window reload with the state the app saved. */
  restore(panel: vscode.WebviewPanel, saved: unknown): Promise<void> {
    return this.panels.restore(panel, saved);
  }

  dispose(): void {
    this.panels.dispose();
  }
}
