// The generations table both sides build (the panel's host for exports and diff documents, its app for
// the screen), so the table on screen, the exports and the diff documents agree on every cell.
import { isString } from '../protocol/bridge';
import type { RunEvent } from '../protocol/events';
import type { CellRef, Generation, RowFilter, TableFilter } from '../protocol/generations';

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
