// The trainer's command line and environment. Always an argv array: paths with spaces or shell
// characters stay single arguments and nothing is ever interpreted by a shell.
import * as path from 'node:path';

export class OverrideError extends Error {}

const OVERRIDE = /^[A-Za-z_][A-Za-z0-9_.]*=/;

export function checkOverrides(overrides: readonly unknown[]): string[] {
  return overrides.map((o) => {
    if (typeof o !== 'string' || !OVERRIDE.test(o)) {
      throw new OverrideError(`override must look like "key=value"; got ${typeof o === 'string' ? JSON.stringify(o) : String(o)}`);
    }
    return o;
  });
}

/** `-m sft_studio train CONFIG --output-dir RUN_DIR --set k=v …` (later overrides win in the trainer). */
export function trainArgs(configPath: string, runDir: string, overrides: readonly unknown[]): string[] {
  const sets = checkOverrides(overrides).flatMap((o) => ['--set', o]);
  return ['-m', 'sft_studio', 'train', configPath, '--output-dir', runDir, ...sets];
}

/** `-m sft_studio train --resume RUN_DIR`: the run folder holds everything else. */
export function resumeArgs(runDir: string): string[] {
  return ['-m', 'sft_studio', 'train', '--resume', runDir];
}

/**
 * What the trainer inherits from the extension host, by name: the variables Python, torch and its GPU stacks, the
 * Hugging Face libraries, the reporters, proxies and a cluster scheduler read. Everything else stays in the
 * editor: the host's environment holds other tools' keys (OPENAI_API_KEY, cloud credentials, CI tokens), which
 * workspace code run by the trainer has no business seeing. Names compare case-insensitively (Windows spells
 * `Path`; proxies are often lower case).
 */
const PASSED_NAMES = new Set(
  [
    'PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR', 'TEMP', 'TMP', 'VIRTUAL_ENV',
    'LD_LIBRARY_PATH', 'DYLD_LIBRARY_PATH', 'DYLD_FALLBACK_LIBRARY_PATH',
    'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'ALL_PROXY', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE',
    // Windows: Python needs these to start, find its temp folder and open sockets.
    'SYSTEMROOT', 'SYSTEMDRIVE', 'WINDIR', 'COMSPEC', 'PATHEXT', 'USERPROFILE', 'USERNAME', 'HOMEDRIVE', 'HOMEPATH',
    'APPDATA', 'LOCALAPPDATA', 'PROGRAMDATA', 'NUMBER_OF_PROCESSORS', 'PROCESSOR_ARCHITECTURE',
  ].map((name) => name.toUpperCase()),
);

const PASSED_PREFIXES = [
  'LC_', 'PYTHON', 'CONDA_', 'XDG_', 'SFT_STUDIO_',
  'CUDA_', 'CUBLAS_', 'CUDNN_', 'NCCL_', 'NVIDIA_', 'HIP_', 'ROCM_', 'HSA_', 'GLOO_',
  'TORCH', 'PYTORCH_', 'OMP_', 'MKL_', 'KMP_', 'OPENBLAS_',
  'HF_', 'HUGGINGFACE_', 'TRANSFORMERS_', 'TOKENIZERS_', 'WANDB_', 'SLURM_',
];

export function passesToTrainer(name: string): boolean {
  const upper = name.toUpperCase();
  return PASSED_NAMES.has(upper) || PASSED_PREFIXES.some((prefix) => upper.startsWith(prefix));
}

/**
 * The trainer's environment: the allowed part of `base` (see PASSED_NAMES), then the extension's own trainer/
 * first on PYTHONPATH so its version matches the extension (read from there, never written: no bytecode). The
 * Hugging Face token stored with "Set Hugging Face Token" becomes HF_TOKEN (it wins over one inherited from the
 * environment); it travels only in the environment, never in argv, so it shows in no process list or log.
 */
export function trainerEnv(base: NodeJS.ProcessEnv, extensionPath: string, hfToken?: string): NodeJS.ProcessEnv {
  const trainer = path.join(extensionPath, 'trainer');
  const passed = Object.fromEntries(Object.entries(base).filter(([name, value]) => value !== undefined && passesToTrainer(name)));
  return {
    ...passed,
    PYTHONPATH: base.PYTHONPATH ? `${trainer}${path.delimiter}${base.PYTHONPATH}` : trainer,
    // Unbuffered so trainer.log shows a crash's last lines, not whatever was still in a buffer.
    PYTHONUNBUFFERED: '1',
    // No __pycache__ beside the bundled trainer: the extension's install folder is never written (it may be
    // read-only, shared by users, or replaced on update). Installed packages keep the bytecode pip compiled.
    PYTHONDONTWRITEBYTECODE: '1',
    ...(hfToken ? { HF_TOKEN: hfToken } : {}),
  };
}
