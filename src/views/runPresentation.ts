// How runs look in the sidebar and status bar, as plain data so it can be tested without VS Code.
import * as path from 'node:path';
import { bestText, checkpointStepOf, type BestEvaluation } from '../shared/bestCheckpoint';
import { formatDownload, formatDuration, formatLoss, formatStep, statusBarText } from '../shared/format';
import { isActiveState, type RunState, type RunSummary } from '../protocol/runSummary';

/**
 * A running run's icon is still (`pulse`), not spinning: a spinning codicon in the Runs view and the status
 * bar makes the workbench draw every frame for as long as the run lasts (hours). Measured with a run alive
 * and quiet in code-server: the renderer at 22% of a core and the GPU process at 24% with spinners, 13% and
 * 4% without (bench/editor-scale.mjs). Only the brief states (starting, loading) spin.
 */
export const stateIcons: Readonly<Record<RunState, { id: string; color?: string }>> = {
  starting: { id: 'loading~spin' },
  running: { id: 'pulse' },
  completed: { id: 'pass', color: 'testing.iconPassed' },
  failed: { id: 'error', color: 'testing.iconFailed' },
  stopped: { id: 'debug-stop' },
  crashed: { id: 'warning', color: 'problemsWarningIcon.foreground' },
  unreadable: { id: 'circle-slash', color: 'problemsErrorIcon.foreground' },
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

/** What the tree knows about a run besides its summary. */
export interface RunExtras {
  /** A transient action in progress, e.g. "stopping: SIGTERM sent". */
  note?: string;
  /** Complete checkpoints in its folder. */
  checkpoints?: number;
  /** Its best evaluation so far (runs that track metric_for_best_model). */
  best?: BestEvaluation;
}

/** Whole percent of steps done, for runs that know their total. */
export function progressPercent(run: Pick<RunSummary, 'step' | 'totalSteps'>): number | undefined {
  if (run.step === undefined || !run.totalSteps || run.totalSteps <= 0) return undefined;
  return Math.min(100, Math.floor((run.step / run.totalSteps) * 100));
}

/** Stopped, failed and crashed runs with a checkpoint can continue where they left off. */
export function isResumable(run: RunSummary, checkpoints: number): boolean {
  return checkpoints > 0 && (run.state === 'stopped' || run.state === 'failed' || run.state === 'crashed');
}

export function presentRun(run: RunSummary, extras: RunExtras = {}): RunItemPresentation {
  const lines = [run.name, `State: ${run.state}${extras.note ? ` (${extras.note})` : ''}`];
  const download = run.download ? formatDownload(run.download) : undefined;
  if (run.download && download) {
    const { model, filesDone, filesTotal, file } = run.download;
    lines.push(`Model: ${model}: ${download}, ${filesDone} of ${filesTotal} files (${file})`);
  }
  const step = formatStep(run);
  const percent = progressPercent(run);
  if (step) lines.push(`Progress: ${step}${percent !== undefined ? ` (${percent}%)` : ''}`);
  if (run.loss !== undefined) lines.push(`Train loss: ${formatLoss(run.loss)}`);
  if (run.evalLoss !== undefined) lines.push(`Eval loss: ${formatLoss(run.evalLoss)}`);
  if (extras.best) lines.push(`Best: ${bestText(extras.best)}${extras.best.checkpoint ? ` (${extras.best.checkpoint})` : ''}`);
  if (run.tokensPerSecond !== undefined) lines.push(`Throughput: ${Math.round(run.tokensPerSecond)} tokens/s`);
  if (isActiveState(run.state)) lines.push(`ETA: ${run.etaSeconds !== undefined ? formatDuration(run.etaSeconds) : 'estimating…'}`);
  if (run.error) lines.push(`Error (${run.error.kind}): ${run.error.message}`, `Hint: ${run.error.hint}`);
  const checkpoints = extras.checkpoints ?? 0;
  if (checkpoints > 0) lines.push(`Checkpoints: ${checkpoints}`);
  const resumable = isResumable(run, checkpoints);
  if (run.state === 'crashed') {
    lines.push(resumable ? 'Its trainer is gone without finishing: Resume continues from the last checkpoint.' : 'Its trainer is gone without finishing and saved no checkpoint.');
  }
  lines.push(`Folder: ${run.runDir}`);
  const parts = [extras.note ?? run.state];
  if (download) parts.push(download);
  if (isActiveState(run.state) && percent !== undefined) parts.push(`${percent}%`);
  if (step) parts.push(step);
  if (run.loss !== undefined) parts.push(`loss ${formatLoss(run.loss)}`);
  if (run.sweep) {
    parts.push(`sweep ${run.sweep.id} #${run.sweep.trial}`);
    lines.splice(1, 0, `Sweep: ${run.sweep.id}, trial #${run.sweep.trial}`);
  }
  return {
    label: run.name,
    description: parts.join(' · '),
    tooltip: lines.join('\n'),
    icon: extras.note ? { id: 'loading~spin' } : stateIcons[run.state],
    contextValue: `run.${run.state}${resumable ? '.resumable' : ''}`,
  };
}

export interface CheckpointPresentation {
  label: string;
  description: string;
  tooltip: string;
  icon: { id: string; color?: string };
}

/** Whether `checkpoint` (an absolute folder, as listCheckpoints gives) holds the run's best evaluation. */
export function isBestCheckpoint(checkpoint: { step: number }, best: BestEvaluation | undefined): boolean {
  return best?.checkpoint !== undefined && checkpointStepOf(best.checkpoint) === checkpoint.step;
}

/** A checkpoint row; the one holding the best evaluation gets a star and says by what measure. */
export function presentCheckpoint(runName: string, checkpoint: { step: number; path: string }, best?: BestEvaluation): CheckpointPresentation {
  const tooltip = `Checkpoint of ${runName} after step ${checkpoint.step}\n${checkpoint.path}`;
  if (!best || !isBestCheckpoint(checkpoint, best)) return { label: `step ${checkpoint.step}`, description: 'checkpoint', tooltip, icon: { id: 'save' } };
  return {
    label: `step ${checkpoint.step}`,
    description: 'best checkpoint',
    tooltip: `Best checkpoint${best.final ? '' : ' so far'}: ${bestText(best)}\n${tooltip}`,
    icon: { id: 'star-full', color: 'charts.yellow' },
  };
}

/** The run the status bar follows: the most recently started active one (runs come newest first). */
export function statusBarRun(runs: readonly RunSummary[]): RunSummary | undefined {
  return runs.find((r) => isActiveState(r.state));
}

export function statusBarPresentation(run: RunSummary): { text: string; tooltip: string } {
  const eta = run.etaSeconds !== undefined ? ` · ETA ${formatDuration(run.etaSeconds)}` : '';
  return {
    text: `$(pulse) ${statusBarText(run)}`,
    tooltip: `SFT Studio: ${run.name} (${run.state}${eta}). Click to open its dashboard.`,
  };
}
