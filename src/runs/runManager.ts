// Starting and stopping trainer processes. Runs are detached so they outlive a window reload; the
// run folder, not this process, is the source of truth about them afterwards.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ControlRequest } from '../protocol/generated/runDirectory';
import { checkProcess, sendSignal, type Liveness, type ProcessIdentity, type Signal } from './processes';
import { createRunFolder } from './runFolder';
import { readRecordedProcesses, stopTargets } from './stopTargets';
import { checkOverrides, resumeArgs, trainArgs, trainerEnv } from './trainerCommand';

export interface LaunchRequest {
  configPath: string;
  runName?: string;
  outputDir?: string;
  python: string;
  overrides: readonly string[];
  /** Folder holding the bundled trainer/ (the extension's install folder). */
  extensionPath: string;
  now?: Date;
  env?: NodeJS.ProcessEnv;
  /** From SecretStorage; passed to the trainer as HF_TOKEN for gated and private Hub models. */
  hfToken?: string;
}

export interface LaunchPlan {
  runDir: string;
  logPath: string;
  command: string;
  args: string[];
  options: SpawnOptions;
}

export type SpawnFn = (command: string, args: readonly string[], options: SpawnOptions) => ChildProcess;

export const LOG_FILE = 'trainer.log';

/** Validates the overrides, then claims a fresh run folder. Nothing is created if the request is bad. */
export function planLaunch(request: LaunchRequest): LaunchPlan {
  checkOverrides(request.overrides);
  return planInFolder(request, createRunFolder(request));
}

/** A new run in a folder chosen beforehand (a sweep's `trial-<k>`, named in sweep.json); created if missing. */
export function planInFolder(request: LaunchRequest, runDir: string): LaunchPlan {
  checkOverrides(request.overrides);
  fs.mkdirSync(runDir, { recursive: true });
  return {
    runDir,
    logPath: path.join(runDir, LOG_FILE),
    command: request.python,
    args: trainArgs(request.configPath, runDir, request.overrides),
    options: spawnOptions(path.dirname(request.configPath), request.env, request.extensionPath, request.hfToken),
  };
}

/** Continues a run in its own folder from its newest complete checkpoint. */
export function planResume(request: ResumeRequest): LaunchPlan {
  return {
    runDir: request.runDir,
    logPath: path.join(request.runDir, LOG_FILE),
    command: request.python,
    args: resumeArgs(request.runDir),
    options: spawnOptions(request.runDir, request.env, request.extensionPath, request.hfToken),
  };
}

export interface ResumeRequest {
  runDir: string;
  python: string;
  extensionPath: string;
  env?: NodeJS.ProcessEnv;
  hfToken?: string;
}

function spawnOptions(cwd: string, env: NodeJS.ProcessEnv | undefined, extensionPath: string, hfToken?: string): SpawnOptions {
  return { cwd, env: trainerEnv(env ?? process.env, extensionPath, hfToken), shell: false, detached: true, windowsHide: true };
}

/** Spawns the plan with stdout and stderr appended to trainer.log; the host does not wait for it. */
export function launch(plan: LaunchPlan, spawnFn: SpawnFn = spawn): ChildProcess {
  const fd = fs.openSync(plan.logPath, 'a');
  try {
    const child = spawnFn(plan.command, plan.args, { ...plan.options, shell: false, stdio: ['ignore', fd, fd] });
    child.unref();
    return child;
  } finally {
    // The child holds its own copy of the descriptor.
    fs.closeSync(fd);
  }
}

/** The last lines of trainer.log, for error messages about runs that ended early. */
export function tailOfLog(runDir: string, maxLines = 12): string {
  try {
    const text = fs.readFileSync(path.join(runDir, LOG_FILE), 'utf8');
    return text.trimEnd().split('\n').slice(-maxLines).join('\n');
  } catch {
    return '';
  }
}

/** `unverified`: only the request was written; a recorded process may run but could not be proven to be the trainer. */
export type StopOutcome = 'exited' | 'terminated' | 'killed' | 'not-running' | 'unverified';

export interface StopOptions {
  /** Time the trainer gets after SIGINT to finish its step and save a checkpoint. */
  graceMs: number;
  /** Time after SIGTERM before SIGKILL. */
  killAfterMs?: number;
  pollMs?: number;
  signal?: (pid: number, signal: Signal, group: boolean) => void;
  /** Whether a recorded process still runs; by identity (host, pid, start time) by default. */
  check?: (process: ProcessIdentity) => Liveness;
  now?: () => number;
  /** Told before each escalation, so the UI can show which step the stop is at. */
  onStep?: (step: StopStep) => void;
}

/** One escalation of a stop: the signal sent and how long the trainer then gets to exit. */
export interface StopStep {
  signal: Signal;
  waitMs: number;
}

/**
 * Stop: a `stop` request in control.jsonl (read by every rank between steps) and SIGINT to the trainer, which
 * saves a checkpoint; after the grace period SIGTERM to the torchrun launcher (it forwards it to every rank) or to
 * the trainer; then SIGKILL to the launcher's and the trainer's process groups. The processes come from the run
 * folder and each is checked again right before each signal: one that no longer matches its record is gone,
 * whatever process now has its pid.
 */
export async function stopRun(runDir: string, options: StopOptions): Promise<StopOutcome> {
  const signal = options.signal ?? sendSignal;
  const check = options.check ?? ((recorded: ProcessIdentity) => checkProcess(recorded));
  const pollMs = options.pollMs ?? 200;
  const now = options.now ?? (() => Date.now() / 1000);
  appendControl(runDir, { type: 'stop', time: now() });
  const { trainer, launcher, unverified } = stopTargets(readRecordedProcesses(runDir), check);
  if (!trainer && !launcher) return unverified ? 'unverified' : 'not-running';

  const live = (target: ProcessIdentity | undefined): target is ProcessIdentity => target !== undefined && check(target) === 'alive';
  const exitsWithin = async (ms: number) => {
    const deadline = Date.now() + ms;
    for (;;) {
      if (!live(trainer) && !live(launcher)) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  };
  const escalate = (sent: Signal, waitMs: number, targets: (ProcessIdentity | undefined)[], group: boolean) => {
    options.onStep?.({ signal: sent, waitMs });
    for (const target of targets) if (live(target)) signal(target.pid, sent, group);
  };
  escalate('SIGINT', options.graceMs, [trainer ?? launcher], false);
  if (await exitsWithin(options.graceMs)) return 'exited';
  const killAfterMs = options.killAfterMs ?? 5000;
  escalate('SIGTERM', killAfterMs, [launcher ?? trainer], false);
  if (await exitsWithin(killAfterMs)) return 'terminated';
  escalate('SIGKILL', 0, [launcher, trainer], true);
  return 'killed';
}

/** One line of control.jsonl (schema/run-directory.schema.json). */
export type { ControlRequest };

/** One request per line, appended: the trainer reads new lines from its last offset. */
export function appendControl(runDir: string, request: ControlRequest): void {
  fs.appendFileSync(path.join(runDir, 'control.jsonl'), `${JSON.stringify(request)}\n`);
}
