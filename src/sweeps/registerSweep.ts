// Wiring of sweeps: the `▶ Sweep` lens on configs with a `sweep:` block, "Start Sweep" and "Open Sweep", the
// SweepRunner fed by the run registry's changes, and the Sweep panel (restored after a reload).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { vscodeUi } from '../common/ui.apis';
import { vscodeWorkspace } from '../common/workspace.apis';
import { lazy } from '../common/lazy';
import { configActionDeps, configPathOf } from '../commands/registerConfigActions';
import type { RunLifecycle } from '../commands/runLifecycle';
import { CONFIG_SELECTOR } from '../config/configCodeLens';
import { SWEEP_VIEW_TYPE } from '../protocol/sweep';
import type { RunRegistry } from '../runs/runRegistry';
import { runDirOf } from '../views/runsTree';
import { hasSweepBlock, parseSweepDoc, sweepDirOfRun, SWEEP_FILE } from './sweepFile';
import { SweepRunner } from './sweepRunner';

export const SWEEP_LENS_TITLE = '▶ Sweep';

class SweepCodeLensProvider implements vscode.CodeLensProvider {
  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    if (!hasSweepBlock(document.getText())) return [];
    return [
      new vscode.CodeLens(new vscode.Range(0, 0, 0, 0), {
        title: SWEEP_LENS_TITLE,
        tooltip: "SFT Studio: start one run per trial of this config's sweep: block (through the run queue)",
        command: 'sftStudio.startSweep',
        arguments: [document.uri],
      }),
    ];
  }
}

export function registerSweep(context: vscode.ExtensionContext, registry: RunRegistry, lifecycle: RunLifecycle): vscode.Disposable[] {
  const openDashboard = (runDir: string) => void vscode.commands.executeCommand('sftStudio.openDashboard', runDir);
  const runner = new SweepRunner({
    next: async (sweepDir, count) => {
      const [{ nextArgs, sweepFailure }, { lastJsonLine }, deps, python] = await Promise.all([
        import('./startSweep'),
        import('../python/trainerCli'),
        configActionDeps(context),
        lifecycle.launchDeps().then((d) => d.python.resolve()),
      ]);
      if (!python) throw new Error('no Python interpreter');
      const result = await deps.runCli(python.path, nextArgs(sweepDir, count), { cwd: sweepDir, extensionPath: context.extensionPath });
      const doc = result.code === 0 ? parseSweepDoc(lastJsonLine(result.stdout)) : undefined;
      if (!doc) throw new Error(sweepFailure(result.stdout, result.stderr));
      return doc;
    },
    submit: (doc, trial) =>
      void (async () => {
        const [{ submitTrial }, deps] = await Promise.all([import('./startSweep'), lifecycle.launchDeps()]);
        const python = await deps.python.resolve();
        if (!python) return void vscodeUi.showError(`SFT Studio: sweep ${doc.id} #${trial.index}: no Python interpreter to start it with.`);
        submitTrial(deps, python.path, doc, trial);
      })().catch((error) => void vscodeUi.showError(`SFT Studio: sweep ${doc.id} #${trial.index} could not start: ${(error as Error).message}`)),
    report: (message) => void vscodeUi.showError(message),
  });

  const panels = lazy(async () => new (await import('./sweepPanel')).SweepPanels(context.extensionUri, registry, openDashboard));

  return [
    runner,
    registry.onDidChange((summary) => summary && void runner.runChanged(summary.runDir, summary.state)),
    vscode.languages.registerCodeLensProvider(CONFIG_SELECTOR, new SweepCodeLensProvider()),
    vscode.commands.registerCommand('sftStudio.startSweep', async (arg?: unknown) => {
      const configPath = configPathOf(arg) ?? vscodeWorkspace.activeConfigPath();
      if (!configPath) return void vscodeUi.showInfo('SFT Studio: open a *.sft.yaml run config with a `sweep:` block first.');
      const [{ startSweep }, deps, actions] = await Promise.all([import('./startSweep'), lifecycle.launchDeps(), configActionDeps(context)]);
      const doc = await startSweep({ ...deps, runCli: actions.runCli }, runner, configPath);
      if (doc) {
        await registry.refresh();
        await (await panels.get()).open(doc.sweepDir);
      }
    }),
    vscode.commands.registerCommand('sftStudio.openSweep', async (arg?: unknown) => {
      const runDir = runDirOf(arg);
      let sweepDir = runDir ? sweepDirOfRun(runDir) : arg instanceof vscode.Uri ? path.dirname(arg.fsPath) : undefined;
      if (!sweepDir && !runDir) {
        const picked = await vscode.window.showOpenDialog({ canSelectFiles: true, filters: { 'Sweep file': ['json'] }, openLabel: 'Open this sweep' });
        sweepDir = picked?.[0] && path.basename(picked[0].fsPath) === SWEEP_FILE ? path.dirname(picked[0].fsPath) : undefined;
      }
      if (!sweepDir) return void vscodeUi.showInfo('SFT Studio: that run is not a trial of a sweep (its folder has no sweep.json beside it).');
      await (await panels.get()).open(sweepDir);
    }),
    vscode.window.registerWebviewPanelSerializer(SWEEP_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state) => (await panels.get()).restore(panel, state),
    }),
    { dispose: () => panels.current()?.dispose() },
  ];
}
