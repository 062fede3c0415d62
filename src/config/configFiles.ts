import * as path from 'node:path';

/** Glob of run configs inside a workspace; shared by the code lens, diagnostics and the quick pick. */
export const CONFIG_GLOB = '**/*.sft.{yaml,json}';
export const CONFIG_SUFFIXES = ['.sft.yaml', '.sft.json'] as const;

export function isRunConfigPath(file: string): boolean {
  const lower = file.toLowerCase();
  return CONFIG_SUFFIXES.some((suffix) => lower.endsWith(suffix));
}

/** `examples/tiny.sft.yaml` → `tiny`: the default run name, as the trainer derives it. */
export function configStem(file: string): string {
  const base = path.basename(file);
  const lower = base.toLowerCase();
  const suffix = CONFIG_SUFFIXES.find((s) => lower.endsWith(s));
  return suffix ? base.slice(0, -suffix.length) : path.parse(base).name;
}
