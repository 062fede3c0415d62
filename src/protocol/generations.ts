// The generations panel: its messages (shared by src/webviews/generationsPanel.ts and
// webview/generations/main.ts) and the table model both sides use, so the table on screen, the
// exports and the diff documents agree on every cell.
import { hasOnlyKeys, isObject, isStep, isString, type ParamGuards } from './bridge';
import { isRunSummary } from './dashboard';
import type { RunEvent } from './events';
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

/** The generation in an event, or undefined for other events and malformed generation lines. */
export function generationOf(event: RunEvent): Generation | undefined {
  if (event.type !== 'generation') return undefined;
  const g = event as unknown as Record<string, unknown>;
  if (!isString(g.prompt_id) || !isString(g.prompt) || !isString(g.completion)) return undefined;
  const generation: Generation = {
    step: event.step ?? 0,
    promptId: g.prompt_id,
    prompt: g.prompt,
    completion: g.completion,
    maxNewTokens: typeof g.max_new_tokens === 'number' ? g.max_new_tokens : 0,
    temperature: typeof g.temperature === 'number' ? g.temperature : 0,
    topP: typeof g.top_p === 'number' ? g.top_p : 1,
  };
  if (isString(g.reference)) generation.reference = g.reference;
  if (typeof g.top_k === 'number') generation.topK = g.top_k;
  return generation;
}

export function generationsOf(events: readonly RunEvent[]): Generation[] {
  return events.flatMap((e) => generationOf(e) ?? []);
}

/** The trainer's exact match: equal after stripping surrounding whitespace. */
export function isExactMatch(completion: string, reference: string): boolean {
  return completion.trim() === reference.trim();
}

export function samplingText(g: Pick<Generation, 'maxNewTokens' | 'temperature' | 'topP' | 'topK'>): string {
  const decoding = g.temperature === 0 ? 'greedy' : `temperature ${g.temperature} · top_p ${g.topP}${g.topK ? ` · top_k ${g.topK}` : ''}`;
  return `${decoding} · max ${g.maxNewTokens} new tokens`;
}

export interface TableRow {
  promptId: string;
  prompt: string;
  reference?: string;
  /** The sampling parameters of the row's latest generation. */
  sampling: Generation;
  cells: Map<number, Generation>;
}

/** Rows are prompts in the order they first appeared, columns are steps ascending (step 0, the base model, first). */
export class GenerationTable {
  private readonly rowsById = new Map<string, TableRow>();
  private readonly stepSet = new Set<number>();
  private sortedSteps: number[] = [];

  add(generations: readonly Generation[]): void {
    for (const g of generations) {
      let row = this.rowsById.get(g.promptId);
      if (!row) {
        row = { promptId: g.promptId, prompt: g.prompt, sampling: g, cells: new Map() };
        this.rowsById.set(g.promptId, row);
      }
      // A resumed run may sample a step again: the later line wins, as in the judge's inputs.
      row.cells.set(g.step, g);
      row.prompt = g.prompt;
      if (g.reference !== undefined) row.reference = g.reference;
      if (g.step >= row.sampling.step) row.sampling = g;
      if (!this.stepSet.has(g.step)) {
        this.stepSet.add(g.step);
        this.sortedSteps = [...this.stepSet].sort((a, b) => a - b);
      }
    }
  }

  get steps(): readonly number[] {
    return this.sortedSteps;
  }

  get rows(): TableRow[] {
    return [...this.rowsById.values()];
  }

  cell(ref: CellRef): Generation | undefined {
    return this.rowsById.get(ref.promptId)?.cells.get(ref.step);
  }

  filtered(filter: TableFilter): TableRow[] {
    const query = filter.query.trim().toLowerCase();
    return this.rows.filter((row) => keeps(row, filter.only) && (!query || rowText(row).includes(query)));
  }
}

function keeps(row: TableRow, only: RowFilter): boolean {
  const steps = [...row.cells.keys()].sort((a, b) => a - b);
  const first = row.cells.get(steps[0]);
  const last = row.cells.get(steps[steps.length - 1]);
  switch (only) {
    case 'all':
      return true;
    case 'with-reference':
      return row.reference !== undefined;
    case 'mismatch':
      return row.reference !== undefined && last !== undefined && !isExactMatch(last.completion, row.reference);
    case 'changed':
      return first !== undefined && last !== undefined && first.completion !== last.completion;
  }
}

function rowText(row: TableRow): string {
  return [row.promptId, row.prompt, row.reference ?? '', ...[...row.cells.values()].map((g) => g.completion)].join('\n').toLowerCase();
}

/** Long format: one line per prompt and step, in table order. */
function exportRecords(rows: readonly TableRow[], steps: readonly number[]) {
  return rows.flatMap((row) =>
    steps.flatMap((step) => {
      const g = row.cells.get(step);
      if (!g) return [];
      return [
        {
          prompt_id: row.promptId,
          step,
          prompt: g.prompt,
          completion: g.completion,
          reference: row.reference ?? null,
          exact_match: row.reference === undefined ? null : isExactMatch(g.completion, row.reference),
          max_new_tokens: g.maxNewTokens,
          temperature: g.temperature,
          top_p: g.topP,
        },
      ];
    }),
  );
}

export function toJsonl(rows: readonly TableRow[], steps: readonly number[]): string {
  return exportRecords(rows, steps)
    .map((r) => `${JSON.stringify(r)}\n`)
    .join('');
}

export function toCsv(rows: readonly TableRow[], steps: readonly number[]): string {
  const records = exportRecords(rows, steps);
  const header = ['prompt_id', 'step', 'prompt', 'completion', 'reference', 'exact_match', 'max_new_tokens', 'temperature', 'top_p'] as const;
  const lines = [header.join(',')];
  for (const r of records) lines.push(header.map((k) => csvField(r[k])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

/**
 * RFC 4180 quoting; text that a spreadsheet would run as a formula (=, +, -, @, tab, CR at the
 * start) gets a leading apostrophe, since model output is untrusted.
 */
export function csvField(value: string | number | boolean | null): string {
  if (value === null) return '';
  if (typeof value !== 'string') return String(value);
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
