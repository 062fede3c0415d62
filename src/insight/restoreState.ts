// What the reload serializers of the tokens and chat panels accept. The state comes back from the
// webview (its setState), so it is treated as input: the shape is checked by the protocol guard, and
// the path it names must be absolute, normalised, inside one of the given roots (after resolving
// symbolic links) and of the right kind. A restored chat never runs the ONNX exporter: it reopens
// only a checkpoint that already has its export.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isRunConfigPath } from '../config/configFiles';
import { isChatWebviewState, type ChatWebviewState } from '../protocol/chat';
import { isTokensWebviewState, type TokensWebviewState } from '../protocol/tokens';
import { hasOnnxExport } from './onnxChat';

export type Restored<T> = { ok: true; value: T } | { ok: false; reason: string };

const refuse = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

function realpath(file: string): string | undefined {
  try {
    return fs.realpathSync(file);
  } catch {
    return undefined;
  }
}

/** True when `file` is `root` or below it. */
export function isInside(file: string, root: string): boolean {
  const relative = path.relative(root, file);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/** Why `file` may not be restored, or undefined when it may: well formed and inside a root. */
function pathProblem(file: string, roots: readonly string[]): string | undefined {
  if (file.includes('\0') || !path.isAbsolute(file) || path.normalize(file) !== file) return `not an absolute, normalised path: ${JSON.stringify(file)}`;
  const real = realpath(file);
  if (real === undefined) return `${file} does not exist`;
  const realRoots = roots.map((root) => realpath(path.resolve(root))).filter((root): root is string => root !== undefined);
  if (!realRoots.some((root) => isInside(real, root))) return `${file} is outside the workspace folders${roots.length ? ` (${roots.join(', ')})` : ''}`;
  return undefined;
}

/** The tokens panel to reopen: a run config file inside `roots` (the workspace folders). */
export function restoreTokensState(state: unknown, roots: readonly string[]): Restored<TokensWebviewState> {
  if (!isTokensWebviewState(state)) return refuse('malformed tokens panel state');
  const problem = pathProblem(state.configPath, roots);
  if (problem) return refuse(problem);
  if (!isRunConfigPath(state.configPath)) return refuse(`${state.configPath} is not a *.sft.yaml or *.sft.json run config`);
  if (!fs.statSync(state.configPath).isFile()) return refuse(`${state.configPath} is not a file`);
  return { ok: true, value: state };
}

/** The chat panel to reopen: a checkpoint folder inside `roots` that already has its ONNX export. */
export function restoreChatState(state: unknown, roots: readonly string[]): Restored<ChatWebviewState> {
  if (!isChatWebviewState(state)) return refuse('malformed chat panel state');
  const problem = pathProblem(state.checkpoint, roots);
  if (problem) return refuse(problem);
  if (!fs.statSync(state.checkpoint).isDirectory()) return refuse(`${state.checkpoint} is not a folder`);
  if (!hasOnnxExport(state.checkpoint)) return refuse(`${state.checkpoint} has no ONNX export to chat with`);
  return { ok: true, value: state };
}
