import * as path from 'node:path';
import * as vscode from 'vscode';
import { revealCommand, type PickItem, type Ui } from './ui';

const REPORT_SCHEME = 'sft-studio-report';
const reports = new Map<string, string>();
const reportChanged = new vscode.EventEmitter<vscode.Uri>();

/** Serves the Markdown reports (dry run, validation) as read-only documents: nothing to save on close. */
export function registerReportDocuments(): vscode.Disposable {
  return vscode.Disposable.from(
    reportChanged,
    vscode.workspace.registerTextDocumentContentProvider(REPORT_SCHEME, {
      onDidChange: reportChanged.event,
      provideTextDocumentContent: (uri) => reports.get(uri.toString()) ?? '',
    }),
  );
}

function insideWorkspace(file: string): boolean {
  return (vscode.workspace.workspaceFolders ?? []).some((f) => {
    const relative = path.relative(f.uri.fsPath, file);
    return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
  });
}

export const vscodeUi: Ui = {
  showError: (message, ...buttons) => Promise.resolve(vscode.window.showErrorMessage(message, ...buttons)),
  showWarning: (message, ...buttons) => Promise.resolve(vscode.window.showWarningMessage(message, ...buttons)),
  showInfo: (message, ...buttons) => Promise.resolve(vscode.window.showInformationMessage(message, ...buttons)),
  pick: <T extends PickItem>(items: readonly T[], placeHolder: string) =>
    Promise.resolve(vscode.window.showQuickPick(items, { placeHolder, matchOnDescription: true })),
  input: (options) =>
    Promise.resolve(
      vscode.window.showInputBox({
        prompt: options.prompt,
        value: options.value,
        password: options.password,
        ignoreFocusOut: true,
        validateInput: options.validate,
      }),
    ),
  withProgress: (title, task) =>
    Promise.resolve(
      vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title, cancellable: true },
        (progress, token) =>
          task({
            report: (message) => progress.report({ message }),
            onCancel: (listener) => void token.onCancellationRequested(listener),
          }),
      ),
    ),
  confirm: async (message, detail, action) =>
    (await vscode.window.showWarningMessage(message, { modal: true, detail }, action)) === action,
  executeCommand: (command, ...args) => Promise.resolve(vscode.commands.executeCommand(command, ...args)),
  openFile: async (file) => {
    await vscode.window.showTextDocument(vscode.Uri.file(file), { preview: true });
  },
  reveal: async (file) => {
    const command = revealCommand(insideWorkspace(file), vscode.env.remoteName);
    if (command) return void (await vscode.commands.executeCommand(command, vscode.Uri.file(file)));
    const COPY = 'Copy Path';
    const choice = await vscode.window.showInformationMessage(
      `SFT Studio: ${file} is on the remote machine (${vscode.env.remoteName}), outside this window's folders; open it with File > Open Folder, or copy its path.`,
      COPY,
    );
    if (choice === COPY) await vscode.env.clipboard.writeText(file);
  },
  showMarkdown: async (title, markdown) => {
    // The .md suffix gives the document the Markdown language, which the preview needs.
    const uri = vscode.Uri.from({ scheme: REPORT_SCHEME, path: `/${title.replace(/[\\/]/g, '_')}.md` });
    reports.set(uri.toString(), markdown);
    reportChanged.fire(uri);
    try {
      await vscode.commands.executeCommand('markdown.showPreview', uri);
    } catch {
      // No Markdown extension (it can be disabled): the source is readable too.
      await vscode.window.showTextDocument(uri, { preview: true });
    }
  },
};
