import { execFile } from 'node:child_process';

/** The accelerator torch sees: ROCm builds report through torch.cuda too, so torch.version.hip tells them apart. */
export type TorchDevice = 'cuda' | 'rocm' | 'mps' | 'cpu';

export interface EnvCheck {
  ok: boolean;
  /** Why not, in the interpreter's own words (the last line of its error). */
  detail?: string;
  torchVersion?: string;
  device?: TorchDevice;
  gpuCount?: number;
}

/** Resolves to the program's stdout; rejects with `stderr` attached when it fails. */
export type ExecFn = (file: string, args: readonly string[]) => Promise<string | void>;

// One line of JSON, so the device report cannot be confused with warnings printed on import.
const PROBE = [
  'import json, torch, transformers',
  'cuda = torch.cuda.is_available()',
  'mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())',
  'device = ("rocm" if getattr(torch.version, "hip", None) else "cuda") if cuda else ("mps" if mps else "cpu")',
  'print(json.dumps({"torch": torch.__version__, "device": device, "gpus": torch.cuda.device_count() if cuda else 0}))',
].join('\n');

export const CHECK_ARGS = ['-c', PROBE] as const;

const execCheck: ExecFn = (file, args) =>
  new Promise((resolve, reject) => {
    // Importing torch can take tens of seconds on a cold disk.
    execFile(file, [...args], { timeout: 180_000, windowsHide: true }, (error, stdout, stderr) => {
      if (error) reject(Object.assign(error, { stderr: String(stderr) }));
      else resolve(String(stdout));
    });
  });

/**
 * Checks once per interpreter that the training packages import, and which device torch sees.
 * Successes are cached for the session; failures are not, so installing torch is noticed on the next start.
 */
export class TrainingEnvChecker {
  private readonly cache = new Map<string, Promise<EnvCheck>>();

  constructor(private readonly exec: ExecFn = execCheck) {}

  check(python: string): Promise<EnvCheck> {
    let pending = this.cache.get(python);
    if (!pending) {
      pending = this.exec(python, CHECK_ARGS).then(
        (stdout) => ({ ok: true, ...parseProbe(stdout ?? '') }),
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

/** `torch 2.13.0 · CPU` or `torch 2.11.0 · CUDA × 8`. */
export function describeEnv(env: EnvCheck): string {
  const device = env.device === 'mps' ? 'Apple MPS' : (env.device ?? 'unknown device').toUpperCase();
  const count = env.gpuCount && env.gpuCount > 1 ? ` × ${env.gpuCount}` : '';
  return `torch ${env.torchVersion ?? '?'} · ${device}${count}`;
}

function parseProbe(stdout: string): Pick<EnvCheck, 'torchVersion' | 'device' | 'gpuCount'> {
  const last = stdout.trim().split(/\r?\n/).at(-1) ?? '';
  try {
    const value = JSON.parse(last) as { torch?: unknown; device?: unknown; gpus?: unknown };
    const devices: readonly string[] = ['cuda', 'rocm', 'mps', 'cpu'];
    return {
      torchVersion: typeof value.torch === 'string' ? value.torch : undefined,
      device: typeof value.device === 'string' && devices.includes(value.device) ? (value.device as TorchDevice) : undefined,
      gpuCount: typeof value.gpus === 'number' ? value.gpus : undefined,
    };
  } catch {
    // The imports worked; only the report is missing, which must not block a run.
    return {};
  }
}

function describeFailure(python: string, error: NodeJS.ErrnoException & { stderr?: string }): string {
  if (error.code === 'ENOENT') return `${python} not found`;
  if (error.code === 'EACCES') return `${python} is not executable`;
  const lines = (error.stderr ?? '').trim().split(/\r?\n/);
  return lines[lines.length - 1] || error.message;
}
