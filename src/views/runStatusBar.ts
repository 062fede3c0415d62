import * as vscode from 'vscode';
import { throttle } from '../common/throttle';
import type { RunRegistry } from '../runs/runRegistry';
import { statusBarPresentation, statusBarRun } from './runPresentation';

/** `$(pulse) SFT step 40/120 · loss 1.23` for the most recent active run; click = dashboard. */
export class RunStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('sftStudio.activeRun', vscode.StatusBarAlignment.Left, 50);
  private readonly subscription: { dispose(): void };

  constructor(private readonly registry: RunRegistry) {
    this.item.name = 'SFT Studio: active run';
    // On the shared UI beat, four updates a second at most, like the Runs view and the panels: each
    // visible change costs the workbench a frame (common/throttle.ts).
    const render = throttle(() => this.render());
    const changed = registry.onDidChange(render);
    // Steps and losses arrive as events; the summary changes with them.
    const appended = registry.onDidAppendEvents(render);
    this.subscription = { dispose: () => [render, changed, appended].forEach((d) => d.dispose()) };
    this.render();
  }

  private render(): void {
    const run = statusBarRun(this.registry.list());
    if (!run) {
      this.item.hide();
      return;
    }
    const look = statusBarPresentation(run);
    this.item.text = look.text;
    this.item.tooltip = look.tooltip;
    this.item.command = { command: 'sftStudio.openDashboard', title: 'Open Dashboard', arguments: [run.runDir] };
    this.item.show();
  }

  dispose(): void {
    this.subscription.dispose();
    this.item.dispose();
  }
}
