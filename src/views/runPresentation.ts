// How runs look in the sidebar and status bar, as plain data so it can be tested without VS Code.
import * as path from 'node:path';
import { describeRun, formatDuration, formatLoss, formatStep, statusBarText } from '../protocol/format';
import { isActiveState, type RunState, type RunSummary } from '../protocol/runSummary';

export const stateIcons: Readonly<Record<RunState, { id: string; color?: string }>> = {
  starting: { id: 'loading~spin' },
  running: { id: 'sync~spin' },
  completed: { id: 'pass', color: 'testing.iconPassed' },
  failed: { id: 'error', color: 'testing.iconFailed' },
  stopped: { id: 'debug-stop' },
  crashed: { id: 'warning', color: 'problemsWarningIcon.foreground' },
};

export interface RunGroup {
  /** Config path, or the runs folder for runs whose config is unknown. */
  key: string;
  label: string;
  description: string;
  runs: RunSummary[];
}

/** Runs grouped by the config they were started from; groups and runs newest first. */
export function groupRunsByConfig(runs: readonly RunSummary[], relative: (file: string) => string): RunGroup[] {
  const groups = new Map<string, RunGroup>();
  for (const run of runs) {
    const key = run.configPath ?? path.dirname(run.runDir);
    let group = groups.get(key);
    if (!group) {
      group = {
        key,
        label: run.configPath ? path.basename(run.configPath) : `${path.basename(key)} (config unknown)`,
        description: path.dirname(relative(key)) === '.' ? '' : path.dirname(relative(key)),
        runs: [],
      };
      groups.set(key, group);
    }
    group.runs.push(run);
  }
  return [...groups.values()];
}

export interface RunItemPresentation {
  label: string;
  description: string;
  tooltip: string;
  icon: { id: string; color?: string };
  contextValue: string;
}

export function presentRun(run: RunSummary): RunItemPresentation {
  const lines = [run.name, `State: ${run.state}`];
  const step = formatStep(run);
  if (step) lines.push(`Progress: ${step}`);
  if (run.loss !== undefined) lines.push(`Train loss: ${formatLoss(run.loss)}`);
  if (run.evalLoss !== undefined) lines.push(`Eval loss: ${formatLoss(run.evalLoss)}`);
  if (run.tokensPerSecond !== undefined) lines.push(`Throughput: ${Math.round(run.tokensPerSecond)} tokens/s`);
  if (isActiveState(run.state)) lines.push(`ETA: ${run.etaSeconds !== undefined ? formatDuration(run.etaSeconds) : 'estimating…'}`);
  if (run.error) lines.push(`Error (${run.error.kind}): ${run.error.message}`, `Hint: ${run.error.hint}`);
  lines.push(`Folder: ${run.runDir}`);
  return {
    label: run.name,
    description: describeRun(run),
    tooltip: lines.join('\n'),
    icon: stateIcons[run.state],
    contextValue: `run.${run.state}`,
  };
}

/** The run the status bar follows: the most recently started active one (runs come newest first). */
export function statusBarRun(runs: readonly RunSummary[]): RunSummary | undefined {
  return runs.find((r) => isActiveState(r.state));
}

export function statusBarPresentation(run: RunSummary): { text: string; tooltip: string } {
  const eta = run.etaSeconds !== undefined ? ` · ETA ${formatDuration(run.etaSeconds)}` : '';
  return {
    text: `$(sync~spin) ${statusBarText(run)}`,
    tooltip: `SFT Studio: ${run.name} (${run.state}${eta}). Click to open its dashboard.`,
  };
}
