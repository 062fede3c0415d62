// Runs the trainer's exporters (argv arrays, no shell) with the extension's own trainer on PYTHONPATH:
// `export-onnx CHECKPOINT` for the chat, awaited whole, and `export CHECKPOINT --format …`, whose progress
// lines stream to a callback and which Cancel stops (SIGTERM: the exporter removes its temporary folder).
import { execFile, spawn } from 'node:child_process';
import { trainerEnv } from '../runs/trainerCommand';

export function runOnnxExport(python: string, checkpoint: string, extensionPath: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(
      python,
      ['-m', 'sft_studio', 'export-onnx', checkpoint],
      { env: { ...trainerEnv(process.env, extensionPath), HF_HUB_OFFLINE: '1' }, maxBuffer: 16 * 1024 * 1024 },
      (error, _stdout, stderr) => {
        if (!error) return resolve(undefined);
        const lines = stderr.trim().split('\n').filter(Boolean);
        resolve(lines.at(-1) ?? error.message);
      },
    );
  });
}

export interface ExportRun {
  /** Exit code; null when the process was killed by a signal or never started. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** Set when the interpreter could not be started at all. */
  spawnError?: string;
}

export interface ExportProcess {
  done: Promise<ExportRun>;
  /** SIGTERM now, SIGKILL when the process is still there `graceMs` later. */
  cancel(): void;
}

export interface ExportSpawnOptions {
  extensionPath: string;
  /** Given to the trainer as HF_TOKEN (in its environment only, never in argv). */
  hfToken?: string;
  /** HF_HUB_OFFLINE=1: exports that read only local files never wait on the network. */
  offline: boolean;
  /** Each complete stdout line, as it arrives. */
  onLine(line: string): void;
  graceMs?: number;
}

export function spawnExport(python: string, args: readonly string[], options: ExportSpawnOptions): ExportProcess {
  const env = { ...trainerEnv(process.env, options.extensionPath, options.hfToken), ...(options.offline ? { HF_HUB_OFFLINE: '1' } : {}) };
  const child = spawn(python, [...args], { env, shell: false, windowsHide: true });
  let stdout = '';
  let stderr = '';
  let pending = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    const lines = (pending + chunk).split(/\r?\n/);
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) options.onLine(line);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const done = new Promise<ExportRun>((resolve) => {
    child.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ code: null, stdout, stderr, spawnError: `${python}: ${error.code === 'ENOENT' ? 'not found' : error.message}` }),
    );
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return {
    done,
    cancel: () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }, options.graceMs ?? 10_000);
      timer.unref();
    },
  };
}
