// Messages between the dashboard host (src/webviews/dashboardPanel.ts) and its app
// (webview/dashboard/main.ts). Both import this file, so renaming a message is a compile error;
// both run the guards on receipt and ignore anything malformed.
import { isRunEvent, type RunEvent } from './events';
import { RUN_STATES, type RunSummary } from './runSummary';

export const DASHBOARD_VIEW_TYPE = 'sftStudio.dashboard';

/** App → host. */
export const WebviewMessageType = {
  ready: 'ready',
  stop: 'stop',
} as const;

export type WebviewToHost = { type: typeof WebviewMessageType.ready } | { type: typeof WebviewMessageType.stop };

/** Host → app. `state` is the full picture (sent after every `ready`), `events` a delta. */
export const HostMessageType = {
  state: 'state',
  events: 'events',
} as const;

export interface StateMessage {
  type: typeof HostMessageType.state;
  run: RunSummary;
  events: RunEvent[];
}

export interface EventsMessage {
  type: typeof HostMessageType.events;
  run: RunSummary;
  events: RunEvent[];
}

export type HostToWebview = StateMessage | EventsMessage;

/** What the app persists with `setState` so the serializer can reopen the same run after reload. */
export interface DashboardWebviewState {
  runDir: string;
}

export function isWebviewToHost(value: unknown): value is WebviewToHost {
  return (
    isObject(value) &&
    (value.type === WebviewMessageType.ready || value.type === WebviewMessageType.stop) &&
    Object.keys(value).length === 1
  );
}

export function isHostToWebview(value: unknown): value is HostToWebview {
  return (
    isObject(value) &&
    (value.type === HostMessageType.state || value.type === HostMessageType.events) &&
    isRunSummary(value.run) &&
    Array.isArray(value.events) &&
    value.events.every(isRunEvent)
  );
}

export function isDashboardWebviewState(value: unknown): value is DashboardWebviewState {
  return isObject(value) && typeof value.runDir === 'string' && value.runDir.length > 0;
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
        typeof value.error.hint === 'string'))
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
