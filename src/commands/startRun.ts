import type { ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import type { Disposable } from '../common/emitter';
import type { Settings } from '../common/settings';
import type { ProgressReporter, Ui } from '../common/ui';
import type { WorkspaceFacts } from '../common/workspace';
import { formatProblem, validateConfigText } from '../config/validateConfig';
import { formatDownload } from '../shared/format';
import { describeEnv, type EnvCheck } from '../python/envCheck';
import type { ResolvedInterpreter } from '../python/interpreter';
import type { RunEvent } from '../protocol/events';
import type { AppendedEvents } from '../runs/runRegistry';
import type { LaunchPlan, LaunchRequest } from '../runs/runManager';
import type { RunQueue } from '../runs/runQueue';
import { isSlurmPlan, planForLauncher, resubmitIfSlurm, submitAndFollow } from '../runs/slurmLauncher';
import { checkOverrides, OverrideError } from '../runs/trainerCommand';

export const SELECT_INTERPRETER = 'Select Python Interpreter';
export const SET_UP_ENVIRONMENT = 'Set Up Training Environment';
const MANAGE_TRUST = 'Manage Workspace Trust';
const OPEN_LOG = 'Open trainer.log';

/** What starting any trainer process (a new run or a resumed one) needs. */
export interface LaunchDeps {
  ui: Ui;
  workspace: WorkspaceFacts;
  settings: Settings;
  python: {
    resolve(): Promise<ResolvedInterpreter | undefined>;
    check(python: string): Promise<EnvCheck>;
  };
  runs: {
    trackSpawned(runDir: string, pid: number | undefined): Promise<unknown>;
    markExited(runDir: string, exitCode: number | null): Promise<void>;
    events(runDir: string): readonly RunEvent[];
    onDidAppendEvents(listener: (appended: AppendedEvents) => void): Disposable;
  };
  launcher: {
    plan(request: LaunchRequest): LaunchPlan;
    planResume(request: { runDir: string; python: string; extensionPath: string }): LaunchPlan;
    /** A run in a folder chosen beforehand (a sweep's trial-<k>). */
    planInFolder?(request: LaunchRequest, runDir: string): LaunchPlan;
    launch(plan: LaunchPlan): ChildProcess;
    tailOfLog(runDir: string): string;
  };
  queue: Pick<RunQueue, 'submit' | 'used' | 'limit'>;
  extensionPath: string;
  openDashboard(runDir: string): void;
  /** Follows a submitted Slurm job (its queued label, its end); the window's SlurmFollower. */
  followSlurm?(runDir: string): void;
}

export type StartRunDeps = LaunchDeps;

/**
 * Start Run: check trust, pick the config, refuse invalid configs, find a Python that can train,
 * then spawn the trainer (or queue it when sftStudio.maxConcurrentRuns runs are in progress) and keep
 * a progress notification until it reports run_started.
 * Resolves to the run folder, or undefined when nothing was started (yet).
 */
/**
 * The config parsed from `text` when it has no errors; otherwise the first error is shown (with the count)
 * and the Problems view opened, and the result is undefined. Shared by Start Run and Start Sweep.
 */
export async function checkedConfig(
  deps: Pick<StartRunDeps, 'ui' | 'workspace'>,
  configPath: string,
  text: string,
): Promise<NonNullable<ReturnType<typeof validateConfigText>['config']> | undefined> {
  const { config, problems } = validateConfigText(text, { configPath });
  const errors = problems.filter((p) => p.severity === 'error');
  if (errors.length === 0 && config) return config;
  const first = errors[0] ? formatProblem(deps.workspace.asRelativePath(configPath), errors[0]) : 'not a mapping';
  void deps.ui.showError(`Config has ${errors.length} error${errors.length === 1 ? '' : 's'}: ${first}`);
  await deps.ui.executeCommand('workbench.actions.view.problems');
  return undefined;
}

export async function startRun(deps: StartRunDeps, target?: string): Promise<string | undefined> {
  const { ui } = deps;
  if (!(await ensureTrusted(ui, deps.workspace))) return undefined;

  const configPath = target ?? deps.workspace.activeConfigPath() ?? (await pickConfig(deps));
  if (!configPath) return undefined;

  const text = await deps.workspace.saveAndRead(configPath);
  const config = await checkedConfig(deps, configPath, text);
  if (!config) return undefined;

  let overrides: string[];
  try {
    overrides = checkOverrides(deps.settings.runOverrides());
  } catch (error) {
    if (!(error instanceof OverrideError)) throw error;
    void ui.showError(`SFT Studio: sftStudio.runOverrides: ${error.message}. Fix the setting and start the run again.`);
    return undefined;
  }

  // `launcher: slurm` submits the same command line as a Slurm job (slurmLauncher.ts).
  return preflightAndLaunch(deps, { label: path.basename(configPath), configPath }, (python) =>
    planForLauncher(config.launcher, deps.launcher.plan({
      configPath,
      runName: typeof config.run_name === 'string' ? config.run_name : undefined,
      outputDir: typeof config.output_dir === 'string' ? config.output_dir : undefined,
      python,
      overrides,
      extensionPath: deps.extensionPath,
    })),
  );
}

/** The trust gate of every command that executes workspace code; says why and offers the way out. */
export async function ensureTrusted(ui: Ui, workspace: WorkspaceFacts): Promise<boolean> {
  if (workspace.isTrusted()) return true;
  const choice = await ui.showError(
    'SFT Studio: starting a run executes Python code from this workspace, so it needs a trusted workspace. Trust this folder, then start the run again.',
    MANAGE_TRUST,
  );
  if (choice === MANAGE_TRUST) await ui.executeCommand('workbench.trust.manage');
  return false;
}

/**
 * Finds and checks the interpreter, then starts the planned process now or queues it. The plan is
 * made only when the process starts, so a queued run's folder carries its real start time.
 */
export async function preflightAndLaunch(
  deps: LaunchDeps,
  what: { label: string; configPath?: string },
  makePlan: (python: string) => LaunchPlan,
): Promise<string | undefined> {
  const { ui } = deps;
  const python = await deps.python.resolve();
  if (!python) {
    void offerInterpreter(
      ui,
      'SFT Studio needs Python with torch and transformers, and found no interpreter: set sftStudio.pythonPath, choose one in the Python extension, or run "SFT Studio: Set Up Training Environment" to create a .venv in the workspace folder.',
    );
    return undefined;
  }

  const title = `SFT Studio: starting ${what.label}`;
  return ui.withProgress(title, async (progress) => {
    progress.report(`checking ${python.path}…`);
    const env = await deps.python.check(python.path);
    if (!env.ok) {
      void offerInterpreter(
        ui,
        `SFT Studio needs Python with torch and transformers; ${python.path} cannot import them (${env.detail ?? 'unknown error'}). Install them there (or run "SFT Studio: Set Up Training Environment") or select another interpreter.`,
      );
      return undefined;
    }
    if (env.device) progress.report(`${describeEnv(env)}; launching the trainer…`);

    // A start that waits in the queue gets its own notification when its turn comes.
    let current: ProgressReporter | undefined = progress;
    const start = (claim: (runDir: string) => void) =>
      current
        ? launchPlanned(deps, () => makePlan(python.path), current, claim)
        : ui.withProgress(title, (later) => launchPlanned(deps, () => makePlan(python.path), later, claim));
    const submitted = deps.queue.submit(what, start);
    if (submitted.queued) {
      current = undefined;
      void ui.showInfo(
        `SFT Studio: ${what.label} is queued: ${deps.queue.used()} of ${deps.queue.limit()} runs allowed at once (sftStudio.maxConcurrentRuns) are in progress. It starts when one ends; the Runs view lists it.`,
      );
      return undefined;
    }
    return submitted.started;
  });
}

/** Starts one planned process (or submits a Slurm job) and waits until it reports run_started or ends. */
export async function launchPlanned(
  deps: LaunchDeps,
  makePlan: () => LaunchPlan,
  progress: ProgressReporter,
  claim: (runDir: string) => void,
): Promise<string | undefined> {
  const { ui } = deps;
  let plan: LaunchPlan;
  try {
    plan = resubmitIfSlurm(makePlan());
  } catch (error) {
    if (!(error instanceof OverrideError)) throw error;
    void ui.showError(`SFT Studio: ${error.message}.`);
    return undefined;
  }
  claim(plan.runDir);

  progress.report('launching the trainer…');
  const outcome = isSlurmPlan(plan) ? await submitAndFollow(deps, plan, progress) : await launchAndWait(deps, plan, progress);
  if (outcome.started) return plan.runDir;

  const name = path.basename(plan.runDir);
  const why = outcome.error ? `${outcome.error.message} ${outcome.error.hint}` : `exit code ${String(outcome.exitCode)}`;
  const log = deps.launcher.tailOfLog(plan.runDir);
  void ui.showError(`Run ${name} ended before it started: ${why}${log ? `\n\ntrainer.log:\n${log}` : ''}`, OPEN_LOG).then(
    (choice) => (choice === OPEN_LOG ? ui.openFile(plan.logPath) : undefined),
  );
  return undefined;
}

interface LaunchOutcome {
  started: boolean;
  exitCode?: number | null;
  error?: { message: string; hint: string };
}

function launchAndWait(deps: LaunchDeps, plan: LaunchPlan, progress: ProgressReporter): Promise<LaunchOutcome> {
  // A resumed run already holds a run_started: only a new one means this process started.
  const startsBefore = countStarts(deps.runs.events(plan.runDir));
  const eventsBefore = deps.runs.events(plan.runDir).length;
  return new Promise<LaunchOutcome>((resolve) => {
    let subscription: Disposable | undefined;
    let settled = false;
    const settle = (outcome: LaunchOutcome) => {
      if (settled) return;
      settled = true;
      subscription?.dispose();
      resolve(outcome);
    };
    const lastError = () => {
      const error = deps.runs.events(plan.runDir).slice(eventsBefore).reverse().find((e) => e.type === 'error');
      return error?.type === 'error' ? { message: error.message, hint: error.hint } : undefined;
    };

    // Cancelling only closes the notification; the run goes on and stays in the Runs view.
    progress.onCancel(() => settle({ started: true }));
    subscription = deps.runs.onDidAppendEvents(({ runDir, events, summary }) => {
      if (runDir !== plan.runDir) return;
      if (events.some((e) => e.type === 'run_started')) settle({ started: true });
      else if (summary?.download) progress.report(`${formatDownload(summary.download)}…`);
    });

    const child = deps.launcher.launch(plan);
    const exited = (exitCode: number | null) => {
      void deps.runs.markExited(plan.runDir, exitCode).then(() => {
        const started = countStarts(deps.runs.events(plan.runDir)) > startsBefore;
        settle(started ? { started: true } : { started: false, exitCode, error: lastError() });
      });
    };
    child.once('exit', (code) => exited(code));
    // Spawn failures (the interpreter vanished) emit 'error' and no 'exit'.
    child.once('error', () => exited(null));

    void deps.runs.trackSpawned(plan.runDir, child.pid).then(() => {
      if (deps.settings.openDashboardOnStart()) deps.openDashboard(plan.runDir);
    });
  });
}

function countStarts(events: readonly RunEvent[]): number {
  return events.filter((e) => e.type === 'run_started').length;
}

async function pickConfig(deps: StartRunDeps): Promise<string | undefined> {
  const configs = await deps.workspace.findConfigFiles();
  if (configs.length === 0) {
    const NEW_CONFIG = 'New Run Config';
    const choice = await deps.ui.showError('SFT Studio: no *.sft.yaml or *.sft.json run config in this workspace. Create one to start a run.', NEW_CONFIG);
    if (choice === NEW_CONFIG) await deps.ui.executeCommand('sftStudio.newRunConfig');
    return undefined;
  }
  if (configs.length === 1) return configs[0];
  const choice = await deps.ui.pick(
    configs.map((file) => ({ label: path.basename(file), description: deps.workspace.asRelativePath(file), file })),
    'Run config to train',
  );
  return choice?.file;
}

async function offerInterpreter(ui: Ui, message: string): Promise<void> {
  const choice = await ui.showError(message, SELECT_INTERPRETER, SET_UP_ENVIRONMENT);
  if (choice === SELECT_INTERPRETER) await ui.executeCommand('sftStudio.selectPythonInterpreter');
  if (choice === SET_UP_ENVIRONMENT) await ui.executeCommand('sftStudio.setUpEnvironment');
}
