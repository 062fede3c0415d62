// Messages of the Sweep panel: the host sends the whole sweep (a few dozen trials) on `ready` and after every
// change of one of its runs; the app asks to open a trial's dashboard. Every message is checked on receipt.
import { hasOnlyKeys, isFiniteNumber, isObject, isStep, isString, MAX_STATE_PATH, type ParamGuards } from './bridge';

export const SWEEP_VIEW_TYPE = 'sftStudio.sweep';
export const SWEEP_METHODS = ['grid', 'random', 'bayes'] as const;
export type SweepMethod = (typeof SWEEP_METHODS)[number];

export type ParamValue = string | number | boolean;

export interface SweepTrialRow {
  index: number;
  runDir: string;
  params: Record<string, ParamValue>;
  /** pending (not started), or the run's state: starting, running, completed, stopped, failed, crashed. */
  status: string;
  /** Best evaluation of the objective metric so far. */
  objective: number | null;
  /** Its last evaluation. */
  finalObjective: number | null;
  bestStep: number | null;
  /** Ended by early stopping (pruned). */
  earlyStopped: boolean;
}

export interface SweepView {
  id: string;
  sweepDir: string;
  method: SweepMethod;
  metric: string;
  greaterIsBetter: boolean;
  /** Swept fields in the order the config writes them. */
  parameters: string[];
  /** Those sampled on a log scale (the scatter's x axis follows). */
  logParameters: string[];
  maxTrials: number | null;
  trials: SweepTrialRow[];
  bestTrial: number | null;
}

export interface SweepHostMessage {
  type: 'sweep';
  view: SweepView;
}

export type SweepRequests = {
  openRun: { params: { runDir: string }; result: boolean };
};

/** What the app keeps across reloads: the sort and the scatter's x field. */
export interface SweepWebviewState {
  sortKey: string;
  sortDescending: boolean;
  xParam: string;
}

const isPath = (value: unknown): value is string => isString(value) && value.length > 0 && value.length <= MAX_STATE_PATH;
const isNullableNumber = (value: unknown): value is number | null => value === null || isFiniteNumber(value);
const isParamValue = (value: unknown): value is ParamValue => isString(value) || isFiniteNumber(value) || typeof value === 'boolean';

export const sweepParamGuards: ParamGuards<SweepRequests> = {
  openRun: (params): params is { runDir: string } => isObject(params) && hasOnlyKeys(params, ['runDir']) && isPath(params.runDir),
};

function isTrialRow(value: unknown): value is SweepTrialRow {
  return (
    isObject(value) &&
    isStep(value.index) &&
    isPath(value.runDir) &&
    isObject(value.params) &&
    Object.values(value.params).every(isParamValue) &&
    isString(value.status) &&
    isNullableNumber(value.objective) &&
    isNullableNumber(value.finalObjective) &&
    (value.bestStep === null || isStep(value.bestStep)) &&
    typeof value.earlyStopped === 'boolean'
  );
}

export function isSweepView(value: unknown): value is SweepView {
  return (
    isObject(value) &&
    isString(value.id) &&
    isPath(value.sweepDir) &&
    (SWEEP_METHODS as readonly unknown[]).includes(value.method) &&
    isString(value.metric) &&
    typeof value.greaterIsBetter === 'boolean' &&
    Array.isArray(value.parameters) &&
    value.parameters.every(isString) &&
    Array.isArray(value.logParameters) &&
    value.logParameters.every(isString) &&
    (value.maxTrials === null || isStep(value.maxTrials)) &&
    Array.isArray(value.trials) &&
    value.trials.every(isTrialRow) &&
    (value.bestTrial === null || isStep(value.bestTrial))
  );
}

export function isSweepHostMessage(value: unknown): value is SweepHostMessage {
  return isObject(value) && value.type === 'sweep' && hasOnlyKeys(value, ['type', 'view']) && isSweepView(value.view);
}

/** A saved state from an older page or a tampered one is replaced by the defaults field by field. */
export function sanitizeSweepState(value: unknown): Partial<SweepWebviewState> {
  if (!isObject(value)) return {};
  const out: Partial<SweepWebviewState> = {};
  if (isString(value.sortKey) && value.sortKey.length <= 200) out.sortKey = value.sortKey;
  if (typeof value.sortDescending === 'boolean') out.sortDescending = value.sortDescending;
  if (isString(value.xParam) && value.xParam.length <= 200) out.xParam = value.xParam;
  return out;
}
