// Runs `python -m sft_studio export-onnx CHECKPOINT` (argv array, no shell) with the extension's own
// trainer on PYTHONPATH; resolves to undefined on success or the error the exporter printed.
import { execFile } from 'node:child_process';
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
