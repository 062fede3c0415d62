import type { Ui } from '../common/ui';
import { describeRun } from '../shared/format';
import type { RunSummary } from '../protocol/runSummary';

/** The run a palette command acts on when none was passed: newest first. */
export async function pickRun(ui: Ui, runs: readonly RunSummary[], placeHolder: string): Promise<string | undefined> {
  if (runs.length === 0) {
    void ui.showInfo('SFT Studio: no runs yet. Start one with "SFT Studio: Start Run" or the ▶ Run lens on a config.');
    return undefined;
  }
  const choice = await ui.pick(
    runs.map((run) => ({ label: run.name, description: describeRun(run), runDir: run.runDir })),
    placeHolder,
  );
  return choice?.runDir;
}
