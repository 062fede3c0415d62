import type { Ui } from '../common/ui';
import { isActiveState, type RunSummary } from '../protocol/runSummary';
import type { StopOutcome, StopStep } from '../runs/runManager';
import { describeSlurmStopStep, isSlurmRun, isSlurmStopStep } from '../runs/slurmLauncher';

export interface StopRunDeps {
  ui: Ui;
  runs: { list(): RunSummary[]; get(runDir: string): RunSummary | undefined };
  /** The processes to signal are read from the run folder, not taken from the summary (see stopRun). */
  stop(runDir: string, onStep: (step: StopStep) => void): Promise<StopOutcome>;
  /** Stops a run submitted to Slurm (slurm.json in its folder): the stop request, then scancel after the grace period. */
  stopSlurm(runDir: string, onStep: (step: StopStep) => void): Promise<StopOutcome>;
  /** Where the current step is shown beside the run in the Runs view. */
  notes: { set(runDir: string, note: string | undefined): void };
}

/** What each escalation means for the user's checkpoint, in the notification and the tree. */
export function describeStopStep(step: StopStep): { note: string; progress: string } {
  if (isSlurmStopStep(step)) return describeSlurmStopStep(step);
  const seconds = Math.round(step.waitMs / 1000);
  switch (step.signal) {
    case 'SIGINT':
      return {
        note: 'stopping: saving a checkpoint',
        progress: `asked to stop (control.jsonl + SIGINT); waiting up to ${seconds} s for it to finish the step and save a checkpoint…`,
      };
    case 'SIGTERM':
      return {
        note: 'stopping: SIGTERM sent',
        progress: `no exit within the grace period (sftStudio.stopGracePeriodSeconds): sent SIGTERM, ${seconds} s before SIGKILL…`,
      };
    case 'SIGKILL':
      return { note: 'stopping: killed', progress: 'still running: sent SIGKILL to its process group.' };
  }
}

/** Stop Run: the given run, the only active one, or one picked from the active runs. */
export async function stopRunCommand(deps: StopRunDeps, runDir?: string): Promise<StopOutcome | undefined> {
  const active = deps.runs.list().filter((r) => isActiveState(r.state));
  let run = runDir ? deps.runs.get(runDir) : active.length === 1 ? active[0] : undefined;
  if (!run && !runDir) {
    if (active.length === 0) {
      void deps.ui.showInfo('SFT Studio: no run is in progress.');
      return undefined;
    }
    run = (await deps.ui.pick(active.map((r) => ({ label: r.name, description: r.state, run: r })), 'Run to stop'))?.run;
  }
  if (!run) return undefined;
  const target = run;
  const stop = isSlurmRun(target.runDir) ? deps.stopSlurm : deps.stop;
  let outcome: StopOutcome;
  try {
    outcome = await deps.ui.withProgress(`SFT Studio: stopping ${target.name}`, (progress) =>
      stop(target.runDir, (step) => {
        const words = describeStopStep(step);
        deps.notes.set(target.runDir, words.note);
        progress.report(words.progress);
      }),
    );
  } finally {
    deps.notes.set(target.runDir, undefined);
  }
  if (outcome === 'unverified') {
    void deps.ui.showWarning(
      `SFT Studio: asked run ${target.name} to stop through control.jsonl; it honours that between steps. No signal was sent: its process runs on another machine or was recorded without a start time, so it cannot be told apart from another process that got its pid.`,
    );
  }
  if (outcome === 'terminated' || outcome === 'killed') {
    void deps.ui.showWarning(
      `SFT Studio: run ${target.name} did not stop within the grace period and was ${outcome}; its last checkpoint may be older than its last step.`,
    );
  }
  return outcome;
}
