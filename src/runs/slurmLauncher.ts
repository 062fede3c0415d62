// Slurm as a launcher, from the editor. A `launcher: slurm` config is submitted with
// `python -m sft_studio submit` (argv, no shell) instead of spawning the trainer; the job's trainer writes the
// run folder on the cluster's shared filesystem, which the registry follows as it follows any run. The trainer
// side (trainer/sft_studio/launch/slurm.py) writes the sbatch script, submits it and records the job in slurm.json;
// this module asks it for the job's state, and stops a run by asking the trainer first and scancel after.
import { execFile, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Settings } from '../common/settings';
import type { ProgressReporter, Ui } from '../common/ui';
import type { RunEvent } from '../protocol/events';
import { appendControl, type LaunchPlan, type StopOutcome, type StopStep } from './runManager';

export const SLURM_JOB_FILE = 'slurm.json';

/** The part of slurm.json this side reads: the job, and the Python that submitted it (it reads the job's state). */
export interface SlurmJob {
  jobId: string;
  /** Set only when the job went to another cluster of a federation (squeue and scancel then need --clusters). */
  clustersOption?: string;
  python: string;
  pythonpath: string;
  /** The job whose end `slurm-state --record` has written into the run folder, once it has. */
  recorded?: string;
}

/** `python -m sft_studio slurm-state RUN_DIR --json`: squeue's long state name, or UNKNOWN. */
export interface SlurmState {
  jobId: string;
  state: string;
  active: boolean;
  ended: boolean;
  reason?: string;
  /** What `--record` wrote into the run folder for an ended job (failed, stopped), if anything. */
  recorded?: string;
}

/** The commands this module runs, behind one seam so unit tests pass fakes. */
export interface SlurmApi {
  run(command: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }>;
  sleep(ms: number): Promise<void>;
  /** Milliseconds, as Date.now(). */
  now(): number;
}

export const nodeSlurmApi: SlurmApi = {
  run: (command, args, env) =>
    new Promise((resolve) => {
      execFile(command, [...args], { env: env ?? process.env, timeout: 120_000, shell: false, windowsHide: true }, (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr || (error && code === null ? error.message : '')) });
      });
    }),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  now: () => Date.now(),
};

export function readSlurmJob(runDir: string): SlurmJob | undefined {
  try {
    const data = JSON.parse(fs.readFileSync(path.join(runDir, SLURM_JOB_FILE), 'utf8')) as Record<string, unknown>;
    if (typeof data.job_id !== 'string' || typeof data.python !== 'string' || typeof data.pythonpath !== 'string') return undefined;
    const clusters = typeof data.clusters_option === 'string' ? data.clusters_option : undefined;
    return {
      jobId: data.job_id,
      python: data.python,
      pythonpath: data.pythonpath,
      ...(clusters ? { clustersOption: clusters } : {}),
      ...(typeof data.recorded === 'string' ? { recorded: data.recorded } : {}),
    };
  } catch {
    return undefined;
  }
}

export function isSlurmRun(runDir: string): boolean {
  return readSlurmJob(runDir) !== undefined;
}

/** A launch plan that submits instead of training; its process ends once sbatch has answered. */
export type SlurmPlan = LaunchPlan & { slurm: true };

export function isSlurmPlan(plan: LaunchPlan): plan is SlurmPlan {
  return (plan as Partial<SlurmPlan>).slurm === true;
}

/**
 * `-m sft_studio train CONFIG --output-dir RUN …` becomes `-m sft_studio submit CONFIG --output-dir RUN …`, and
 * `train --resume RUN` becomes `submit --resume RUN`: the same folder, environment and log, only the verb differs.
 */
export function asSubmitPlan(plan: LaunchPlan): SlurmPlan {
  const verb = plan.args.indexOf('train');
  if (verb < 0 || plan.args[verb - 1] !== 'sft_studio') throw new Error(`not a trainer command: ${plan.args.join(' ')}`);
  return { ...plan, args: [...plan.args.slice(0, verb), 'submit', ...plan.args.slice(verb + 1)], slurm: true };
}

/** Resume of a run that was submitted to Slurm resubmits it (`submit --resume`); any other plan is kept. */
export function resubmitIfSlurm(plan: LaunchPlan): LaunchPlan {
  return plan.args.includes('--resume') && isSlurmRun(plan.runDir) ? asSubmitPlan(plan) : plan;
}

/** The plan for a config's launcher: the trainer's for local, a submission for slurm. */
export function planForLauncher(launcher: unknown, plan: LaunchPlan): LaunchPlan {
  return launcher === 'slurm' ? asSubmitPlan(plan) : plan;
}

/** What submitting needs from Start Run's dependencies. */
export interface SubmitDeps {
  ui: Pick<Ui, 'showInfo'>;
  settings: Pick<Settings, 'openDashboardOnStart'>;
  runs: {
    trackSpawned(runDir: string, pid: number | undefined): Promise<unknown>;
    markExited(runDir: string, exitCode: number | null): Promise<void>;
    events(runDir: string): readonly RunEvent[];
  };
  launcher: { launch(plan: LaunchPlan): ChildProcess };
  openDashboard(runDir: string): void;
  slurm?: SlurmApi;
  /** The window's SlurmFollower (slurmFollower.ts), which also follows the jobs of runs this window did not submit. */
  followSlurm?(runDir: string): void;
}

export interface SubmitOutcome {
  started: boolean;
  exitCode?: number | null;
  error?: { message: string; hint: string };
}

/**
 * Runs the submit process (its output goes to trainer.log, as the trainer's would) and waits for sbatch's answer.
 * The run is tracked as started from the first moment, without a pid: the submit process ending is not the run
 * ending, so it is never marked exited unless the submission failed. The job is then watched until it leaves the
 * queue.
 */
export async function submitAndFollow(deps: SubmitDeps, plan: SlurmPlan, progress: ProgressReporter): Promise<SubmitOutcome> {
  progress.report('submitting the job to Slurm (sbatch)…');
  const eventsBefore = deps.runs.events(plan.runDir).length;
  const exitCode = await new Promise<number | null>((resolve) => {
    const child = deps.launcher.launch(plan);
    child.once('exit', (code) => resolve(code));
    // Spawn failures (the interpreter vanished) emit 'error' and no 'exit'.
    child.once('error', () => resolve(null));
  });
  await deps.runs.trackSpawned(plan.runDir, undefined);
  if (exitCode !== 0) {
    await deps.runs.markExited(plan.runDir, exitCode);
    const error = deps.runs.events(plan.runDir).slice(eventsBefore).reverse().find((e) => e.type === 'error');
    return { started: false, exitCode, ...(error?.type === 'error' ? { error: { message: error.message, hint: error.hint } } : {}) };
  }
  const job = readSlurmJob(plan.runDir);
  void deps.ui.showInfo(
    `SFT Studio: ${path.basename(plan.runDir)} was submitted as Slurm job ${job?.jobId ?? '?'}; it shows as queued while Slurm holds it, and its dashboard follows it from the run folder.`,
  );
  if (deps.settings.openDashboardOnStart()) deps.openDashboard(plan.runDir);
  if (deps.followSlurm) deps.followSlurm(plan.runDir);
  else void watchSlurmJob(deps.slurm ?? nodeSlurmApi, plan.runDir);
  return { started: true };
}

/** The job's state from `slurm-state RUN_DIR --json`; with `record`, an ended job's end is written into the run folder. */
export async function querySlurmState(api: SlurmApi, runDir: string, record: boolean): Promise<SlurmState | undefined> {
  const job = readSlurmJob(runDir);
  if (!job) return undefined;
  const env = { ...process.env, PYTHONPATH: [job.pythonpath, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter) };
  const result = await api.run(job.python, ['-m', 'sft_studio', 'slurm-state', runDir, '--json', ...(record ? ['--record'] : [])], env);
  const line = result.stdout.trim().split(/\r?\n/).at(-1) ?? '';
  try {
    const data = JSON.parse(line) as Record<string, unknown>;
    if (typeof data.state !== 'string') return undefined;
    return {
      jobId: String(data.job_id),
      state: data.state,
      active: data.active === true,
      ended: data.ended === true,
      ...(typeof data.reason === 'string' ? { reason: data.reason } : {}),
      ...(typeof data.recorded === 'string' ? { recorded: data.recorded } : {}),
    };
  } catch {
    return undefined;
  }
}

/**
 * Follows a submitted job until it leaves the queue, so that a job Slurm ends (cancelled, timed out, a node lost)
 * gets its reason written into the run folder even when its trainer could not write one.
 */
export async function watchSlurmJob(api: SlurmApi, runDir: string, pollMs = 15_000): Promise<SlurmState | undefined> {
  for (;;) {
    const state = await querySlurmState(api, runDir, true);
    // Unknown to Slurm too: the controller forgot it and there is no accounting to ask; nothing more to learn.
    if (!state?.active) return state;
    await api.sleep(pollMs);
  }
}

/** A stop step of a Slurm run: SIGINT stands for the stop request, SIGTERM for scancel (Slurm's SIGTERM, then SIGKILL). */
export interface SlurmStopStep extends StopStep {
  jobId: string;
}

export function isSlurmStopStep(step: StopStep): step is SlurmStopStep {
  return typeof (step as Partial<SlurmStopStep>).jobId === 'string';
}

export function describeSlurmStopStep(step: SlurmStopStep): { note: string; progress: string } {
  const seconds = Math.round(step.waitMs / 1000);
  return step.signal === 'SIGINT'
    ? {
        note: 'stopping: saving a checkpoint',
        progress: `asked to stop (control.jsonl); waiting up to ${seconds} s for it to save a checkpoint before cancelling Slurm job ${step.jobId}…`,
      }
    : { note: 'stopping: scancel sent', progress: `cancelled Slurm job ${step.jobId} (scancel); waiting for Slurm to end it…` };
}

export interface SlurmStopOptions {
  /** Time the trainer gets to save a checkpoint and exit before the job is cancelled. */
  graceMs: number;
  /** Time Slurm gets to end the job after scancel (its KillWait, 30 s by default, then SIGKILL). */
  cancelWaitMs?: number;
  pollMs?: number;
  onStep?: (step: SlurmStopStep) => void;
}

/**
 * Stop Run's stop for a Slurm run: sftStudio.stopGracePeriodSeconds (read at each stop, as for a local run) between
 * the stop request and scancel.
 */
export function slurmStopper(settings: Pick<Settings, 'stopGraceSeconds'>, api: SlurmApi = nodeSlurmApi) {
  return (runDir: string, onStep: (step: StopStep) => void): Promise<StopOutcome> =>
    stopSlurmRun(api, runDir, { graceMs: settings.stopGraceSeconds() * 1000, onStep });
}

/**
 * Stop a Slurm run: the stop request in control.jsonl (every rank reads it between steps, on whichever node), then,
 * when the job is still there after the grace period, `scancel` (Slurm sends SIGTERM, on which the trainer also
 * saves, and SIGKILL after KillWait). A pending job is cancelled at once: it has nothing to save.
 */
export async function stopSlurmRun(api: SlurmApi, runDir: string, options: SlurmStopOptions): Promise<StopOutcome> {
  const job = readSlurmJob(runDir);
  appendControl(runDir, { type: 'stop', time: api.now() / 1000 });
  if (!job) return 'not-running';
  const pollMs = options.pollMs ?? 2000;
  const first = await querySlurmState(api, runDir, false);
  if (!first?.active) {
    await querySlurmState(api, runDir, true);
    return 'not-running';
  }
  const endsWithin = async (ms: number) => {
    const deadline = api.now() + ms;
    for (;;) {
      const state = await querySlurmState(api, runDir, true);
      if (!state?.active) return true;
      if (api.now() >= deadline) return false;
      await api.sleep(pollMs);
    }
  };
  const pending = first.state === 'PENDING';
  if (!pending) {
    options.onStep?.({ signal: 'SIGINT', waitMs: options.graceMs, jobId: job.jobId });
    if (await endsWithin(options.graceMs)) return 'exited';
  }
  const cancelWaitMs = options.cancelWaitMs ?? 60_000;
  options.onStep?.({ signal: 'SIGTERM', waitMs: cancelWaitMs, jobId: job.jobId });
  await api.run('scancel', [...(job.clustersOption ? [`--clusters=${job.clustersOption}`] : []), job.jobId]);
  await endsWithin(cancelWaitMs);
  return pending ? 'not-running' : 'terminated';
}
