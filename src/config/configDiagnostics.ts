import * as vscode from 'vscode';
import { isRunConfigPath } from './configFiles';
import type { ConfigProblem } from './validateConfig';

const DEBOUNCE_MS = 250;

function isConfigDocument(document: vscode.TextDocument): boolean {
  return document.uri.scheme === 'file' && isRunConfigPath(document.uri.fsPath);
}

function toDiagnostic(problem: ConfigProblem): vscode.Diagnostic {
  // ConfigProblem is 1-based like the CLI; VS Code positions are 0-based.
  const range = new vscode.Range(problem.line - 1, problem.column - 1, problem.endLine - 1, problem.endColumn - 1);
  const diagnostic = new vscode.Diagnostic(
    range,
    problem.message,
    problem.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning,
  );
  diagnostic.source = 'SFT Studio';
  diagnostic.code = problem.code;
  return diagnostic;
}

/** Validates open run configs as they are typed and publishes the problems. */
export function registerConfigDiagnostics(): vscode.Disposable {
  const collection = vscode.languages.createDiagnosticCollection('sftStudio.config');
  const timers = new Map<string, NodeJS.Timeout>();

  const validateNow = async (document: vscode.TextDocument) => {
    if (!isConfigDocument(document) || document.isClosed) return;
    // The validator (ajv) loads on first use rather than at activation.
    const { validateConfigText } = await import('./validateConfig');
    const { problems } = validateConfigText(document.getText(), { configPath: document.uri.fsPath });
    collection.set(document.uri, problems.map(toDiagnostic));
  };
  const schedule = (document: vscode.TextDocument) => {
    if (!isConfigDocument(document)) return;
    const key = document.uri.toString();
    clearTimeout(timers.get(key));
    timers.set(key, setTimeout(() => void validateNow(document), DEBOUNCE_MS));
  };
  // Referenced data files may appear or vanish: re-check every open config.
  const revalidateAll = () => vscode.workspace.textDocuments.forEach(schedule);

  vscode.workspace.textDocuments.forEach((d) => void validateNow(d));
  return vscode.Disposable.from(
    collection,
    vscode.workspace.onDidOpenTextDocument((d) => void validateNow(d)),
    vscode.workspace.onDidChangeTextDocument((e) => schedule(e.document)),
    vscode.workspace.onDidSaveTextDocument(revalidateAll),
    vscode.workspace.onDidCreateFiles(revalidateAll),
    vscode.workspace.onDidDeleteFiles(revalidateAll),
    vscode.workspace.onDidRenameFiles(revalidateAll),
    vscode.window.onDidChangeWindowState((s) => s.focused && revalidateAll()),
    vscode.workspace.onDidCloseTextDocument((d) => collection.delete(d.uri)),
    { dispose: () => timers.forEach((t) => clearTimeout(t)) },
  );
}
