// The message envelope every panel shares. The app posts `ready` first; the host answers with the
// panel's full state and then deltas (notifications). Requests carry a `seq` and get exactly one
// `reply` with that seq. Each panel declares its requests as a RequestMap; the guards object is
// typed by the same map, so adding or renaming a request without its guard is a compile error.

/** method → what the app sends and what the host answers. */
export type RequestMap = Record<string, { params: unknown; result: unknown }>;

export const READY = 'ready';
export const REQUEST = 'request';
export const REPLY = 'reply';
/** Host → app when the panel's full state could not be built: the app shows the message and a retry. */
export const PANEL_ERROR = 'panel-error';

export interface ReadyMessage {
  type: typeof READY;
}

export type RequestMessage<R extends RequestMap, K extends keyof R & string = keyof R & string> = {
  [M in K]: { type: typeof REQUEST; seq: number; method: M; params: R[M]['params'] };
}[K];

export type ReplyMessage<T = unknown> =
  | { type: typeof REPLY; seq: number; ok: true; result: T }
  | { type: typeof REPLY; seq: number; ok: false; error: string };

/** One runtime check per request's params, named by the request. */
export type ParamGuards<R extends RequestMap> = { [K in keyof R]: (params: unknown) => params is R[K]['params'] };

export type AppToHost<R extends RequestMap> = ReadyMessage | RequestMessage<R>;

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isReady(value: unknown): value is ReadyMessage {
  return isObject(value) && value.type === READY && Object.keys(value).length === 1;
}

function isSeq(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/**
 * What the host makes of a message from the app: `ready`, a well-formed request, a request it
 * must refuse (it has a seq, so it still gets its one reply), or nothing (ignored).
 */
export type ParsedAppMessage<R extends RequestMap> =
  | { kind: 'ready' }
  | { kind: 'request'; request: RequestMessage<R> }
  | { kind: 'invalid'; seq: number; error: string }
  | { kind: 'ignored' };

export function parseAppMessage<R extends RequestMap>(value: unknown, guards: ParamGuards<R>): ParsedAppMessage<R> {
  if (isReady(value)) return { kind: 'ready' };
  if (!isObject(value) || value.type !== REQUEST || !isSeq(value.seq)) return { kind: 'ignored' };
  const method = value.method;
  if (typeof method !== 'string' || !Object.prototype.hasOwnProperty.call(guards, method)) {
    return { kind: 'invalid', seq: value.seq, error: `unknown request ${JSON.stringify(method)}` };
  }
  const guard = guards[method] as (params: unknown) => boolean;
  if (!guard(value.params)) return { kind: 'invalid', seq: value.seq, error: `malformed parameters for ${method}` };
  return { kind: 'request', request: value as unknown as RequestMessage<R> };
}

export interface PanelErrorMessage {
  type: typeof PANEL_ERROR;
  message: string;
}

export function isPanelError(value: unknown): value is PanelErrorMessage {
  return isObject(value) && value.type === PANEL_ERROR && typeof value.message === 'string' && hasOnlyKeys(value, ['type', 'message']);
}

export function isReply(value: unknown): value is ReplyMessage {
  if (!isObject(value) || value.type !== REPLY || !isSeq(value.seq)) return false;
  return value.ok === true ? 'result' in value : value.ok === false && typeof value.error === 'string';
}

/** Longest path a saved panel state may name: generous for real paths; a longer one was tampered with. */
export const MAX_STATE_PATH = 4096;

export const isString = (value: unknown): value is string => typeof value === 'string';
export const isFiniteNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
export const isStep = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;
export const isStringArray = (value: unknown): value is string[] => Array.isArray(value) && value.every(isString);

/** True when `value` is an object whose keys are all in `allowed` (no unexpected fields smuggled in). */
export function hasOnlyKeys(value: Record<string, unknown>, allowed: readonly string[]): boolean {
  return Object.keys(value).every((k) => allowed.includes(k));
}
