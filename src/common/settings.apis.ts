import * as vscode from 'vscode';
import { SETTING_SECTION, type Settings } from './settings';

const config = () => vscode.workspace.getConfiguration(SETTING_SECTION);

export const vscodeSettings: Settings = {
  pythonPath: () => config().get<string>('pythonPath')?.trim() || undefined,
  runOverrides: () => {
    const value = config().get<unknown>('runOverrides');
    return Array.isArray(value) ? value : [];
  },
  runsDirectory: () => config().get<string>('runsDirectory')?.trim() || 'runs',
  stopGraceSeconds: () => Math.max(0, config().get<number>('stopGracePeriodSeconds') ?? 30),
  openDashboardOnStart: () => config().get<boolean>('openDashboardOnStart') ?? true,
  maxConcurrentRuns: () => Math.max(1, Math.floor(config().get<number>('maxConcurrentRuns') ?? 1)),
  stallMinutes: () => Math.max(1, config().get<number>('stallMinutes') ?? 15),
  notifyLevel: () => {
    const value = config().get<string>('notifications');
    return value === 'failures' || value === 'off' ? value : 'all';
  },
  setPythonPath: async (path) => {
    // Per workspace when there is one: interpreters are usually a project's own .venv.
    const target = vscode.workspace.workspaceFolders?.length
      ? vscode.ConfigurationTarget.Workspace
      : vscode.ConfigurationTarget.Global;
    await config().update('pythonPath', path, target);
  },
};
