// Short trainer commands the editor runs and waits for (validate, dry run): argv arrays, no shell,
// the bundled trainer on PYTHONPATH, output captured for a report.
import { execFile } from 'node:child_process';
import { trainerEnv } from '../runs/trainerCommand';

export interface CliResult {
  /** Exit code; null when killed (timeout) or never started. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** Set when the interpreter could not be started at all. */
  spawnError?: string;
}

export type RunCli = (
  python: string,
  args: readonly string[],
  options: { cwd: string; extensionPath: string; timeoutMs?: number; hfToken?: string },
) => Promise<CliResult>;

export const runTrainerCli: RunCli = (python, args, options) =>
  new Promise((resolve) => {
    execFile(
      python,
      ['-m', 'sft_studio', ...args],
      {
        cwd: options.cwd,
        env: trainerEnv(process.env, options.extensionPath, options.hfToken),
        timeout: options.timeoutMs ?? 300_000,
        maxBuffer: 16 * 1024 * 1024,
        windowsHide: true,
        shell: false,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        const spawnError = error && typeof error.code === 'string' ? `${python}: ${error.code === 'ENOENT' ? 'not found' : error.code}` : undefined;
        resolve({ code, stdout: String(stdout), stderr: String(stderr), spawnError });
      },
    );
  });

/** The last non-empty stdout line parsed as a JSON object (the trainer's `--json` contract), if it is one. */
export function lastJsonLine(stdout: string): Record<string, unknown> | undefined {
  const line = stdout.trim().split(/\r?\n/).at(-1)?.trim();
  if (!line?.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
