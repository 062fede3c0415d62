import * as fs from 'node:fs';
import * as path from 'node:path';
import { configStem } from '../config/configFiles';
import { defaultOutputDir } from '../config/runConfigSchema';

export interface RunFolderInput {
  configPath: string;
  /** The config's run_name; the config file's stem when absent. */
  runName?: string;
  /** The config's output_dir, relative to the config file's folder; `runs` when absent. */
  outputDir?: string;
  now?: Date;
}

/** `20260304-050607`: sortable, filesystem-safe, the same on every OS. */
export function utcTimestamp(date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${date.getUTCFullYear()}${two(date.getUTCMonth() + 1)}${two(date.getUTCDate())}-` +
    `${two(date.getUTCHours())}${two(date.getUTCMinutes())}${two(date.getUTCSeconds())}`
  );
}

/** `<config dir>/<output_dir>/<run_name or config stem>-<UTC timestamp>`, as the trainer names it. */
export function runFolderPath(input: RunFolderInput): string {
  const parent = path.resolve(path.dirname(input.configPath), input.outputDir ?? defaultOutputDir);
  const name = input.runName ?? configStem(input.configPath);
  return path.join(parent, `${name}-${utcTimestamp(input.now ?? new Date())}`);
}

/** Creates the run folder; a second run in the same second gets `-2`, `-3`, … rather than sharing one. */
export function createRunFolder(input: RunFolderInput): string {
  const base = runFolderPath(input);
  fs.mkdirSync(path.dirname(base), { recursive: true });
  for (let n = 1; ; n++) {
    const candidate = n === 1 ? base : `${base}-${n}`;
    try {
      // Non-recursive mkdir fails on an existing folder, which makes the claim atomic.
      fs.mkdirSync(candidate);
      return candidate;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}
