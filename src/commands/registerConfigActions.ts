// The run config's own commands: Dry Run, Estimate Memory, Validate Config and New Run Config. They read a
// config and ask the trainer about it; none starts a run (that is runLifecycle's).
import * as vscode from 'vscode';
import { HF_TOKEN_SECRET } from '../common/hfToken';
import { vscodeSettings } from '../common/settings.apis';
import { vscodeUi } from '../common/ui.apis';
import { vscodeWorkspace } from '../common/workspace.apis';
import type { ReportFocus } from '../config/dryRunReport';
import type { RunCli } from '../python/trainerCli';

/** The code lens passes a Uri, the explorer a Uri, the palette nothing. */
export function configPathOf(arg: unknown): string | undefined {
  if (arg instanceof vscode.Uri) return arg.fsPath;
  return typeof arg === 'string' ? arg : undefined;
}

/** What a config action needs: the interpreter and a trainer CLI runner with the Hub token (also the sweeps'). */
export async function configActionDeps(context: vscode.ExtensionContext) {
  const [{ resolveInterpreter }, { vscodeInterpreterSources }, { runTrainerCli }, hfToken] = await Promise.all([
    import('../python/interpreter'),
    import('../python/python.apis'),
    import('../python/trainerCli'),
    context.secrets.get(HF_TOKEN_SECRET),
  ]);
  // A dry run of a Hub model fetches its config and tokenizer, which a gated model needs the token for.
  const runCli: RunCli = (python, args, options) => runTrainerCli(python, args, { ...options, hfToken });
  return {
    ui: vscodeUi,
    workspace: vscodeWorkspace,
    settings: vscodeSettings,
    resolvePython: () => resolveInterpreter(vscodeInterpreterSources),
    runCli,
    extensionPath: context.extensionPath,
  };
}

export function registerConfigActions(context: vscode.ExtensionContext): vscode.Disposable[] {
  const dryRun = async (arg: unknown, focus: ReportFocus) => {
    const configPath = configPathOf(arg) ?? vscodeWorkspace.activeConfigPath();
    if (!configPath) return void vscodeUi.showInfo('SFT Studio: open a *.sft.yaml run config first.');
    const { dryRunConfig } = await import('./configActions');
    return dryRunConfig(await configActionDeps(context), configPath, focus);
  };
  return [
    vscode.commands.registerCommand('sftStudio.dryRun', (arg?: unknown) => dryRun(arg, 'all')),
    vscode.commands.registerCommand('sftStudio.estimateMemory', (arg?: unknown) => dryRun(arg, 'memory')),
    vscode.commands.registerCommand('sftStudio.validateConfig', async (arg?: unknown) => {
      const configPath = configPathOf(arg) ?? vscodeWorkspace.activeConfigPath();
      if (!configPath) return void vscodeUi.showInfo('SFT Studio: open a *.sft.yaml run config to validate it.');
      const { validateConfigCommand } = await import('./configActions');
      return validateConfigCommand(await configActionDeps(context), configPath);
    }),
    vscode.commands.registerCommand('sftStudio.newRunConfig', async () => {
      const [{ newRunConfig }, fs] = await Promise.all([import('./newRunConfig'), import('node:fs')]);
      return newRunConfig({
        ui: vscodeUi,
        folder: () => vscodeWorkspace.folders()[0],
        exists: (file) => fs.existsSync(file),
        writeFile: (file, text) => fs.promises.writeFile(file, text, { flag: 'wx' }),
      });
    }),
  ];
}
