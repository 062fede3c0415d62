// activate() only wires: services are created here, command bodies load their modules on first use.
import * as vscode from 'vscode';
import { vscodeSettings } from './common/settings.apis';
import { vscodeUi } from './common/ui.apis';
import { vscodeWorkspace } from './common/workspace.apis';
import { CONFIG_SELECTOR, RunCodeLensProvider } from './config/configCodeLens';
import { registerConfigDiagnostics } from './config/configDiagnostics';
import { DASHBOARD_VIEW_TYPE } from './protocol/dashboard';
import type { TrainingEnvChecker } from './python/envCheck';
import { RunRegistry } from './runs/runRegistry';
import { runRoots } from './runs/runStore';
import { runDirOf, RunsTreeProvider, RUNS_VIEW_ID } from './views/runsTree';
import { RunStatusBar } from './views/runStatusBar';
import type { DashboardPanels } from './webviews/dashboardPanel';

export function activate(context: vscode.ExtensionContext): void {
  const registry = new RunRegistry({
    roots: async () =>
      runRoots({
        configPaths: await vscodeWorkspace.findConfigFiles(),
        workspaceFolders: vscodeWorkspace.folders(),
        runsDirectory: vscodeSettings.runsDirectory(),
      }),
  });
  const refresh = () => void registry.refresh().catch((error) => console.error('[sft-studio] refresh failed', error));

  let dashboards: DashboardPanels | undefined;
  const getDashboards = async () => {
    if (!dashboards) {
      const { DashboardPanels } = await import('./webviews/dashboardPanel');
      dashboards = new DashboardPanels(context.extensionUri, registry, (runDir) => void stopRun(runDir));
      context.subscriptions.push(dashboards);
    }
    return dashboards;
  };
  const openDashboard = async (runDir: string) => (await getDashboards()).open(runDir);

  let envChecker: TrainingEnvChecker | undefined;
  const getEnvChecker = async () => (envChecker ??= new (await import('./python/envCheck')).TrainingEnvChecker());

  const stopRun = async (runDir?: string) => {
    const [{ stopRunCommand }, manager] = await Promise.all([import('./commands/stopRun'), import('./runs/runManager')]);
    return stopRunCommand(
      {
        ui: vscodeUi,
        runs: registry,
        stop: (dir, pid) => manager.stopRun(dir, pid, { graceMs: vscodeSettings.stopGraceSeconds() * 1000 }),
      },
      runDir,
    );
  };

  const startRun = async (target?: string) => {
    const [{ startRun: run }, manager, { resolveInterpreter }, { vscodeInterpreterSources }] = await Promise.all([
      import('./commands/startRun'),
      import('./runs/runManager'),
      import('./python/interpreter'),
      import('./python/python.apis'),
    ]);
    const checker = await getEnvChecker();
    return run(
      {
        ui: vscodeUi,
        workspace: vscodeWorkspace,
        settings: vscodeSettings,
        python: { resolve: () => resolveInterpreter(vscodeInterpreterSources), check: (p) => checker.check(p) },
        runs: registry,
        launcher: { plan: manager.planLaunch, launch: (plan) => manager.launch(plan), tailOfLog: (dir) => manager.tailOfLog(dir) },
        extensionPath: context.extensionPath,
        openDashboard: (runDir) => void openDashboard(runDir),
      },
      target,
    );
  };

  const tree = new RunsTreeProvider(registry);
  const watcher = vscode.workspace.createFileSystemWatcher('**/{status.json,events.jsonl,*.sft.yaml,*.sft.json}');
  let refreshTimer: NodeJS.Timeout | undefined;
  const refreshSoon = () => {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, 300);
  };

  context.subscriptions.push(
    registry,
    tree,
    vscode.window.createTreeView(RUNS_VIEW_ID, { treeDataProvider: tree, showCollapseAll: true }),
    new RunStatusBar(registry),
    registerConfigDiagnostics(),
    vscode.languages.registerCodeLensProvider(CONFIG_SELECTOR, new RunCodeLensProvider()),
    vscode.window.registerWebviewPanelSerializer(DASHBOARD_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state) => (await getDashboards()).restore(panel, state),
    }),
    vscode.commands.registerCommand('sftStudio.startRun', (arg?: unknown) => startRun(configPathOf(arg))),
    vscode.commands.registerCommand('sftStudio.stopRun', (arg?: unknown) => stopRun(runDirOf(arg))),
    vscode.commands.registerCommand('sftStudio.openDashboard', async (arg?: unknown) => {
      const runDir = runDirOf(arg) ?? (await (await import('./commands/pickRun')).pickRun(vscodeUi, registry.list(), 'Run to show'));
      if (runDir) await openDashboard(runDir);
    }),
    vscode.commands.registerCommand('sftStudio.selectPythonInterpreter', async () => {
      const [{ selectInterpreter }, { interpreterCandidates }, fs] = await Promise.all([
        import('./python/selectInterpreter'),
        import('./python/python.apis'),
        import('node:fs'),
      ]);
      const chosen = await selectInterpreter({
        ui: vscodeUi,
        candidates: interpreterCandidates,
        exists: (file) => fs.existsSync(file),
        setPythonPath: vscodeSettings.setPythonPath,
      });
      if (chosen) (await getEnvChecker()).forget(chosen);
    }),
    vscode.commands.registerCommand('sftStudio.refreshRuns', refresh),
    watcher,
    watcher.onDidCreate(refreshSoon),
    watcher.onDidDelete(refreshSoon),
    vscode.workspace.onDidChangeWorkspaceFolders(refreshSoon),
    vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('sftStudio.runsDirectory') && refreshSoon()),
    { dispose: () => clearTimeout(refreshTimer) },
  );
  refresh();
}

export function deactivate(): void {
  // Runs are detached on purpose: they keep training after the window closes or reloads.
}

/** The code lens passes a Uri, the explorer a Uri, the palette nothing. */
function configPathOf(arg: unknown): string | undefined {
  if (arg instanceof vscode.Uri) return arg.fsPath;
  return typeof arg === 'string' ? arg : undefined;
}
