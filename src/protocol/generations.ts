// The generations panel's messages, shared by src/webviews/generationsPanel.ts and
// webview/generations/main.ts. The table model both sides build from them is src/shared/generationTable.ts.
import { hasOnlyKeys, isObject, isStep, isString, type ParamGuards } from './bridge';
import { isRunSummary } from './runSummary';
import type { RunSummary } from './runSummary';

export const GENERATIONS_VIEW_TYPE = 'sftStudio.generations';

/** One completion of one prompt at one evaluation step. */
export interface Generation {
  step: number;
  promptId: string;
  prompt: string;
  completion: string;
  reference?: string;
  maxNewTokens: number;
  temperature: number;
  topP: number;
  topK?: number;
}

export const ROW_FILTERS = ['all', 'with-reference', 'mismatch', 'changed'] as const;
export type RowFilter = (typeof ROW_FILTERS)[number];

export interface TableFilter {
  /** Case-insensitive text searched in prompt, reference and every completion. */
  query: string;
  only: RowFilter;
}

export interface CellRef {
  step: number;
  promptId: string;
}

export const EXPORT_FORMATS = ['csv', 'jsonl'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export type GenerationsRequests = {
  /** Opens VS Code's diff editor between two cells' completions. */
  diff: { params: { left: CellRef; right: CellRef }; result: null };
  /** Asks where to save the rows the filter keeps; `path` is absent when the user cancelled. */
  export: { params: { format: ExportFormat; filter: TableFilter }; result: { path?: string; rows: number } };
};

const isCellRef = (v: unknown): v is CellRef => isObject(v) && hasOnlyKeys(v, ['step', 'promptId']) && isStep(v.step) && isString(v.promptId);
export const isTableFilter = (v: unknown): v is TableFilter =>
  isObject(v) && hasOnlyKeys(v, ['query', 'only']) && isString(v.query) && v.query.length <= 1000 && (ROW_FILTERS as readonly unknown[]).includes(v.only);

export const generationsGuards: ParamGuards<GenerationsRequests> = {
  diff: (p): p is { left: CellRef; right: CellRef } => isObject(p) && hasOnlyKeys(p, ['left', 'right']) && isCellRef(p.left) && isCellRef(p.right),
  export: (p): p is { format: ExportFormat; filter: TableFilter } =>
    isObject(p) && hasOnlyKeys(p, ['format', 'filter']) && (EXPORT_FORMATS as readonly unknown[]).includes(p.format) && isTableFilter(p.filter),
};

/** Host → app: `state` after every `ready`, then `generations` deltas. */
export type GenerationsHostMessage =
  | { type: 'state'; run: RunSummary; generations: Generation[] }
  | { type: 'generations'; run: RunSummary; generations: Generation[] };

export interface GenerationsWebviewState {
  runDir: string;
  filter?: TableFilter;
}

export function isGeneration(v: unknown): v is Generation {
  return (
    isObject(v) &&
    isStep(v.step) &&
    isString(v.promptId) &&
    isString(v.prompt) &&
    isString(v.completion) &&
    (v.reference === undefined || isString(v.reference)) &&
    typeof v.maxNewTokens === 'number' &&
    typeof v.temperature === 'number' &&
    typeof v.topP === 'number' &&
    (v.topK === undefined || typeof v.topK === 'number')
  );
}

export function isGenerationsHostMessage(v: unknown): v is GenerationsHostMessage {
  return (
    isObject(v) &&
    (v.type === 'state' || v.type === 'generations') &&
    isRunSummary(v.run) &&
    Array.isArray(v.generations) &&
    v.generations.every(isGeneration)
  );
}

export function isGenerationsWebviewState(v: unknown): v is GenerationsWebviewState {
  return isObject(v) && isString(v.runDir) && v.runDir.length > 0 && (v.filter === undefined || isTableFilter(v.filter));
}
