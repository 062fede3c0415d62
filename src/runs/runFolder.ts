import * as fs from 'node:fs';
import * as path from 'node:path';
import naming from '../../schema/run-folder-naming.json';
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

const fill = (template: string, values: Record<string, string>) =>
  template.replace(/\{(\w+)\}/g, (whole, key: string) => values[key] ?? whole);

/**
 * `20260304-050607`: sortable, filesystem-safe, the same on every OS. The pattern is the trainer's strftime format
 * (schema/run-folder-naming.json), of which %Y %m %d %H %M %S are understood.
 */
export function utcTimestamp(date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  const fields: Record<string, string> = {
    Y: String(date.getUTCFullYear()),
    m: two(date.getUTCMonth() + 1),
    d: two(date.getUTCDate()),
    H: two(date.getUTCHours()),
    M: two(date.getUTCMinutes()),
    S: two(date.getUTCSeconds()),
  };
  return naming.timestamp.replace(/%([YmdHMS%])/g, (_, key: string) => (key === '%' ? '%' : fields[key]));
}

/** `<run_name or config stem>-<UTC timestamp>`. */
export function runFolderName(name: string, now: Date): string {
  return fill(naming.folder, { name, timestamp: utcTimestamp(now) });
}

/** `<config dir>/<output_dir>/<run_name or config stem>-<UTC timestamp>`, as the trainer names it. */
export function runFolderPath(input: RunFolderInput): string {
  const parent = path.resolve(path.dirname(input.configPath), input.outputDir ?? defaultOutputDir);
  const name = input.runName ?? configStem(input.configPath);
  return path.join(parent, runFolderName(name, input.now ?? new Date()));
}

/** The name a folder takes when `folder` exists: `<folder>-2`, `<folder>-3`, … (n from first_n). */
export function takenFolderName(folder: string, n: number): string {
  return fill(naming.taken, { folder, n: String(n) });
}

/** Creates the run folder; a second run in the same second gets `-2`, `-3`, … rather than sharing one. */
export function createRunFolder(input: RunFolderInput): string {
  const base = runFolderPath(input);
  fs.mkdirSync(path.dirname(base), { recursive: true });
  for (let n = naming.first_n - 1; ; n++) {
    const candidate = n < naming.first_n ? base : path.join(path.dirname(base), takenFolderName(path.basename(base), n));
    try {
      // Non-recursive mkdir fails on an existing folder, which makes the claim atomic.
      fs.mkdirSync(candidate);
      return candidate;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}
