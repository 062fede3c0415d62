import * as vscode from 'vscode';
import type { PickItem, Ui } from './ui';

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
  executeCommand: (command, ...args) => Promise.resolve(vscode.commands.executeCommand(command, ...args)),
  openFile: async (file) => {
    await vscode.window.showTextDocument(vscode.Uri.file(file), { preview: true });
  },
};
