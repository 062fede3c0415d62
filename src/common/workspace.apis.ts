import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { CONFIG_GLOB, isRunConfigPath } from '../config/configFiles';
import type { WorkspaceFacts } from './workspace';

export const vscodeWorkspace: WorkspaceFacts = {
  isTrusted: () => vscode.workspace.isTrusted,
  folders: () => (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath),
  activeConfigPath: () => {
    const document = vscode.window.activeTextEditor?.document;
    return document?.uri.scheme === 'file' && isRunConfigPath(document.uri.fsPath) ? document.uri.fsPath : undefined;
  },
  findConfigFiles: async () =>
    (await vscode.workspace.findFiles(CONFIG_GLOB, '**/node_modules/**'))
      .map((uri) => uri.fsPath)
      .sort(),
  saveAndRead: async (file) => {
    const open = vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'file' && d.uri.fsPath === file);
    if (open?.isDirty) await open.save();
    return open ? open.getText() : fs.promises.readFile(file, 'utf8');
  },
  asRelativePath: (file) => vscode.workspace.asRelativePath(file, false),
};
