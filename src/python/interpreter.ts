import * as os from 'node:os';
import * as path from 'node:path';

export type InterpreterSource = 'setting' | 'python-extension' | 'workspace-venv';

export interface ResolvedInterpreter {
  path: string;
  source: InterpreterSource;
}

/** Where interpreters can come from; python.apis.ts implements it, tests fake it. */
export interface InterpreterSources {
  settingPath(): string | undefined;
  /** Undefined when the Python extension is not installed or has no active interpreter. */
  pythonExtensionInterpreter(): Promise<string | undefined>;
  workspaceFolders(): string[];
  exists(file: string): boolean;
  platform: NodeJS.Platform;
}

export function venvPython(folder: string, platform: NodeJS.Platform): string {
  return platform === 'win32'
    ? path.join(folder, '.venv', 'Scripts', 'python.exe')
    : path.join(folder, '.venv', 'bin', 'python');
}

/** `~/x` and workspace-relative settings become absolute; a bare `python3` is left to PATH. */
export function expandSettingPath(value: string, workspaceFolders: readonly string[]): string {
  if (value === '~' || value.startsWith('~/')) return path.join(os.homedir(), value.slice(1));
  if (path.isAbsolute(value) || !/[\\/]/.test(value)) return value;
  return workspaceFolders.length > 0 ? path.resolve(workspaceFolders[0], value) : path.resolve(value);
}

/**
 * The house order: the sftStudio.pythonPath setting, the Python extension's active interpreter,
 * then a `.venv` in a workspace folder. A set but missing setting still wins, so the user sees
 * that their setting is wrong instead of silently training with another Python.
 */
export async function resolveInterpreter(sources: InterpreterSources): Promise<ResolvedInterpreter | undefined> {
  const setting = sources.settingPath();
  if (setting) return { path: expandSettingPath(setting, sources.workspaceFolders()), source: 'setting' };

  const fromExtension = await sources.pythonExtensionInterpreter().catch(() => undefined);
  if (fromExtension) return { path: fromExtension, source: 'python-extension' };

  for (const folder of sources.workspaceFolders()) {
    const candidate = venvPython(folder, sources.platform);
    if (sources.exists(candidate)) return { path: candidate, source: 'workspace-venv' };
  }
  return undefined;
}
