/** Shared by the sidebar, the status bar and the dashboard webview. */
import { isFiniteNumber, isObject } from './bridge';

/** `unreadable`: the folder could not be read (permissions, a directory where a file belongs); `error` says why. */
export const RUN_STATES = ['starting', 'running', 'completed', 'stopped', 'failed', 'crashed', 'unreadable'] as const;
export type RunState = (typeof RUN_STATES)[number];

export function isActiveState(state: RunState): boolean {
  return state === 'starting' || state === 'running';
}

export interface RunSummary {
  /** Absolute run folder; the run's identity everywhere. */
  runDir: string;
  /** Folder name, e.g. `tiny-20260101-000000`. */
  name: string;
  configPath?: string;
  state: RunState;
  step?: number;
  totalSteps?: number;
  loss?: number;
  evalLoss?: number;
  /** Unix seconds. */
  startedAt?: number;
  etaSeconds?: number;
  tokensPerSecond?: number;
  pid?: number;
  error?: { kind: string; message: string; hint: string };
  /** A running run whose training loop has not moved for sftStudio.stallMinutes or more: whole minutes since. */
  stalledMinutes?: number;
  /** Fetching a Hub model before training, while it lasts (from the latest `download` event). */
  download?: DownloadState;
  /** A sweep's trial: the sweep's id and the trial's index (run_started config sweep_id / sweep_trial). */
  sweep?: { id: string; trial: number };
}

export interface DownloadState {
  model: string;
  file: string;
  bytesDone: number;
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
}

export function isRunSummary(value: unknown): value is RunSummary {
  if (!isObject(value)) return false;
  const optionalNumbers = ['step', 'totalSteps', 'loss', 'evalLoss', 'startedAt', 'etaSeconds', 'tokensPerSecond', 'pid', 'stalledMinutes'];
  return (
    typeof value.runDir === 'string' &&
    typeof value.name === 'string' &&
    (RUN_STATES as readonly unknown[]).includes(value.state) &&
    (value.configPath === undefined || typeof value.configPath === 'string') &&
    optionalNumbers.every((k) => value[k] === undefined || typeof value[k] === 'number') &&
    (value.error === undefined ||
      (isObject(value.error) &&
        typeof value.error.kind === 'string' &&
        typeof value.error.message === 'string' &&
        typeof value.error.hint === 'string')) &&
    (value.download === undefined || isDownloadState(value.download))
  );
}

function isDownloadState(value: unknown): boolean {
  return (
    isObject(value) &&
    typeof value.model === 'string' &&
    typeof value.file === 'string' &&
    ['bytesDone', 'bytesTotal', 'filesDone', 'filesTotal'].every((k) => isFiniteNumber(value[k]) && (value[k] as number) >= 0)
  );
}
