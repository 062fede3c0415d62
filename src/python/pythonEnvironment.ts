// The training environment's commands (Set Up Training Environment, Select Python Interpreter, the Hugging
// Face token) and the checker that remembers which interpreters have the trainer's packages: one object, so
// choosing or setting up an interpreter makes the next start check it afresh.
import * as vscode from 'vscode';
import { vscodeSettings } from '../common/settings.apis';
import { vscodeUi } from '../common/ui.apis';
import { vscodeWorkspace } from '../common/workspace.apis';
import { lazy } from '../common/lazy';
import type { TrainingEnvChecker } from './envCheck';

export class PythonEnvironment implements vscode.Disposable {
  private readonly envChecker = lazy(async () => new (await import('./envCheck')).TrainingEnvChecker());
  private setupOutput: vscode.OutputChannel | undefined;

  constructor(private readonly context: vscode.ExtensionContext) {}

  /** Whether an interpreter has the trainer's packages (answers are remembered until `forget`). */
  checker(): Promise<TrainingEnvChecker> {
    return this.envChecker.get();
  }

  async forget(python: string): Promise<void> {
    (await this.checker()).forget(python);
  }

  registerCommands(): vscode.Disposable[] {
    return [
      vscode.commands.registerCommand('sftStudio.setUpEnvironment', () => this.setUp()),
      vscode.commands.registerCommand('sftStudio.selectPythonInterpreter', () => this.select()),
      vscode.commands.registerCommand('sftStudio.setHuggingFaceToken', async () => (await import('../common/hfToken')).setHfToken(vscodeUi, this.context.secrets)),
      vscode.commands.registerCommand('sftStudio.clearHuggingFaceToken', async () => (await import('../common/hfToken')).clearHfToken(vscodeUi, this.context.secrets)),
    ];
  }

  dispose(): void {
    this.setupOutput?.dispose();
  }

  private async select(): Promise<void> {
    const [{ selectInterpreter }, { interpreterCandidates }, fs] = await Promise.all([import('./selectInterpreter'), import('./python.apis'), import('node:fs')]);
    const chosen = await selectInterpreter({
      ui: vscodeUi,
      candidates: interpreterCandidates,
      exists: (file) => fs.existsSync(file),
      setPythonPath: vscodeSettings.setPythonPath,
    });
    if (chosen) await this.forget(chosen);
  }

  private async setUp(): Promise<void> {
    const [{ setUpEnvironment, spawnStreaming }, fs] = await Promise.all([import('./setupEnvironment'), import('node:fs')]);
    const output = (this.setupOutput ??= vscode.window.createOutputChannel('SFT Studio: environment setup'));
    const python = await setUpEnvironment({
      ui: vscodeUi,
      isTrusted: vscodeWorkspace.isTrusted,
      folder: () => vscodeWorkspace.folders()[0],
      extensionPath: this.context.extensionPath,
      exists: (file) => fs.existsSync(file),
      run: spawnStreaming,
      log: (line) => output.appendLine(line),
      showLog: () => output.show(true),
      setPythonPath: vscodeSettings.setPythonPath,
      platform: process.platform,
      basePythons: process.platform === 'win32' ? ['py', 'python'] : ['python3', 'python'],
    });
    if (python) await this.forget(python);
  }
}
