// The run config editor in the real extension host: the lenses VS Code collects from both of the
// extension's code lens providers, and the diagnostics the workbench holds for a config with a typo.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { suite, test } from 'mocha';
import * as vscode from 'vscode';
import { activatedExtension, waitFor, workspaceFolder } from './helpers';

/** The lenses of the first line, title → command; the first four come from one provider in this order. */
const FIRST_LINE_LENSES: Record<string, string> = {
  '▶ Run': 'sftStudio.startRun',
  'Dry run': 'sftStudio.dryRun',
  Validate: 'sftStudio.validateConfig',
  'Estimate memory': 'sftStudio.estimateMemory',
  'Preview tokens': 'sftStudio.previewTokens',
};

// Line 3, column 1 holds the typo.
const TYPO_TEXT = ['model_name_or_path: tiny-llama', 'train_file: data/instruct_train.jsonl', 'learnign_rate: 1.0e-4', 'max_length: 64', ''].join('\n');

function ours(uri: vscode.Uri): vscode.Diagnostic[] {
  return vscode.languages.getDiagnostics(uri).filter((d) => d.source === 'SFT Studio');
}

suite('run config editor', () => {
  test('demo.sft.yaml carries ▶ Run, Dry run, Validate, Estimate memory and Preview tokens on its first line', async () => {
    await activatedExtension();
    const uri = vscode.Uri.file(path.join(workspaceFolder(), 'demo.sft.yaml'));
    await vscode.window.showTextDocument(uri);
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri);
    const firstLine = lenses
      .filter((lens) => lens.range.start.line === 0 && lens.command)
      .map((lens) => ({
        title: lens.command!.title,
        command: lens.command!.command,
        file: (lens.command!.arguments?.[0] as vscode.Uri | undefined)?.fsPath,
      }));
    assert.deepEqual(
      [...firstLine].sort((a, b) => a.title.localeCompare(b.title)),
      Object.entries(FIRST_LINE_LENSES)
        .map(([title, command]) => ({ title, command, file: uri.fsPath }))
        .sort((a, b) => a.title.localeCompare(b.title)),
    );
    const runLenses = firstLine.map((l) => l.title).filter((t) => t !== 'Preview tokens');
    assert.deepEqual(runLenses, ['▶ Run', 'Dry run', 'Validate', 'Estimate memory'], 'order of the run lenses');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  test('a typo’d key is reported at its line and column, and the report clears once the key is fixed', async () => {
    await activatedExtension();
    const file = path.join(workspaceFolder(), 'typo.sft.yaml');
    fs.writeFileSync(file, TYPO_TEXT);
    const uri = vscode.Uri.file(file);
    try {
      const editor = await vscode.window.showTextDocument(uri);
      const diagnostics = await waitFor(() => (ours(uri).length > 0 ? ours(uri) : undefined), 'SFT Studio diagnostics on typo.sft.yaml');
      assert.deepEqual(
        diagnostics.map((d) => ({
          message: d.message,
          severity: d.severity,
          at: `${d.range.start.line + 1}:${d.range.start.character + 1}-${d.range.end.line + 1}:${d.range.end.character + 1}`,
        })),
        [{ message: 'unknown field "learnign_rate"; did you mean "learning_rate"?', severity: vscode.DiagnosticSeverity.Error, at: '3:1-3:14' }],
      );
      assert.ok(await editor.edit((edit) => edit.replace(diagnostics[0]!.range, 'learning_rate')), 'the edit was not applied');
      await waitFor(() => (ours(uri).length === 0 ? true : undefined), 'the diagnostic to clear after the key was fixed');
    } finally {
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
      fs.rmSync(file, { force: true });
    }
  });
});
