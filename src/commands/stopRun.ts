import type { Ui } from '../common/ui';
import { isActiveState, type RunSummary } from '../protocol/runSummary';
import type { StopOutcome } from '../runs/runManager';

export interface StopRunDeps {
  ui: Ui;
  runs: { list(): RunSummary[]; get(runDir: string): RunSummary | undefined };
  stop(runDir: string, pid: number | undefined): Promise<StopOutcome>;
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
  const outcome = await deps.stop(run.runDir, run.pid);
  if (outcome === 'terminated' || outcome === 'killed') {
    void deps.ui.showWarning(
      `SFT Studio: run ${run.name} did not stop within the grace period and was ${outcome}; its last checkpoint may be older than its last step.`,
    );
  }
  return outcome;
}
