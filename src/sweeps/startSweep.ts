// Start Sweep: check trust and the config, let the trainer plan the sweep (`sweep CONFIG --json`: it writes
// sweep.json and names every trial's run folder and overrides), then hand the trials to the SweepRunner, which
// puts them in the run queue. Nothing trains here that `train` would not train: each trial is a normal run.
import * as path from 'node:path';
import { checkedConfig, ensureTrusted, launchPlanned, type LaunchDeps } from '../commands/startRun';
import { lastJsonLine, type RunCli } from '../python/trainerCli';
import { checkOverrides, OverrideError } from '../runs/trainerCommand';
import { hasSweepBlock, parseSweepDoc, type SweepDoc, type SweepTrial } from './sweepFile';
import type { SweepRunner } from './sweepRunner';

export interface StartSweepDeps extends LaunchDeps {
  runCli: RunCli;
}

/** The trainer's `sweep` command line: every trial gets the user's run overrides first. */
export function sweepArgs(configPath: string, overrides: readonly string[], initial: number): string[] {
  return ['sweep', configPath, '--json', '--initial', String(Math.max(1, Math.floor(initial))), ...checkOverrides(overrides).flatMap((o) => ['--set', o])];
}

/** `sweep --next SWEEP_DIR --count N --json`. */
export function nextArgs(sweepDir: string, count: number): string[] {
  return ['sweep', '--next', sweepDir, '--count', String(Math.max(0, Math.floor(count))), '--json'];
}

/** What a failed `sweep` said, in one message: its `errors` (path:line:col each), or its error and hint. */
export function sweepFailure(stdout: string, stderr: string): string {
  const json = lastJsonLine(stdout);
  if (json && Array.isArray(json.errors)) return json.errors.map(String).slice(0, 5).join('\n');
  if (json && typeof json.error === 'string') return `${json.error}${typeof json.hint === 'string' && json.hint ? ` ${json.hint}` : ''}`;
  return stderr.trim().split('\n').slice(-5).join('\n') || 'the trainer printed nothing';
}

export async function startSweep(deps: StartSweepDeps, runner: SweepRunner, configPath: string): Promise<SweepDoc | undefined> {
  const { ui } = deps;
  if (!(await ensureTrusted(ui, deps.workspace))) return undefined;
  const text = await deps.workspace.saveAndRead(configPath);
  if (!hasSweepBlock(text)) {
    void ui.showInfo('SFT Studio: this config has no `sweep:` block. Add one, e.g. sweep: {method: grid, parameters: {learning_rate: [1e-4, 3e-4]}}.');
    return undefined;
  }
  if (!(await checkedConfig(deps, configPath, text))) return undefined;
  let args: string[];
  try {
    args = sweepArgs(configPath, checkOverrides(deps.settings.runOverrides()), deps.queue.limit());
  } catch (error) {
    if (!(error instanceof OverrideError)) throw error;
    void ui.showError(`SFT Studio: sftStudio.runOverrides: ${error.message}. Fix the setting and start the sweep again.`);
    return undefined;
  }
  const python = await deps.python.resolve();
  if (!python) {
    void ui.showError('SFT Studio needs Python with torch and transformers: set sftStudio.pythonPath or run "SFT Studio: Set Up Training Environment".');
    return undefined;
  }
  const result = await ui.withProgress(`SFT Studio: planning the sweep of ${path.basename(configPath)}`, () =>
    deps.runCli(python.path, args, { cwd: path.dirname(configPath), extensionPath: deps.extensionPath }),
  );
  const doc = result.code === 0 ? parseSweepDoc(lastJsonLine(result.stdout)) : undefined;
  if (!doc) {
    void ui.showError(`SFT Studio: the sweep could not be planned: ${result.spawnError ?? sweepFailure(result.stdout, result.stderr)}`);
    return undefined;
  }
  const queued = runner.start(doc);
  const more = doc.method === 'bayes' && doc.maxTrials ? `; ${doc.maxTrials - doc.trials.length} more are suggested as trials finish` : '';
  void ui.showInfo(`SFT Studio: sweep ${doc.id}: ${queued} trial${queued === 1 ? '' : 's'} queued, ${deps.queue.limit()} at a time (sftStudio.maxConcurrentRuns)${more}.`);
  return doc;
}

/** Puts one trial in the run queue; it starts like any run (a notification until run_started). */
export function submitTrial(deps: LaunchDeps, python: string, doc: SweepDoc, trial: SweepTrial): void {
  const label = `${doc.id} #${trial.index}`;
  const plan = deps.launcher.planInFolder;
  if (!plan) throw new Error('this launcher cannot start a run in a given folder');
  deps.queue.submit({ label, configPath: doc.configPath }, (claim) =>
    deps.ui.withProgress(`SFT Studio: starting sweep trial ${label}`, (progress) =>
      launchPlanned(
        deps,
        () => plan({ configPath: doc.configPath, python, overrides: trial.overrides, extensionPath: deps.extensionPath }, trial.runDir),
        progress,
        claim,
      ),
    ),
  );
}
