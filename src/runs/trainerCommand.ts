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
 * The extension's own trainer/ comes first on PYTHONPATH so its version matches the extension. The Hugging
 * Face token stored with "Set Hugging Face Token" becomes HF_TOKEN (it wins over one inherited from the
 * environment); it travels only in the environment, never in argv, so it shows in no process list or log.
 */
export function trainerEnv(base: NodeJS.ProcessEnv, extensionPath: string, hfToken?: string): NodeJS.ProcessEnv {
  const trainer = path.join(extensionPath, 'trainer');
  return {
    ...base,
    PYTHONPATH: base.PYTHONPATH ? `${trainer}${path.delimiter}${base.PYTHONPATH}` : trainer,
    // Unbuffered so trainer.log shows a crash's last lines, not whatever was still in a buffer.
    PYTHONUNBUFFERED: '1',
    ...(hfToken ? { HF_TOKEN: hfToken } : {}),
  };
}
