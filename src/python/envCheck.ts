import { execFile } from 'node:child_process';

export interface EnvCheck {
  ok: boolean;
  /** Why not, in the interpreter's own words (the last line of its error). */
  detail?: string;
}

export type ExecFn = (file: string, args: readonly string[]) => Promise<void>;

const CHECK_ARGS = ['-c', 'import torch, transformers'] as const;

const execCheck: ExecFn = (file, args) =>
  new Promise((resolve, reject) => {
    // Importing torch can take tens of seconds on a cold disk.
    execFile(file, [...args], { timeout: 180_000, windowsHide: true }, (error, _stdout, stderr) => {
      if (error) reject(Object.assign(error, { stderr: String(stderr) }));
      else resolve();
    });
  });

/**
 * Checks once per interpreter that the training packages import. Successes are cached for the
 * session; failures are not, so installing torch is noticed on the next start.
 */
export class TrainingEnvChecker {
  private readonly cache = new Map<string, Promise<EnvCheck>>();

  constructor(private readonly exec: ExecFn = execCheck) {}

  check(python: string): Promise<EnvCheck> {
    let pending = this.cache.get(python);
    if (!pending) {
      pending = this.exec(python, CHECK_ARGS).then(
        () => ({ ok: true }),
        (error: NodeJS.ErrnoException & { stderr?: string }) => {
          this.cache.delete(python);
          return { ok: false, detail: describeFailure(python, error) };
        },
      );
      this.cache.set(python, pending);
    }
    return pending;
  }

  forget(python: string): void {
    this.cache.delete(python);
  }
}

function describeFailure(python: string, error: NodeJS.ErrnoException & { stderr?: string }): string {
  if (error.code === 'ENOENT') return `${python} not found`;
  if (error.code === 'EACCES') return `${python} is not executable`;
  const lines = (error.stderr ?? '').trim().split(/\r?\n/);
  return lines[lines.length - 1] || error.message;
}
