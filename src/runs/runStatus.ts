// What state a run is in, and its one-line summary, derived from the run folder alone so that a
// reloaded window reaches the same answer as the window that started the run.
import * as path from 'node:path';
import type { RunEvent } from '../protocol/events';
import type { DownloadState, RunState, RunSummary } from '../protocol/runSummary';

/** A heartbeat older than this means the trainer is gone or hung (it beats every few seconds). */
export const HEARTBEAT_STALE_SECONDS = 30;

/** status.json as the trainer writes it; every field optional because the file is read mid-run. */
export interface StatusFile {
  state?: string;
  pid?: number;
  heartbeat?: number;
  step?: number;
  total_steps?: number;
}

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
  if (status?.state === 'running' || status?.state === 'starting') {
    const fresh = status.heartbeat !== undefined && input.now - status.heartbeat <= HEARTBEAT_STALE_SECONDS;
    const alive = status.pid !== undefined && input.isPidAlive(status.pid);
    return fresh && alive ? (status.state as RunState) : 'crashed';
  }
  if (input.spawned?.alive) return 'starting';
  if (input.lastActivity !== undefined) {
    return input.now - input.lastActivity <= HEARTBEAT_STALE_SECONDS ? 'running' : 'crashed';
  }
  return 'crashed';
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
}

export function foldEvents(facts: EventFacts, events: readonly RunEvent[]): EventFacts {
  const next = { ...facts };
  for (const e of events) {
    next.lastTime = e.time;
    switch (e.type) {
      case 'run_started':
        next.startedAt ??= e.time;
        next.totalSteps = e.total_steps;
        if (e.config_path) next.configPath = e.config_path;
        // A resumed run restarts the clock: its rate is measured from its own first step.
        next.rateOrigin = undefined;
        next.finished = undefined;
        next.download = undefined;
        break;
      case 'download': {
        const complete = e.bytes_done >= e.bytes_total && e.files_done >= e.files_total;
        next.download = complete
          ? undefined
          : { model: e.model, file: e.file, bytesDone: e.bytes_done, bytesTotal: e.bytes_total, filesDone: e.files_done, filesTotal: e.files_total };
        break;
      }
      case 'train':
        next.step = e.step;
        next.loss = e.loss;
        next.tokensPerSecond = e.tokens_per_s;
        if (e.step !== undefined) {
          next.rateOrigin ??= { time: e.time, step: e.step };
          next.lastTrain = { time: e.time, step: e.step };
        }
        break;
      case 'eval':
        next.evalLoss = e.loss;
        break;
      case 'error':
        next.error = { kind: e.kind, message: e.message, hint: e.hint };
        break;
      case 'run_finished':
        next.finished = e.status;
        next.download = undefined;
        break;
    }
  }
  return next;
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

export function summarize(runDir: string, facts: EventFacts, state: RunState, pid?: number): RunSummary {
  const summary: RunSummary = { runDir, name: path.basename(runDir), state };
  const set = <K extends keyof RunSummary>(key: K, value: RunSummary[K] | undefined) => {
    if (value !== undefined) summary[key] = value;
  };
  set('configPath', facts.configPath);
  set('step', facts.step);
  set('totalSteps', facts.totalSteps);
  set('loss', facts.loss);
  set('evalLoss', facts.evalLoss);
  set('startedAt', facts.startedAt);
  if (state === 'starting' || state === 'running') {
    set('etaSeconds', etaSeconds(facts));
    set('download', facts.download);
  }
  set('tokensPerSecond', facts.tokensPerSecond);
  set('pid', pid);
  if (state === 'failed' || state === 'crashed') set('error', facts.error);
  return summary;
}
