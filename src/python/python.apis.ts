import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { vscodeSettings } from '../common/settings.apis';
import { venvPython, type InterpreterSources } from './interpreter';
import type { InterpreterCandidate } from './selectInterpreter';

const PYTHON_EXTENSION_ID = 'ms-python.python';

type PythonApi = Awaited<ReturnType<(typeof import('@vscode/python-extension'))['PythonExtension']['api']>>;

async function pythonApi(): Promise<PythonApi | undefined> {
  // Only touch the Python extension when it is installed: api() would otherwise wait for it.
  if (!vscode.extensions.getExtension(PYTHON_EXTENSION_ID)) return undefined;
  const { PythonExtension } = await import('@vscode/python-extension');
  return PythonExtension.api();
}

async function activeInterpreter(): Promise<string | undefined> {
  const api = await pythonApi();
  if (!api) return undefined;
  const resource = vscode.workspace.workspaceFolders?.[0]?.uri;
  const envPath = api.environments.getActiveEnvironmentPath(resource);
  const resolved = await api.environments.resolveEnvironment(envPath);
  return resolved?.executable.uri?.fsPath ?? envPath.path;
}

const folders = () => (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);

export const vscodeInterpreterSources: InterpreterSources = {
  settingPath: () => vscodeSettings.pythonPath(),
  pythonExtensionInterpreter: activeInterpreter,
  workspaceFolders: folders,
  exists: (file) => fs.existsSync(file),
  platform: process.platform,
};

function onPath(name: string): Promise<string | undefined> {
  const finder = process.platform === 'win32' ? 'where' : 'which';
  return new Promise((resolve) =>
    execFile(finder, [name], { timeout: 5000 }, (error, stdout) =>
      resolve(error ? undefined : String(stdout).split(/\r?\n/)[0]?.trim() || undefined),
    ),
  );
}

/** Every interpreter worth offering in the quick pick, most specific first. */
export async function interpreterCandidates(): Promise<InterpreterCandidate[]> {
  const found: InterpreterCandidate[] = [];
  const setting = vscodeSettings.pythonPath();
  if (setting) found.push({ path: setting, origin: 'current setting' });
  for (const folder of folders()) {
    const venv = venvPython(folder, process.platform);
    if (fs.existsSync(venv)) found.push({ path: venv, origin: 'workspace .venv' });
  }
  try {
    const api = await pythonApi();
    if (api) {
      const active = await activeInterpreter();
      if (active) found.push({ path: active, origin: 'Python extension (active)' });
      for (const env of api.environments.known) {
        const executable = env.executable.uri?.fsPath;
        if (executable) found.push({ path: executable, origin: 'Python extension' });
      }
    }
  } catch {
    // The Python extension is optional; its failure only shortens the list.
  }
  for (const name of ['python3', 'python']) {
    const resolved = await onPath(name);
    if (resolved) found.push({ path: resolved, origin: 'on PATH' });
  }
  return found;
}
