// Commands and reload serializers of the run panels (dashboard, generations) and the judge panel,
// next to their hosts. Each host loads on first use through one shared promise (common/lazy), so
// activation stays cheap and two serializers restoring at once build one host.
import * as vscode from 'vscode';
import { lazy } from '../common/lazy';
import { pickRun } from '../commands/pickRun';
import { vscodeUi } from '../common/ui.apis';
import { DASHBOARD_VIEW_TYPE } from '../protocol/dashboard';
import { GENERATIONS_VIEW_TYPE } from '../protocol/generations';
import { JUDGE_VIEW_TYPE } from '../protocol/judge';
import type { RunRegistry } from '../runs/runRegistry';
import { runDirOf } from '../views/runsTree';
import type { OpenOptions } from './keyedPanels';

export interface PanelActions {
  /** Stop a run (the dashboard's Stop button), as the palette's Stop Run does. */
  stopRun(runDir: string): Promise<unknown> | void;
}

export interface RegisteredPanels {
  disposables: vscode.Disposable[];
  openDashboard(runDir: string): Promise<void>;
}

export function registerPanels(context: vscode.ExtensionContext, registry: RunRegistry, actions: PanelActions): RegisteredPanels {
  const dashboards = lazy(async () => {
    const [{ DashboardPanels }, { appendControl }] = await Promise.all([import('./dashboardPanel'), import('../runs/runManager')]);
    return new DashboardPanels(context.extensionUri, registry, {
      stopRun: (runDir) => actions.stopRun(runDir),
      requestControl: (runDir, type) => appendControl(runDir, { type, time: Date.now() / 1000 }),
    });
  });
  const generations = lazy(async () => new (await import('./generationsPanel')).GenerationsPanels(context.extensionUri, registry));
  const judge = lazy(async () => new (await import('./judgePanel')).JudgePanel(context.extensionUri, registry, context.secrets));
  const openDashboard = async (runDir: string, options?: OpenOptions) => (await dashboards.get()).open(runDir, options);
  const disposables = [
    vscode.window.registerWebviewPanelSerializer(DASHBOARD_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state) => (await dashboards.get()).restore(panel, state),
    }),
    vscode.window.registerWebviewPanelSerializer(GENERATIONS_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state) => (await generations.get()).restore(panel, state),
    }),
    vscode.window.registerWebviewPanelSerializer(JUDGE_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state) => (await judge.get()).restore(panel, state),
    }),
    vscode.commands.registerCommand('sftStudio.openDashboard', async (arg?: unknown, second?: unknown) => {
      // While the first scan runs, "no runs yet" is not known: wait for it before offering a pick.
      const runDir = runDirOf(arg) ?? (await registry.loaded(), await pickRun(vscodeUi, registry.list(), 'Run to show'));
      // A context menu passes the selection second; a Runs row's own click passes open options.
      if (runDir) await openDashboard(runDir, openOptionsOf(second));
    }),
    vscode.commands.registerCommand('sftStudio.openGenerations', async (arg?: unknown) => {
      const runDir = runDirOf(arg) ?? (await registry.loaded(), await pickRun(vscodeUi, registry.list(), 'Run whose generations to show'));
      if (runDir) await (await generations.get()).open(runDir);
    }),
    vscode.commands.registerCommand('sftStudio.openJudge', async () => (await judge.get()).open()),
    { dispose: () => (dashboards.current()?.dispose(), generations.current()?.dispose(), judge.current()?.dispose()) },
  ];
  return { disposables, openDashboard };
}

/** Open options passed by a command's caller, else none (a context menu passes the selected elements). */
export function openOptionsOf(arg: unknown): OpenOptions | undefined {
  if (typeof arg !== 'object' || arg === null || Array.isArray(arg)) return undefined;
  const preserveFocus = (arg as OpenOptions).preserveFocus;
  return typeof preserveFocus === 'boolean' ? { preserveFocus } : undefined;
}
