// The config side of the dashboard's comparison table: the fields of config.resolved.json that differ
// among the shown runs, each run's value of them as the table shows it. The same rule as Compare Runs
// (src/commands/compareRuns.ts): names and folders never count as a difference.
import * as path from 'node:path';
import { differingFields, readResolvedConfig } from '../commands/compareRuns';
import { MAX_CONFIG_TEXT, MAX_DIFF_FIELDS, type ConfigDiff, type ConfigValue } from '../protocol/dashboard';

export interface RunConfig {
  runDir: string;
  config?: Record<string, unknown>;
  error?: string;
}

/** Reads each run's resolved config; a run without one (it never started) is listed with the reason. */
export async function readConfigDiff(runDirs: readonly string[]): Promise<ConfigDiff> {
  const runs = await Promise.all(
    runDirs.map(async (runDir): Promise<RunConfig> => {
      try {
        return { runDir, config: await readResolvedConfig(runDir) };
      } catch (error) {
        // The message names the full path; the table has the run's name already.
        return { runDir, error: (error as Error).message.replace(`${runDir}${path.sep}`, '') };
      }
    }),
  );
  return configDiffOf(runs);
}

/** The differing fields of the runs that have a config, and every run's values of them. */
export function configDiffOf(runs: readonly RunConfig[]): ConfigDiff {
  const configs = runs.flatMap((r) => (r.config ? [r.config] : []));
  // One config differs from nothing.
  const fields = configs.length > 1 ? differingFields(configs).slice(0, MAX_DIFF_FIELDS) : [];
  return {
    fields,
    runs: runs.map((r) => ({
      runDir: r.runDir,
      values: fields.map((f) => shown(r.config?.[f])),
      ...(r.error !== undefined ? { error: cut(r.error) } : {}),
    })),
  };
}

function shown(value: unknown): ConfigValue {
  if (value === undefined || value === null) return null;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'string') return cut(value);
  return cut(JSON.stringify(value));
}

function cut(text: string): string {
  return text.length > MAX_CONFIG_TEXT ? `${text.slice(0, MAX_CONFIG_TEXT - 1)}…` : text;
}
