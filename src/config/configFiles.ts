import * as path from 'node:path';
// The trainer (trainer/sft_studio/run/run_folder.py) reads the same file: one list of config suffixes, one naming rule.
import naming from '../../schema/run-folder-naming.json';

/** Glob of run configs inside a workspace; shared by the code lens, diagnostics and the quick pick. */
export const CONFIG_GLOB = '**/*.sft.{yaml,json}';
/** Matched case-insensitively (schema/run-folder-naming.json). */
export const CONFIG_SUFFIXES: readonly string[] = naming.config_suffixes;

export function isRunConfigPath(file: string): boolean {
  const lower = path.basename(file).toLowerCase();
  return CONFIG_SUFFIXES.some((suffix) => lower.endsWith(suffix));
}

/**
 * `examples/tiny.sft.yaml` → `tiny`: the default run name, as the trainer derives it. A name without a config
 * suffix loses its last extension as Python's PurePath.stem does (a dot that is the name's first or last
 * character is no extension).
 */
export function configStem(file: string): string {
  const base = path.basename(file);
  const lower = base.toLowerCase();
  const suffix = CONFIG_SUFFIXES.find((s) => lower.endsWith(s));
  if (suffix) return base.slice(0, -suffix.length);
  const dot = base.lastIndexOf('.');
  return dot > 0 && dot < base.length - 1 ? base.slice(0, dot) : base;
}
