// activate() only wires: services are created here, command bodies load their modules on first use.
import * as vscode from 'vscode';
import { vscodeSettings } from './common/settings.apis';
import { registerReportDocuments, vscodeUi } from './common/ui.apis';
import { registerConfigActions } from './commands/registerConfigActions';
import { RunLifecycle } from './commands/runLifecycle';
import { vscodeWorkspace } from './common/workspace.apis';
import { CONFIG_SELECTOR, RunCodeLensProvider } from './config/configCodeLens';
import { registerConfigDiagnostics } from './config/configDiagnostics';
import { registerConfigLanguage } from './config/configLanguage';
import { RunRegistry } from './runs/runRegistry';
import { runRoots, workspaceRunRoots } from './runs/runStore';
import { SummaryCacheFile } from './runs/summaryCache';
import { runDirOf, RunsTreeProvider, RUNS_VIEW_ID } from './views/runsTree';
import { RunStatusBar } from './views/runStatusBar';
import { registerInsight } from './insight/registerInsight';
import { registerCompare } from './commands/registerCompare';
import { registerExportCheckpoint } from './commands/registerExport';
import { PythonEnvironment } from './python/pythonEnvironment';
import { registerSweep } from './sweeps/registerSweep';
import { registerPanels } from './webviews/registerPanels';

/**
 * What activate() returns: a handle for the integration tests (test/integration), which have no other
 * way to read what a tree view shows. Not a public API; other extensions must not rely on it.
 */
export interface TestApi {
  /** The Runs view's data provider: the rows the sidebar shows. */
  readonly runsTree: vscode.TreeDataProvider<unknown>;
}

const NOTICES_KEY = 'sftStudio.announcedRuns';

export function activate(context: vscode.ExtensionContext): TestApi {
  const roots = async () =>
    runRoots({
      configPaths: await vscodeWorkspace.findConfigFiles(),
      workspaceFolders: vscodeWorkspace.folders(),
      runsDirectory: vscodeSettings.runsDirectory(),
    });
  const quickRoots = () => workspaceRunRoots(vscodeWorkspace.folders(), vscodeSettings.runsDirectory());
  // The workspace's own storage folder: the cache names this workspace's run folders.
  const cache = context.storageUri
    ? new SummaryCacheFile(vscode.Uri.joinPath(context.storageUri, 'runs-cache.json').fsPath, String(context.extension.packageJSON.version))
    : undefined;
  const registry = new RunRegistry({ roots, quickRoots, cache, stallSeconds: () => vscodeSettings.stallMinutes() * 60 });
  const refresh = () => void registry.refresh().catch((error) => console.error('[sft-studio] refresh failed', error));

  const environment = new PythonEnvironment(context);
  const panels = registerPanels(context, registry, { stopRun: (runDir) => lifecycle.stopRun(runDir) });
  const lifecycle = new RunLifecycle(context, registry, environment, (runDir) => void panels.openDashboard(runDir));

  const tree = new RunsTreeProvider(registry, lifecycle.queue, lifecycle.notes);
  const watcher = vscode.workspace.createFileSystemWatcher('**/{status.json,events.jsonl,*.sft.yaml,*.sft.json}');
  // Deleting a run folder outside VS Code reports only the folder, which the pattern above never matches;
  // any deletion may be a run (or its parent), and a refresh is cheap and debounced.
  const deletions = vscode.workspace.createFileSystemWatcher('**/*', true, true, false);
  let refreshTimer: NodeJS.Timeout | undefined;
  const refreshSoon = () => {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, 300);
  };

  context.subscriptions.push(
    registry,
    lifecycle,
    ...lifecycle.registerCommands(refresh),
    environment,
    ...environment.registerCommands(),
    ...registerConfigActions(context),
    ...registerSweep(context, registry, lifecycle),
    registerConfigLanguage(),
    registerReportDocuments(),
    tree,
    vscode.window.createTreeView(RUNS_VIEW_ID, { treeDataProvider: tree, showCollapseAll: true, canSelectMany: true }),
    ...registerCompare(() => registry.list()),
    new RunStatusBar(registry),
    registerConfigDiagnostics(),
    vscode.languages.registerCodeLensProvider(CONFIG_SELECTOR, new RunCodeLensProvider()),
    ...panels.disposables,
    watcher,
    watcher.onDidCreate(refreshSoon),
    watcher.onDidDelete(refreshSoon),
    deletions,
    deletions.onDidDelete(refreshSoon),
    vscode.workspace.onDidChangeWorkspaceFolders(refreshSoon),
    vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('sftStudio.runsDirectory') && refreshSoon()),
    { dispose: () => clearTimeout(refreshTimer) },
  );
  const resolvePython = async () => {
    const [{ resolveInterpreter }, { vscodeInterpreterSources }] = await Promise.all([import('./python/interpreter'), import('./python/python.apis')]);
    return (await resolveInterpreter(vscodeInterpreterSources))?.path;
  };
  registerInsight(context, { runDirOf, workspaceFolders: vscodeWorkspace.folders, runRoots: roots, resolvePython });
  context.subscriptions.push(registerExportCheckpoint(context, { runDirOf, resolvePython }));
  // Run endings are announced only after the first full listing, so loading old runs is never news.
  void registry.refresh().then(async () => {
    const { RunNotifier } = await import('./runs/runNotifications');
    const store = { get: () => context.workspaceState.get<Record<string, string>>(NOTICES_KEY), set: (v: Record<string, string>) => context.workspaceState.update(NOTICES_KEY, v) };
    const notifier = new RunNotifier(vscodeUi, store, vscodeSettings.notifyLevel);
    notifier.baseline(registry.list());
    context.subscriptions.push(registry.onDidChange((summary) => summary && notifier.update(summary)));
  }, (error) => console.error('[sft-studio] refresh failed', error));
  return { runsTree: tree };
}

export function deactivate(): void {
  // Runs are detached on purpose: they keep training after the window closes or reloads.
}
