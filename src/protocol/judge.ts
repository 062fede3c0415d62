// The judge panel's messages, shared by src/webviews/judgePanel.ts and webview/judge/main.ts.
// The on-disk shapes (PromptRecord, JudgeSummary) are the judge engine's own.
import type { JudgeSummary, OrderRecord, PromptRecord } from './judgeRecords';
import { hasOnlyKeys, isFiniteNumber, isObject, isStep, isString, type ParamGuards } from './bridge';

export const JUDGE_VIEW_TYPE = 'sftStudio.judge';

/** A run that has generations, with the steps it sampled at. */
export interface JudgeableRun {
  runDir: string;
  name: string;
  steps: number[];
  /** Whether its prompts have references (so it can be judged against them). */
  hasReferences: boolean;
}

/** One side: a run's generations at one step. Two steps of one run compare two checkpoints. */
export interface SideChoice {
  runDir: string;
  step: number;
}

export type JudgeChoice =
  | { kind: 'reference'; match: 'exact' | 'normalized' }
  | { kind: 'openai'; baseURL: string; model: string }
  | { kind: 'vscode-lm'; modelId: string };

export const PROMPT_SETS = ['all', 'with-reference'] as const;
export type PromptSet = (typeof PROMPT_SETS)[number];

export interface StartParams {
  a: SideChoice;
  /** Another side, or the references of A's prompts. */
  b: SideChoice | 'reference';
  judge: JudgeChoice;
  prompts: PromptSet;
  concurrency: number;
  /** Spend cap in input + output tokens; absent = none. */
  maxTokens?: number;
}

/** A judgement as the panel shows it: live while it runs, read back from its folder afterwards. */
export interface JudgeView {
  id: string;
  dir: string;
  running: boolean;
  done: number;
  total: number;
  summary: JudgeSummary;
  records: PromptRecord[];
}

/** A judgement folder found under `<runs directory>/judge/`. */
export interface JudgeListing {
  id: string;
  dir: string;
  /** Absent when it never finished a summary (crashed or still running elsewhere). */
  summary?: JudgeSummary;
  /** A resumable judgement: it was started from this panel and has not judged every call. */
  resumable: boolean;
  /** Why its summary could not be read; the other judgements are listed as usual. */
  error?: string;
}

export type JudgeRequests = {
  start: { params: StartParams; result: { id: string } };
  cancel: { params: Record<string, never>; result: null };
  resume: { params: { id: string }; result: { id: string } };
  open: { params: { id: string }; result: JudgeView };
  /** Lists the chat models VS Code offers (vscode.lm). */
  listModels: { params: Record<string, never>; result: { models: { id: string; label: string }[] } };
  /** Asks for the endpoint's API key in a password box and keeps it in SecretStorage. */
  setApiKey: { params: { baseURL: string }; result: { stored: boolean } };
  export: { params: { id: string }; result: { path?: string } };
};

const isSide = (v: unknown): v is SideChoice =>
  isObject(v) && hasOnlyKeys(v, ['runDir', 'step']) && isString(v.runDir) && v.runDir.length > 0 && isStep(v.step);
const isHttpUrl = (v: unknown): v is string => isString(v) && /^https?:\/\/\S+$/.test(v);

export function isJudgeChoice(v: unknown): v is JudgeChoice {
  if (!isObject(v)) return false;
  switch (v.kind) {
    case 'reference':
      return hasOnlyKeys(v, ['kind', 'match']) && (v.match === 'exact' || v.match === 'normalized');
    case 'openai':
      return hasOnlyKeys(v, ['kind', 'baseURL', 'model']) && isHttpUrl(v.baseURL) && isString(v.model) && v.model.trim().length > 0;
    case 'vscode-lm':
      return hasOnlyKeys(v, ['kind', 'modelId']) && isString(v.modelId) && v.modelId.length > 0;
    default:
      return false;
  }
}

const isEmpty = (p: unknown): p is Record<string, never> => isObject(p) && Object.keys(p).length === 0;
const isId = (p: unknown): p is { id: string } => isObject(p) && hasOnlyKeys(p, ['id']) && isString(p.id) && /^[A-Za-z0-9._-]+$/.test(p.id);

const START_KEYS = ['a', 'b', 'judge', 'prompts', 'concurrency', 'maxTokens'];
export const MAX_CONCURRENCY = 64;

/**
 * Why `p` is not a valid StartParams, naming the first field at fault; undefined when it is valid.
 * The start request's guard, and the check on a stored panel-request.json before a resume trusts it.
 */
export function startParamsProblem(p: unknown): string | undefined {
  if (!isObject(p)) return 'the parameters are not an object';
  const unknown = Object.keys(p).filter((k) => !START_KEYS.includes(k));
  if (unknown.length > 0) return `unknown field ${unknown.map((k) => JSON.stringify(k)).join(', ')}`;
  if (!isSide(p.a)) return '"a" must be {"runDir", "step"} with a run folder and a step ≥ 0';
  if (p.b !== 'reference' && !isSide(p.b)) return '"b" must be {"runDir", "step"} or "reference"';
  if (!isJudgeChoice(p.judge)) {
    return '"judge" must be a reference match, an OpenAI-compatible endpoint (http(s) base URL and a model) or a VS Code chat model';
  }
  if (!(PROMPT_SETS as readonly unknown[]).includes(p.prompts)) return `"prompts" must be one of ${PROMPT_SETS.join(', ')}`;
  if (!(Number.isInteger(p.concurrency) && (p.concurrency as number) >= 1 && (p.concurrency as number) <= MAX_CONCURRENCY)) {
    return `"concurrency" must be a whole number from 1 to ${MAX_CONCURRENCY}`;
  }
  if (p.maxTokens !== undefined && !(isFiniteNumber(p.maxTokens) && p.maxTokens > 0)) return '"maxTokens" must be a positive number';
  return undefined;
}

export const judgeGuards: ParamGuards<JudgeRequests> = {
  start: (p): p is StartParams => startParamsProblem(p) === undefined,
  cancel: isEmpty,
  resume: isId,
  open: isId,
  listModels: isEmpty,
  setApiKey: (p): p is { baseURL: string } => isObject(p) && hasOnlyKeys(p, ['baseURL']) && isHttpUrl(p.baseURL),
  export: isId,
};

export type JudgeHostMessage =
  | { type: 'state'; runs: JudgeableRun[]; history: JudgeListing[]; current?: JudgeView }
  | { type: 'progress'; view: JudgeView }
  | { type: 'history'; history: JudgeListing[] };

export interface JudgeWebviewState {
  /** The judgement shown when the panel was closed. */
  id?: string;
}

const isRate = (v: unknown) => v === null || (isFiniteNumber(v) && v >= 0 && v <= 1);
const isCount = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
const STOP_REASONS: readonly unknown[] = ['budget', 'aborted', 'error'];

export function isJudgeSummary(v: unknown): v is JudgeSummary {
  return (
    isObject(v) &&
    ['wins', 'ties', 'losses', 'inconsistent', 'prompts', 'calls', 'errors'].every((k) => isCount(v[k])) &&
    ['resumed', 'pairs', 'input_tokens', 'output_tokens'].every((k) => v[k] === undefined || isCount(v[k])) &&
    ['win_rate', 'ci_low', 'ci_high', 'consistency', 'position_bias'].every((k) => isRate(v[k])) &&
    (v.cost === undefined || (isFiniteNumber(v.cost) && v.cost >= 0)) &&
    (v.stopped === undefined || STOP_REASONS.includes(v.stopped)) &&
    isString(v.judge) &&
    isString(v.a) &&
    isString(v.b) &&
    (v.message === undefined || isString(v.message))
  );
}

export function isOrderRecord(v: unknown): v is OrderRecord | null {
  return (
    v === null ||
    (isObject(v) &&
      (v.choice === undefined || v.choice === 0 || v.choice === 1 || v.choice === 2) &&
      (v.winner === undefined || v.winner === 'a' || v.winner === 'b' || v.winner === 'tie') &&
      (v.argument === undefined || isString(v.argument)) &&
      (v.error === undefined || isString(v.error)))
  );
}

export function isPromptRecord(v: unknown): v is PromptRecord {
  return (
    isObject(v) &&
    isString(v.prompt_id) &&
    isString(v.prompt) &&
    (v.reference === undefined || isString(v.reference)) &&
    isString(v.answer_a) &&
    isString(v.answer_b) &&
    (v.outcome === null || v.outcome === 'win' || v.outcome === 'tie' || v.outcome === 'loss') &&
    (v.consistent === null || typeof v.consistent === 'boolean') &&
    isOrderRecord(v.ab) &&
    isOrderRecord(v.ba)
  );
}

export function isJudgeView(v: unknown): v is JudgeView {
  return (
    isObject(v) &&
    isString(v.id) &&
    isString(v.dir) &&
    typeof v.running === 'boolean' &&
    isCount(v.done) &&
    isCount(v.total) &&
    isJudgeSummary(v.summary) &&
    Array.isArray(v.records) &&
    v.records.every(isPromptRecord)
  );
}

function isListing(v: unknown): v is JudgeListing {
  return (
    isObject(v) &&
    isString(v.id) &&
    isString(v.dir) &&
    typeof v.resumable === 'boolean' &&
    (v.summary === undefined || isJudgeSummary(v.summary)) &&
    (v.error === undefined || isString(v.error))
  );
}

const isRun = (v: unknown): v is JudgeableRun =>
  isObject(v) && isString(v.runDir) && isString(v.name) && Array.isArray(v.steps) && v.steps.every(isStep) && typeof v.hasReferences === 'boolean';

export function isJudgeHostMessage(v: unknown): v is JudgeHostMessage {
  if (!isObject(v)) return false;
  switch (v.type) {
    case 'state':
      return Array.isArray(v.runs) && v.runs.every(isRun) && Array.isArray(v.history) && v.history.every(isListing) && (v.current === undefined || isJudgeView(v.current));
    case 'progress':
      return isJudgeView(v.view);
    case 'history':
      return Array.isArray(v.history) && v.history.every(isListing);
    default:
      return false;
  }
}

export function isJudgeWebviewState(v: unknown): v is JudgeWebviewState {
  return isObject(v) && (v.id === undefined || (isString(v.id) && /^[A-Za-z0-9._-]+$/.test(v.id)));
}
