// What state a run is in, and its one-line summary, derived from the run folder alone so that a
// reloaded window reaches the same answer as the window that started the run.
import * as path from 'node:path';
import type { RunEvent } from '../protocol/events';
import type { StatusFile as WrittenStatusFile } from '../protocol/generated/runDirectory';
import type { DownloadState, RunState, RunSummary } from '../protocol/runSummary';
import { checkProcess, systemProbe, type Liveness, type ProcessIdentity } from './processes';

/** A heartbeat older than this means the trainer process is gone or frozen (its thread beats every few seconds). */
export const HEARTBEAT_STALE_SECONDS = 30;

/** Default of sftStudio.stallMinutes: long enough for a checkpoint save or a first compiled step. */
export const DEFAULT_STALL_MINUTES = 15;

/**
 * status.json as the trainer writes it (schema/run-directory.schema.json, generated type); every field optional
 * because the file is read as it is found, also one written by an older trainer. A recorded process may lack its
 * host or start here: checkProcess treats such a record as one it cannot verify.
 */
export type StatusFile = Partial<Omit<WrittenStatusFile, 'process' | 'launcher'>> & {
  process?: ProcessIdentity;
  launcher?: ProcessIdentity;
};

export interface StateInput {
  status?: StatusFile;
  /** run_finished.status, when the run wrote one. */
  finished?: 'completed' | 'stopped' | 'failed';
  /** Set for runs this window spawned and still tracks. */
  spawned?: { alive: boolean; exitCode?: number | null };
  /** Unix seconds of the newest event or file change, for runs without status.json. */
  lastActivity?: number;
  now: number;
  isPidAlive(pid: number): boolean;
  /** Whether a recorded process still runs; by identity, with isPidAlive for the pid, by default. */
  checkProcess?: (process: ProcessIdentity) => Liveness;
}

const ENDED = new Set(['completed', 'stopped', 'failed']);

export function deriveRunState(input: StateInput): RunState {
  if (input.finished) return input.finished;
  const status = input.status;
  if (status?.state && ENDED.has(status.state)) return status.state as RunState;
  if (input.spawned && !input.spawned.alive) {
    // A trainer that exits non-zero before writing run_finished failed at start-up (bad config,
    // missing package); one that exits 0 or by signal without an ending did not finish its work.
    return input.spawned.exitCode ? 'failed' : 'crashed';
  }
  // A Slurm job waiting for its nodes (written by `submit`); its trainer rewrites status.json when it starts.
  if (status?.state === 'queued') return 'starting';
  if (status?.state === 'running' || status?.state === 'starting') {
    const fresh = status.heartbeat !== undefined && input.now - status.heartbeat <= HEARTBEAT_STALE_SECONDS;
    return fresh && trainerMayRun(status, input) ? (status.state as RunState) : 'crashed';
  }
  if (input.spawned?.alive) return 'starting';
  if (input.lastActivity !== undefined) {
    return input.now - input.lastActivity <= HEARTBEAT_STALE_SECONDS ? 'running' : 'crashed';
  }
  return 'crashed';
}

/**
 * A trainer whose recorded identity no longer matches is gone, even when another process has its pid. One this
 * machine cannot check (another host, no start time) is left to the heartbeat; a status.json written before
 * identities were recorded has its pid alone.
 */
function trainerMayRun(status: StatusFile, input: StateInput): boolean {
  if (!status.process) return status.pid !== undefined && input.isPidAlive(status.pid);
  const check = input.checkProcess ?? ((process: ProcessIdentity) => checkProcess(process, { ...systemProbe, exists: input.isPidAlive }));
  return check(status.process) !== 'gone';
}

/**
 * Whole minutes since the training loop of a running run last beat, once that is `limitSeconds` or more; undefined
 * while it makes progress (and for trainers that record none). Its heartbeat thread goes on beating while the
 * loop hangs, so the state stays `running`; this is what tells the user it has stopped moving.
 */
export function stalledMinutes(status: StatusFile | undefined, state: RunState, now: number, limitSeconds: number): number | undefined {
  if (state !== 'running' || status?.state !== 'running' || typeof status.progress !== 'number') return undefined;
  const idle = now - status.progress;
  return idle >= limitSeconds ? Math.floor(idle / 60) : undefined;
}

/** What the Runs view shows instead of "running" for a stalled run. */
export function stallNote(run: Pick<RunSummary, 'stalledMinutes'>): string | undefined {
  return run.stalledMinutes === undefined ? undefined : `stalled: no step for ${run.stalledMinutes} min`;
}

/** Numbers read off the events; kept incrementally by the registry as events arrive. */
export interface EventFacts {
  configPath?: string;
  startedAt?: number;
  totalSteps?: number;
  step?: number;
  loss?: number;
  evalLoss?: number;
  tokensPerSecond?: number;
  /** Time of the first train event after (re)start, with its step, for the ETA. */
  rateOrigin?: { time: number; step: number };
  lastTrain?: { time: number; step: number };
  lastTime?: number;
  finished?: 'completed' | 'stopped' | 'failed';
  error?: { kind: string; message: string; hint: string };
  /** A Hub model being fetched; gone once the fetch is complete or the run has started. */
  download?: DownloadState;
  sweep?: { id: string; trial: number };
}

/**
 * A number field of an event, or undefined. Events are checked for their envelope only (events.ts), and a
 * file written by something other than the trainer may carry `"loss": "abc"`: a summary holds numbers or nothing,
 * or every panel that checks it (isRunSummary) would refuse the run.
 */
const numberOf = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);
const textOf = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

export function foldEvents(facts: EventFacts, events: readonly RunEvent[]): EventFacts {
  const next = { ...facts };
  for (const e of events) {
    next.lastTime = e.time;
    switch (e.type) {
      case 'run_started':
        next.startedAt ??= e.time;
        next.totalSteps = numberOf(e.total_steps);
        if (textOf(e.config_path)) next.configPath = e.config_path;
        next.sweep = sweepOf(e.config);
        // A resumed run restarts the clock: its rate is measured from its own first step.
        next.rateOrigin = undefined;
        next.finished = undefined;
        next.download = undefined;
        break;
      case 'download': {
        const [bytesDone, bytesTotal, filesDone, filesTotal] = [e.bytes_done, e.bytes_total, e.files_done, e.files_total].map(numberOf);
        const model = textOf(e.model);
        const file = textOf(e.file);
        if (bytesDone === undefined || bytesTotal === undefined || filesDone === undefined || filesTotal === undefined || model === undefined || file === undefined) break;
        const complete = bytesDone >= bytesTotal && filesDone >= filesTotal;
        next.download = complete ? undefined : { model, file, bytesDone, bytesTotal, filesDone, filesTotal };
        break;
      }
      case 'train':
        next.step = e.step;
        next.loss = numberOf(e.loss);
        next.tokensPerSecond = numberOf(e.tokens_per_s);
        if (e.step !== undefined) {
          next.rateOrigin ??= { time: e.time, step: e.step };
          next.lastTrain = { time: e.time, step: e.step };
        }
        break;
      case 'eval':
        next.evalLoss = numberOf(e.loss);
        break;
      case 'error':
        next.error = { kind: textOf(e.kind) ?? 'crash', message: textOf(e.message) ?? '(no message)', hint: textOf(e.hint) ?? '' };
        break;
      case 'run_finished':
        next.finished = (['completed', 'stopped', 'failed'] as const).find((status) => status === e.status) ?? 'failed';
        next.download = undefined;
        break;
    }
  }
  return next;
}

/** The sweep a trial belongs to, from its resolved config (set by `sweep` as --set sweep_id / sweep_trial). */
function sweepOf(config: unknown): { id: string; trial: number } | undefined {
  const c = config as { sweep_id?: unknown; sweep_trial?: unknown } | undefined;
  return typeof c?.sweep_id === 'string' && Number.isSafeInteger(c.sweep_trial) ? { id: c.sweep_id, trial: c.sweep_trial as number } : undefined;
}

/** Seconds left at the pace since the first step of this (re)start; undefined until two steps exist. */
export function etaSeconds(facts: EventFacts): number | undefined {
  const { rateOrigin: origin, lastTrain: last, totalSteps: total } = facts;
  if (!origin || !last || total === undefined) return undefined;
  if (last.step >= total) return 0;
  const steps = last.step - origin.step;
  if (steps <= 0) return undefined;
  return ((last.time - origin.time) / steps) * (total - last.step);
}

export function summarize(runDir: string, facts: EventFacts, state: RunState, pid?: number, stalled?: number): RunSummary {
  const summary: RunSummary = { runDir, name: path.basename(runDir), state };
  const set = <K extends keyof RunSummary>(key: K, value: RunSummary[K] | undefined) => {
    if (value !== undefined) summary[key] = value;
  };
  set('configPath', facts.configPath);
  set('sweep', facts.sweep);
  set('step', facts.step);
  set('totalSteps', facts.totalSteps);
  set('loss', facts.loss);
  set('evalLoss', facts.evalLoss);
  set('startedAt', facts.startedAt);
  if (state === 'starting' || state === 'running') {
    set('etaSeconds', etaSeconds(facts));
    set('download', facts.download);
    set('stalledMinutes', stalled);
  }
  set('tokensPerSecond', facts.tokensPerSecond);
  set('pid', pid);
  if (state === 'failed' || state === 'crashed') set('error', facts.error);
  return summary;
}
