// The one shape of every panel host: at most one panel per key (a run folder, a checkpoint's real
// path, a config file, or the single judge panel), a second open reveals the first, and after a
// window reload the serializer reopens a panel only for a target its kind accepts from the state the
// app saved (that state comes from the webview, so it is input to be checked).
import * as vscode from 'vscode';
import { panelOptions } from './panelShell';

/** What a kind of panel shows in one panel; the host disposes the panel, the view cleans up after it. */
export interface PanelView {
  readonly panel: vscode.WebviewPanel;
}

export interface PanelKind<Target, View extends PanelView> {
  viewType: string;
  /** Initial tab title (the view sets the real one when it loads its page). */
  title: string;
  column: vscode.ViewColumn;
  /** Keep the page alive while hidden (VS Code keeps this option with a restored panel too). */
  retainContextWhenHidden?: boolean;
  key(target: Target): string;
  /** The target a saved state may reopen, or undefined (the panel is closed). */
  restoreTarget(saved: unknown): Promise<Target | undefined>;
  /** Loads the page and wires the bridge; cleans up its own resources when `panel` is disposed. */
  create(panel: vscode.WebviewPanel, target: Target): View;
  /** Before a new panel opens (e.g. make sure the registry knows the run). */
  prepare?(target: Target): Promise<void>;
  /** Opened again while its panel exists (after `reveal`). */
  reopened?(view: View): void;
}

export interface OpenOptions {
  /** Leave the keyboard focus where it is (the panel shows but does not take it). */
  preserveFocus?: boolean;
}

export class KeyedPanels<Target, View extends PanelView> implements vscode.Disposable {
  private readonly views = new Map<string, View>();

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly kind: PanelKind<Target, View>,
  ) {}

  /**
   * Shows the target's panel, making it if need be. `preserveFocus` keeps the keyboard where it was (a click
   * on a Runs row: the tree keeps focus for arrow keys, Ctrl+click selection and its context menu).
   */
  async open(target: Target, options: OpenOptions = {}): Promise<void> {
    if (this.revealed(target, options)) return;
    await this.kind.prepare?.(target);
    // Checked again after the wait: two opens of one target at once must not make two panels.
    if (this.revealed(target, options)) return;
    const show = { viewColumn: this.kind.column, preserveFocus: options.preserveFocus ?? false };
    const panel = vscode.window.createWebviewPanel(this.kind.viewType, this.kind.title, show, {
      ...panelOptions(this.extensionUri),
      retainContextWhenHidden: this.kind.retainContextWhenHidden ?? false,
    });
    this.attach(panel, target);
  }

  /** Called by the serializer after a window reload with the state the app saved. */
  async restore(panel: vscode.WebviewPanel, saved: unknown): Promise<void> {
    const target = await this.kind.restoreTarget(saved);
    // `has` is checked after the wait: two panels of one target restored at once must not both attach.
    if (target === undefined || this.views.has(this.kind.key(target))) {
      panel.dispose();
      return;
    }
    panel.webview.options = panelOptions(this.extensionUri);
    this.attach(panel, target);
  }

  /** The open views (for tests and commands that act on every panel of a kind). */
  openViews(): View[] {
    return [...this.views.values()];
  }

  dispose(): void {
    for (const view of [...this.views.values()]) view.panel.dispose();
    this.views.clear();
  }

  private revealed(target: Target, options: OpenOptions): boolean {
    const existing = this.views.get(this.kind.key(target));
    if (!existing) return false;
    existing.panel.reveal(undefined, options.preserveFocus ?? false);
    this.kind.reopened?.(existing);
    return true;
  }

  private attach(panel: vscode.WebviewPanel, target: Target): void {
    const key = this.kind.key(target);
    const view = this.kind.create(panel, target);
    this.views.set(key, view);
    panel.onDidDispose(() => {
      if (this.views.get(key) === view) this.views.delete(key);
    });
  }
}
