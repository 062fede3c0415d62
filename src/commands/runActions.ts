// Resume, Rerun, Delete and Reveal: the Runs view's context menu and the palette. Each acts on the
// run passed by the tree, or asks which run when invoked from the palette.
import * as path from 'node:path';
import type { Ui } from '../common/ui';
import { describeRun } from '../shared/format';
import { isActiveState, type RunSummary } from '../protocol/runSummary';
import type { Checkpoint } from '../runs/checkpoints';
import { ensureTrusted, preflightAndLaunch, startRun, type LaunchDeps } from './startRun';

export interface RunLookup {
  list(): RunSummary[];
  get(runDir: string): RunSummary | undefined;
}

export interface ResumeDeps extends LaunchDeps {
  lookup: RunLookup;
  checkpoints(runDir: string): Checkpoint[];
  exists(file: string): boolean;
}

const RERUN = 'Rerun';

/** Runs that can continue: not in progress, with a complete checkpoint. */
export function resumableRuns(runs: readonly RunSummary[], checkpoints: (runDir: string) => Checkpoint[]): RunSummary[] {
  return runs.filter((r) => !isActiveState(r.state) && r.state !== 'completed' && checkpoints(r.runDir).length > 0);
}

/** Resume Run: `train --resume RUN_DIR` in the run's own folder, from its newest complete checkpoint. */
export async function resumeRun(deps: ResumeDeps, runDir?: string): Promise<string | undefined> {
  const { ui } = deps;
  const run = runDir ? deps.lookup.get(runDir) : await pickFrom(ui, resumableRuns(deps.lookup.list(), deps.checkpoints), 'Run to resume', 'no stopped or crashed run has a checkpoint to resume from.');
  if (!run) return undefined;
  if (isActiveState(run.state)) {
    void ui.showInfo(`SFT Studio: run ${run.name} is still ${run.state}; stop it before resuming it.`);
    return undefined;
  }
  if (!deps.exists(path.join(run.runDir, 'config.resolved.json'))) {
    void ui.showError(`SFT Studio: ${run.name} has no config.resolved.json, so it cannot be resumed. Start a new run from its config instead.`);
    return undefined;
  }
  const latest = deps.checkpoints(run.runDir).at(-1);
  if (!latest) {
    const choice = await ui.showError(
      `SFT Studio: run ${run.name} saved no checkpoint, so there is nothing to resume from. Rerun it from its config (set save_strategy: steps to get checkpoints).`,
      ...(run.configPath ? [RERUN] : []),
    );
    if (choice === RERUN && run.configPath) return startRun(deps, run.configPath);
    return undefined;
  }
  if (!(await ensureTrusted(ui, deps.workspace))) return undefined;
  return preflightAndLaunch(deps, { label: `${run.name} (resume from step ${latest.step})`, configPath: run.configPath }, (python) =>
    deps.launcher.planResume({ runDir: run.runDir, python, extensionPath: deps.extensionPath }),
  );
}

/** Rerun: a new run from the same config file, with the current config text and settings. */
export async function rerunRun(deps: LaunchDeps & { lookup: RunLookup; exists(file: string): boolean }, runDir?: string): Promise<string | undefined> {
  const run = runDir ? deps.lookup.get(runDir) : await pickFrom(deps.ui, deps.lookup.list().filter((r) => r.configPath), 'Run to start again', 'no run with a known config yet.');
  if (!run) return undefined;
  if (!run.configPath || !deps.exists(run.configPath)) {
    void deps.ui.showError(
      `SFT Studio: the config of ${run.name} (${run.configPath ?? 'unknown'}) no longer exists, so it cannot be rerun. Resume it instead, or start a run from another config.`,
    );
    return undefined;
  }
  return startRun(deps, run.configPath);
}

export interface DeleteDeps {
  ui: Ui;
  lookup: RunLookup & { refresh(): Promise<void> };
  checkpoints(runDir: string): Checkpoint[];
  removeFolder(dir: string): Promise<void>;
}

/** Delete Run: never while it trains; asks first, naming what will be lost. Resolves true when deleted. */
export async function deleteRun(deps: DeleteDeps, runDir?: string): Promise<boolean> {
  const { ui } = deps;
  const run = runDir
    ? deps.lookup.get(runDir)
    : await pickFrom(ui, deps.lookup.list().filter((r) => !isActiveState(r.state)), 'Run to delete', 'no finished run to delete.');
  if (!run) return false;
  if (isActiveState(run.state)) {
    void ui.showError(`SFT Studio: run ${run.name} is ${run.state}; stop it before deleting it.`);
    return false;
  }
  const count = deps.checkpoints(run.runDir).length;
  const confirmed = await ui.confirm(
    `Delete run ${run.name}?`,
    `Its folder ${run.runDir} will be removed with its events, logs and ${count} checkpoint${count === 1 ? '' : 's'}. This cannot be undone.`,
    'Delete',
  );
  if (!confirmed) return false;
  await deps.removeFolder(run.runDir);
  await deps.lookup.refresh();
  return true;
}

/** Reveal Run Folder: in the Explorer when the run is inside the workspace, else the OS file manager. */
export async function revealRun(deps: { ui: Ui; lookup: RunLookup }, runDir?: string): Promise<void> {
  const target = runDir ?? (await pickFrom(deps.ui, deps.lookup.list(), 'Run folder to reveal', 'no runs yet.'))?.runDir;
  if (target) await deps.ui.reveal(target);
}

async function pickFrom(ui: Ui, runs: readonly RunSummary[], placeHolder: string, none: string): Promise<RunSummary | undefined> {
  if (runs.length === 0) {
    void ui.showInfo(`SFT Studio: ${none}`);
    return undefined;
  }
  if (runs.length === 1) return runs[0];
  const choice = await ui.pick(
    runs.map((run) => ({ label: run.name, description: describeRun(run), run })),
    placeHolder,
  );
  return choice?.run;
}
