// Messages between the dashboard host (src/webviews/dashboardPanel.ts) and its app
// (webview/dashboard/main.ts). Both import this file, so renaming a message is a compile error;
// both run the guards on receipt and ignore anything malformed.
import { hasOnlyKeys, isFiniteNumber, isObject, isString, isStringArray, MAX_STATE_PATH, type ParamGuards } from './bridge';
import { isRunEvent, type RunEvent } from './events';
import { isRunSummary, type RunSummary } from './runSummary';

export const DASHBOARD_VIEW_TYPE = 'sftStudio.dashboard';

/** Requests written to the run's control.jsonl (stop also signals the process). */
export const CONTROL_ACTIONS = ['stop', 'save', 'generate'] as const;
export type ControlAction = (typeof CONTROL_ACTIONS)[number];

export const X_AXES = ['step', 'epoch', 'time'] as const;
export type XAxis = (typeof X_AXES)[number];

/** The train metrics a dashboard draws; each is a column of the run's train table. */
export const TRAIN_FIELDS = ['loss', 'grad_norm', 'learning_rate', 'tokens_per_s', 'flops_per_s', 'mfu', 'mem_bytes'] as const;
export type TrainField = (typeof TRAIN_FIELDS)[number];

/**
 * Rows of a run's train table (one row per train event, in the host's order after a resume cut the
 * table back), as columns. Often a sample (downsample.ts): `row` says which rows these are.
 */
export interface TrainRows {
  /** Each row's index in the host's table, ascending; gaps are rows left out of a sample. */
  row: number[];
  step: number[];
  epoch: (number | null)[];
  /** Unix seconds. */
  time: number[];
  /** Only the metrics with a value in some row. */
  values: Partial<Record<TrainField, (number | null)[]>>;
}

/**
 * The events a dashboard draws from besides train rows (charts, best marker, checkpoint marks). A long
 * run's generations alone can be megabytes: they go to the Generations panel, not here.
 */
export const DASHBOARD_EVENT_TYPES: ReadonlySet<RunEvent['type']> = new Set(['run_started', 'eval', 'checkpoint', 'error', 'run_finished']);

/**
 * TrainRows as they travel to the page: one Float64Array per column, a missing value as NaN. VS Code hands
 * typed arrays to a webview as binary beside a small JSON message, so a long run's first state costs the
 * workbench a copy instead of parsing and cloning a hundred thousand numbers on its main thread.
 * Each column owns its buffer (VS Code sends a view's whole buffer).
 */
export interface TrainColumns {
  row: Float64Array;
  step: Float64Array;
  epoch: Float64Array;
  time: Float64Array;
  values: Partial<Record<TrainField, Float64Array>>;
}

/** The numeric fields of an evaluation that travel as columns (EvalEvent's, besides the envelope). */
export const EVAL_COLUMN_FIELDS = ['epoch', 'loss', 'perplexity', 'token_accuracy', 'accuracy', 'f1', 'exact_match'] as const;
export type EvalColumnField = (typeof EVAL_COLUMN_FIELDS)[number];

/**
 * A run's evaluations as Float64Array columns (a long run evaluates thousands of times: 300 KB of JSON as
 * objects). A field an evaluation lacks is NaN; `best` is 1, 0 or NaN (absent). Only evaluations that hold
 * nothing else travel this way, so nothing is lost: any other goes in `events` as it is.
 */
export interface EvalColumns {
  seq: Float64Array;
  time: Float64Array;
  step: Float64Array;
  best: Float64Array;
  values: Partial<Record<EvalColumnField, Float64Array>>;
}

/** A run as a dashboard draws it: its summary, its events other than train steps, and its train rows. */
export interface RunData<Train = TrainColumns> {
  run: RunSummary;
  /** Its events of DASHBOARD_EVENT_TYPES: starts, evaluations, checkpoints, errors, the ending. */
  events: RunEvent[];
  /** On the wire, its plain evaluations (taken out of `events`); the app puts them back in seq order. */
  evals?: EvalColumns;
  /** A sample of the whole table: about two rows per pixel column of a wide chart. */
  train: Train;
}

/** What changed in one shown run since the last message. */
export interface RunDelta<Train = TrainColumns> {
  run: RunSummary;
  /** New events of DASHBOARD_EVENT_TYPES. */
  events: RunEvent[];
  /** New rows: the app drops its rows from `train.row[0]` on (a resume re-logs steps) and appends these. */
  train?: Train;
}

/** App → host requests; each gets exactly one reply. */
export type DashboardRequests = {
  control: { params: { action: ControlAction }; result: { message: string } };
  /** Replaces the overlaid runs; the reply holds their data and the config fields that differ, deltas follow as they train. */
  compare: { params: { runDirs: string[] }; result: CompareResult };
  /** Full resolution (or `buckets` per range) of a shown run's rows whose x on `axis` lies in [min, max]: a zoomed chart. */
  detail: { params: DetailParams; result: DetailResult };
};

export interface CompareResult<Train = TrainColumns> {
  runs: RunData<Train>[];
  configDiff: ConfigDiff;
}

export interface DetailResult<Train = TrainColumns> {
  train: Train;
}

/** A config value as the comparison table shows it: objects and arrays as JSON text, long text cut. */
export type ConfigValue = string | number | boolean | null;

/**
 * The fields of config.resolved.json whose values differ among the shown runs (the dashboard's own
 * and the overlaid ones), read by the host from each run folder.
 */
export interface ConfigDiff {
  /** Field names, sorted. */
  fields: string[];
  /** One per shown run: its value of each field, in `fields` order (null where it has none). */
  runs: ConfigDiffRun[];
}

export interface ConfigDiffRun {
  runDir: string;
  values: ConfigValue[];
  /** Why the run's config could not be read; its values are then all null. */
  error?: string;
}

/** Bounds a config diff from the host stays within; anything larger was not written by it. */
export const MAX_DIFF_FIELDS = 500;
export const MAX_CONFIG_TEXT = 1000;

export interface DetailParams {
  runDir: string;
  axis: XAxis;
  /** On the time axis, unix seconds. */
  min: number;
  max: number;
  buckets: number;
}

/** The most buckets a detail request may ask for: more than any screen is wide. */
export const MAX_DETAIL_BUCKETS = 8192;

export const dashboardGuards: ParamGuards<DashboardRequests> = {
  control: (p): p is { action: ControlAction } =>
    isObject(p) && hasOnlyKeys(p, ['action']) && (CONTROL_ACTIONS as readonly unknown[]).includes(p.action),
  compare: (p): p is { runDirs: string[] } =>
    isObject(p) && hasOnlyKeys(p, ['runDirs']) && isStringArray(p.runDirs) && p.runDirs.length <= 16 && p.runDirs.every((d) => d.length <= MAX_STATE_PATH),
  detail: (p): p is DetailParams =>
    isObject(p) &&
    hasOnlyKeys(p, ['runDir', 'axis', 'min', 'max', 'buckets']) &&
    isString(p.runDir) &&
    p.runDir.length <= MAX_STATE_PATH &&
    (X_AXES as readonly unknown[]).includes(p.axis) &&
    isFiniteNumber(p.min) &&
    isFiniteNumber(p.max) &&
    p.min <= p.max &&
    Number.isSafeInteger(p.buckets) &&
    (p.buckets as number) >= 1 &&
    (p.buckets as number) <= MAX_DETAIL_BUCKETS,
};

/** Host → app. `state` is the full picture (sent after every `ready`), the others are deltas. */
export const HostMessageType = {
  state: 'state',
  append: 'append',
  runs: 'runs',
} as const;

export interface StateMessage<Train = TrainColumns> extends RunData<Train> {
  type: typeof HostMessageType.state;
  /** Runs overlaid for comparison. */
  compare: RunData<Train>[];
  /** How the resolved configs of the run and the overlaid ones differ. */
  configDiff: ConfigDiff;
  /** Every run the window knows, for the compare picker. */
  available: PickableRun[];
}

/**
 * What the shown runs did since the last message, all runs in one message: the host sends at most
 * a few per second however fast a run logs.
 */
export interface AppendMessage<Train = TrainColumns> {
  type: typeof HostMessageType.append;
  runs: RunDelta<Train>[];
}

/** The set of known runs changed (sent only when a run appeared, went or was renamed). */
export interface RunsMessage {
  type: typeof HostMessageType.runs;
  available: PickableRun[];
}

/** A run as the compare picker offers it: only its folder and name (a window can know hundreds of runs). */
export interface PickableRun {
  runDir: string;
  name: string;
}

export const pickableRun = (run: RunSummary): PickableRun => ({ runDir: run.runDir, name: run.name });

const isPickableRun = (v: unknown): v is PickableRun =>
  isObject(v) && hasOnlyKeys(v, ['runDir', 'name']) && isString(v.runDir) && v.runDir.length <= MAX_STATE_PATH && isString(v.name) && v.name.length <= MAX_STATE_PATH;

/** What the host posts (train rows as columns). */
export type HostToWebview = StateMessage | AppendMessage | RunsMessage;
/** The same after the app unpacked the train rows (`unpackHostMessage`). */
export type HostMessageRows = StateMessage<TrainRows> | AppendMessage<TrainRows> | RunsMessage;

/** What the app persists with `setState`; the serializer reopens the same run from it after a reload. */
export interface DashboardWebviewState {
  runDir: string;
  compare?: string[];
  /** EMA weight of the smoothed train loss, in [0, 1). */
  smoothing?: number;
  xAxis?: XAxis;
  /** Ids of the charts drawn with a logarithmic y axis. */
  logScale?: string[];
  /** The comparison table's order (several runs shown). */
  compareSort?: SortOrder;
}

export interface SortOrder {
  /** A column of the comparison table, e.g. `run`, `config:learning_rate`, `bestMetric`. */
  key: string;
  direction: 'ascending' | 'descending';
}

const isSortOrder = (v: unknown): v is SortOrder =>
  isObject(v) && hasOnlyKeys(v, ['key', 'direction']) && isString(v.key) && v.key.length <= MAX_CONFIG_TEXT + 16 && (v.direction === 'ascending' || v.direction === 'descending');

const isEvents = (value: unknown): value is RunEvent[] => Array.isArray(value) && value.every(isRunEvent);

const COLUMN_KEYS = ['row', 'step', 'epoch', 'time', 'values'];

/** Rows as columns to post: fresh Float64Arrays, null as NaN. */
export function packTrainRows(rows: TrainRows): TrainColumns {
  const pack = (column: readonly (number | null)[]) => Float64Array.from(column, (v) => (v === null ? Number.NaN : v));
  const values: Partial<Record<TrainField, Float64Array>> = {};
  for (const field of TRAIN_FIELDS) {
    const column = rows.values[field];
    if (column) values[field] = pack(column);
  }
  return { row: pack(rows.row), step: pack(rows.step), epoch: pack(rows.epoch), time: pack(rows.time), values };
}

/** Columns as the app keeps them: plain arrays, NaN back to null. Check them with isTrainColumns first. */
export function unpackTrainRows(columns: TrainColumns): TrainRows {
  const numbers = (column: Float64Array) => Array.from(column);
  const orNull = (column: Float64Array) => Array.from(column, (v) => (Number.isNaN(v) ? null : v));
  const values: Partial<Record<TrainField, (number | null)[]>> = {};
  for (const field of TRAIN_FIELDS) {
    const column = columns.values[field];
    if (column) values[field] = orNull(column);
  }
  return { row: numbers(columns.row), step: numbers(columns.step), epoch: orNull(columns.epoch), time: numbers(columns.time), values };
}

/**
 * Columns of one length; rows are ascending whole numbers; steps and times finite; epochs and values finite
 * or NaN (missing); only metrics the dashboard draws.
 */
export function isTrainColumns(value: unknown): value is TrainColumns {
  if (!isObject(value) || !hasOnlyKeys(value, COLUMN_KEYS)) return false;
  const { row, step, epoch, time, values } = value;
  if (!(row instanceof Float64Array) || !(step instanceof Float64Array) || !(epoch instanceof Float64Array) || !(time instanceof Float64Array) || !isObject(values)) return false;
  const n = row.length;
  if (step.length !== n || epoch.length !== n || time.length !== n) return false;
  for (let i = 0; i < n; i++) {
    if (!Number.isSafeInteger(row[i]) || row[i] < 0 || (i > 0 && row[i] <= row[i - 1])) return false;
    if (!Number.isFinite(step[i]) || !Number.isFinite(time[i]) || epoch[i] === Number.POSITIVE_INFINITY || epoch[i] === Number.NEGATIVE_INFINITY) return false;
  }
  return isValueColumns(values, TRAIN_FIELDS, n);
}

const EVAL_ENVELOPE = new Set(['v', 'seq', 'time', 'type', 'step', 'best', ...EVAL_COLUMN_FIELDS]);

/** An evaluation whose every field has a column: it can travel as a row of EvalColumns. */
function isColumnarEval(event: RunEvent): boolean {
  if (event.type !== 'eval' || event.step === undefined) return false;
  const record = event as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(record)) {
    if (!EVAL_ENVELOPE.has(key)) return false;
    if (key === 'best' ? typeof value !== 'boolean' : key !== 'type' && !(typeof value === 'number' && Number.isFinite(value))) return false;
  }
  return true;
}

/** Splits a run's events into those that go as objects and its plain evaluations as columns. */
export function packEvents(events: readonly RunEvent[]): { events: RunEvent[]; evals?: EvalColumns } {
  const kept: RunEvent[] = [];
  const evals: Record<string, unknown>[] = [];
  for (const event of events) {
    if (isColumnarEval(event)) evals.push(event as unknown as Record<string, unknown>);
    else kept.push(event);
  }
  if (evals.length === 0) return { events: kept };
  const column = (key: string) => Float64Array.from(evals, (e) => (typeof e[key] === 'number' ? (e[key] as number) : Number.NaN));
  const values: Partial<Record<EvalColumnField, Float64Array>> = {};
  for (const field of EVAL_COLUMN_FIELDS) if (evals.some((e) => e[field] !== undefined)) values[field] = column(field);
  const best = Float64Array.from(evals, (e) => (e.best === undefined ? Number.NaN : e.best ? 1 : 0));
  return { events: kept, evals: { seq: column('seq'), time: column('time'), step: column('step'), best, values } };
}

/** The evaluations back as events, merged with the others in seq order. Check the columns with isEvalColumns first. */
export function unpackEvents(events: readonly RunEvent[], evals: EvalColumns | undefined): RunEvent[] {
  if (!evals) return [...events];
  const rebuilt: RunEvent[] = [];
  for (let i = 0; i < evals.seq.length; i++) {
    const e: Record<string, unknown> = { v: 1, seq: evals.seq[i], time: evals.time[i], type: 'eval', step: evals.step[i] };
    for (const field of EVAL_COLUMN_FIELDS) {
      const v = evals.values[field]?.[i];
      if (v !== undefined && !Number.isNaN(v)) e[field] = v;
    }
    if (!Number.isNaN(evals.best[i])) e.best = evals.best[i] === 1;
    rebuilt.push(e as unknown as RunEvent);
  }
  return [...events, ...rebuilt].sort((a, b) => a.seq - b.seq);
}

/** Columns of one length: whole non-negative seqs and steps, finite times, values finite or NaN, best 0, 1 or NaN. */
export function isEvalColumns(value: unknown): value is EvalColumns {
  if (!isObject(value) || !hasOnlyKeys(value, ['seq', 'time', 'step', 'best', 'values'])) return false;
  const { seq, time, step, best, values } = value;
  if (!(seq instanceof Float64Array) || !(time instanceof Float64Array) || !(step instanceof Float64Array) || !(best instanceof Float64Array) || !isObject(values)) return false;
  const n = seq.length;
  if (time.length !== n || step.length !== n || best.length !== n) return false;
  for (let i = 0; i < n; i++) {
    if (!Number.isSafeInteger(seq[i]) || seq[i] < 0 || !Number.isSafeInteger(step[i]) || step[i] < 0 || !Number.isFinite(time[i])) return false;
    if (!(best[i] === 0 || best[i] === 1 || Number.isNaN(best[i]))) return false;
  }
  return isValueColumns(values, EVAL_COLUMN_FIELDS, n);
}

/** Metric columns: each one of `fields`, a Float64Array of `n` values, finite or NaN (missing). */
function isValueColumns(values: Record<string, unknown>, fields: readonly string[], n: number): boolean {
  return Object.entries(values).every(
    ([field, column]) =>
      fields.includes(field) &&
      column instanceof Float64Array &&
      column.length === n &&
      column.every((v) => v !== Number.POSITIVE_INFINITY && v !== Number.NEGATIVE_INFINITY),
  );
}

const isConfigValue = (v: unknown): v is ConfigValue =>
  v === null || typeof v === 'boolean' || isFiniteNumber(v) || (isString(v) && v.length <= MAX_CONFIG_TEXT);

export function isConfigDiff(value: unknown): value is ConfigDiff {
  if (!isObject(value) || !hasOnlyKeys(value, ['fields', 'runs'])) return false;
  const { fields, runs } = value;
  if (!isStringArray(fields) || fields.length > MAX_DIFF_FIELDS || !fields.every((f) => f.length > 0 && f.length <= MAX_CONFIG_TEXT)) return false;
  return (
    Array.isArray(runs) &&
    runs.length <= 17 &&
    runs.every(
      (r) =>
        isObject(r) &&
        hasOnlyKeys(r, ['runDir', 'values', 'error']) &&
        isString(r.runDir) &&
        r.runDir.length <= MAX_STATE_PATH &&
        Array.isArray(r.values) &&
        r.values.length === fields.length &&
        r.values.every(isConfigValue) &&
        (r.error === undefined || (isString(r.error) && r.error.length <= MAX_STATE_PATH + MAX_CONFIG_TEXT)),
    )
  );
}

/** The reply to a `compare` request, checked by the app before it uses it. */
export function isCompareResult(value: unknown): value is CompareResult {
  return isObject(value) && hasOnlyKeys(value, ['runs', 'configDiff']) && Array.isArray(value.runs) && value.runs.every(isRunData) && isConfigDiff(value.configDiff);
}

/** The reply to a `detail` request, checked by the app before it uses it. */
export function isDetailResult(value: unknown): value is DetailResult {
  return isObject(value) && hasOnlyKeys(value, ['train']) && isTrainColumns(value.train);
}

function isRunData(value: unknown): value is RunData {
  return (
    isObject(value) &&
    isRunSummary(value.run) &&
    isEvents(value.events) &&
    (value.evals === undefined || isEvalColumns(value.evals)) &&
    isTrainColumns(value.train)
  );
}

/** A checked run's data as the app keeps it: rows unpacked, evaluations back among its events. */
export function unpackRunData(data: RunData): RunData<TrainRows> {
  return { run: data.run, events: unpackEvents(data.events, data.evals), train: unpackTrainRows(data.train) };
}

function isRunDelta(value: unknown): value is RunDelta {
  return isObject(value) && isRunSummary(value.run) && isEvents(value.events) && (value.train === undefined || isTrainColumns(value.train));
}

/** A checked host message with every run's rows unpacked for the app. */
export function unpackHostMessage(message: HostToWebview): HostMessageRows {
  switch (message.type) {
    case HostMessageType.state: {
      const { evals: _, ...rest } = message;
      return { ...rest, ...unpackRunData(message), compare: message.compare.map(unpackRunData) };
    }
    case HostMessageType.append:
      return { ...message, runs: message.runs.map((r) => (r.train ? { ...r, train: unpackTrainRows(r.train) } : { run: r.run, events: r.events })) };
    default:
      return message;
  }
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
        value.available.every(isPickableRun) &&
        isConfigDiff(value.configDiff)
      );
    case HostMessageType.append:
      return Array.isArray(value.runs) && value.runs.every(isRunDelta);
    case HostMessageType.runs:
      return Array.isArray(value.available) && value.available.every(isPickableRun);
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
    (value.xAxis === undefined || (X_AXES as readonly unknown[]).includes(value.xAxis)) &&
    (value.logScale === undefined || (isStringArray(value.logScale) && value.logScale.length <= 64 && value.logScale.every((id) => id.length <= 64))) &&
    (value.compareSort === undefined || isSortOrder(value.compareSort))
  );
}
