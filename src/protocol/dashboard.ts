// Messages between the dashboard host (src/webviews/dashboardPanel.ts) and its app
// (webview/dashboard/main.ts). Both import this file, so renaming a message is a compile error;
// both run the guards on receipt and ignore anything malformed.
import { hasOnlyKeys, isFiniteNumber, isObject, isString, isStringArray, type ParamGuards } from './bridge';
import { isRunEvent, type RunEvent } from './events';
import { RUN_STATES, type RunSummary } from './runSummary';

export const DASHBOARD_VIEW_TYPE = 'sftStudio.dashboard';

/** Requests written to the run's control.jsonl (stop also signals the process). */
export const CONTROL_ACTIONS = ['stop', 'save', 'generate'] as const;
export type ControlAction = (typeof CONTROL_ACTIONS)[number];

/** A run's summary and every event it has written so far. */
export interface RunData {
  run: RunSummary;
  events: RunEvent[];
}

/** App → host requests; each gets exactly one reply. */
export type DashboardRequests = {
  control: { params: { action: ControlAction }; result: { message: string } };
  /** Replaces the overlaid runs; the reply holds their data, deltas follow as they train. */
  compare: { params: { runDirs: string[] }; result: { runs: RunData[] } };
};

export const dashboardGuards: ParamGuards<DashboardRequests> = {
  control: (p): p is { action: ControlAction } =>
    isObject(p) && hasOnlyKeys(p, ['action']) && (CONTROL_ACTIONS as readonly unknown[]).includes(p.action),
  compare: (p): p is { runDirs: string[] } => isObject(p) && hasOnlyKeys(p, ['runDirs']) && isStringArray(p.runDirs) && p.runDirs.length <= 16,
};

/** Host → app. `state` is the full picture (sent after every `ready`), the others are deltas. */
export const HostMessageType = {
  state: 'state',
  events: 'events',
  runs: 'runs',
} as const;

export interface StateMessage extends RunData {
  type: typeof HostMessageType.state;
  /** Runs overlaid for comparison. */
  compare: RunData[];
  /** Every run the window knows, for the compare picker. */
  available: RunSummary[];
}

/** New events of the shown run or of an overlaid one (`run.runDir` says which). */
export interface EventsMessage extends RunData {
  type: typeof HostMessageType.events;
}

/** The set of known runs changed. */
export interface RunsMessage {
  type: typeof HostMessageType.runs;
  available: RunSummary[];
}

export type HostToWebview = StateMessage | EventsMessage | RunsMessage;

export const X_AXES = ['step', 'epoch', 'time'] as const;
export type XAxis = (typeof X_AXES)[number];

/** What the app persists with `setState`; the serializer reopens the same run from it after a reload. */
export interface DashboardWebviewState {
  runDir: string;
  compare?: string[];
  /** EMA weight of the smoothed train loss, in [0, 1). */
  smoothing?: number;
  xAxis?: XAxis;
}

function isRunData(value: unknown): value is RunData {
  return isObject(value) && isRunSummary(value.run) && Array.isArray(value.events) && value.events.every(isRunEvent);
}

export function isHostToWebview(value: unknown): value is HostToWebview {
  if (!isObject(value)) return false;
  switch (value.type) {
    case HostMessageType.state:
      return (
        isRunData(value) &&
        Array.isArray(value.compare) &&
        value.compare.every(isRunData) &&
        Array.isArray(value.available) &&
        value.available.every(isRunSummary)
      );
    case HostMessageType.events:
      return isRunData(value);
    case HostMessageType.runs:
      return Array.isArray(value.available) && value.available.every(isRunSummary);
    default:
      return false;
  }
}

export function isDashboardWebviewState(value: unknown): value is DashboardWebviewState {
  return (
    isObject(value) &&
    isString(value.runDir) &&
    value.runDir.length > 0 &&
    (value.compare === undefined || isStringArray(value.compare)) &&
    (value.smoothing === undefined || (isFiniteNumber(value.smoothing) && value.smoothing >= 0 && value.smoothing < 1)) &&
    (value.xAxis === undefined || (X_AXES as readonly unknown[]).includes(value.xAxis))
  );
}

export function isRunSummary(value: unknown): value is RunSummary {
  if (!isObject(value)) return false;
  const optionalNumbers = ['step', 'totalSteps', 'loss', 'evalLoss', 'startedAt', 'etaSeconds', 'tokensPerSecond', 'pid'];
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
