// A run's metrics as columns, ready for uPlot. Train and eval events each fill one table keyed by
// step; appends are O(1), and a step that is not after the last one (a resumed run re-logging the
// steps after its checkpoint) cuts the table back to that step first, so lines never run backwards
// and a million points stay cheap to update.
import type { RunEvent } from '../../src/protocol/events';
import type { XAxis } from '../../src/protocol/dashboard';

export const TRAIN_FIELDS = ['loss', 'grad_norm', 'learning_rate', 'tokens_per_s', 'flops_per_s', 'mfu', 'mem_bytes'] as const;
export const EVAL_FIELDS = ['loss', 'token_accuracy', 'accuracy', 'f1', 'exact_match'] as const;
export type TrainField = (typeof TRAIN_FIELDS)[number];
export type EvalField = (typeof EVAL_FIELDS)[number];

export type Column = (number | null)[];

/** Rows sorted by step; `step`, `epoch` and `time` are the three possible x axes. */
export class MetricTable<F extends string> {
  readonly step: number[] = [];
  readonly epoch: Column = [];
  /** Seconds since the run started. */
  readonly time: number[] = [];
  readonly values: Record<F, Column>;
  /** Fields that had a value in some row: absent metrics get no line (and no scan of a million nulls). */
  private readonly present = new Set<F>();

  constructor(readonly fields: readonly F[]) {
    this.values = Object.fromEntries(fields.map((f) => [f, []])) as unknown as Record<F, Column>;
  }

  get length(): number {
    return this.step.length;
  }

  /** Appends a row; returns the first row index that changed. */
  put(step: number, epoch: number | null, time: number, row: Partial<Record<F, number>>): number {
    const at = this.truncateFrom(step);
    this.step.push(step);
    this.epoch.push(epoch);
    this.time.push(time);
    for (const f of this.fields) {
      const v = row[f];
      const value = typeof v === 'number' && Number.isFinite(v) ? v : null;
      if (value !== null) this.present.add(f);
      this.values[f].push(value);
    }
    return at;
  }

  x(axis: XAxis): Column {
    return axis === 'step' ? this.step : axis === 'epoch' ? this.epoch : this.time;
  }

  has(field: F): boolean {
    return this.present.has(field);
  }

  clear(): void {
    this.truncate(0);
    this.present.clear();
  }

  /** Drops rows at or after `step`; returns the new length. */
  private truncateFrom(step: number): number {
    const n = this.step.length;
    if (n === 0 || this.step[n - 1] < step) return n;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.step[mid] < step) lo = mid + 1;
      else hi = mid;
    }
    this.truncate(lo);
    return lo;
  }

  private truncate(length: number): void {
    this.step.length = length;
    this.epoch.length = length;
    this.time.length = length;
    for (const f of this.fields) this.values[f].length = length;
  }
}

/** Debiased exponential moving average (as TensorBoard smooths): no pull towards 0 at the start. */
export function emaInto(values: Column, weight: number, out: Column, from = 0): void {
  out.length = values.length;
  let last = 0;
  let count = 0;
  // The running state is rebuilt from the start (a cheap pass); only rows from `from` on are written.
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null) {
      if (i >= from) out[i] = null;
      continue;
    }
    last = last * weight + (1 - weight) * v;
    count++;
    if (i >= from) out[i] = weight === 0 ? v : last / (1 - weight ** count);
  }
}

export interface RunFacts {
  startTime?: number;
  totalSteps?: number;
  stepsPerEpoch?: number;
  numParameters?: number;
  trainableParameters?: number;
  device?: string;
  worldSize?: number;
  config?: Record<string, unknown>;
}

export class RunMetrics {
  readonly train = new MetricTable(TRAIN_FIELDS);
  readonly evaluation = new MetricTable(EVAL_FIELDS);
  readonly smoothed: Column = [];
  facts: RunFacts = {};
  private smoothing: number;

  constructor(smoothing = 0.6) {
    this.smoothing = smoothing;
  }

  /** Adds events; returns whether anything drawable changed. */
  add(events: readonly RunEvent[]): boolean {
    let firstTrainChange = Number.POSITIVE_INFINITY;
    let changed = false;
    for (const event of events) {
      if (event.type === 'run_started') {
        this.facts = {
          startTime: this.facts.startTime ?? event.time,
          totalSteps: event.total_steps,
          stepsPerEpoch: event.steps_per_epoch,
          numParameters: event.num_parameters,
          trainableParameters: event.trainable_parameters,
          device: event.device,
          worldSize: event.world_size,
          config: event.config as Record<string, unknown>,
        };
        changed = true;
        continue;
      }
      if (event.step === undefined) continue;
      this.facts.startTime ??= event.time;
      const time = event.time - this.facts.startTime;
      if (event.type === 'train') {
        const at = this.train.put(event.step, event.epoch, time, event);
        firstTrainChange = Math.min(firstTrainChange, at);
        changed = true;
      } else if (event.type === 'eval') {
        this.evaluation.put(event.step, event.epoch ?? this.epochOf(event.step), time, event);
        changed = true;
      }
    }
    if (Number.isFinite(firstTrainChange)) emaInto(this.train.values.loss, this.smoothing, this.smoothed, firstTrainChange);
    return changed;
  }

  setSmoothing(weight: number): void {
    this.smoothing = weight;
    emaInto(this.train.values.loss, weight, this.smoothed);
  }

  clear(): void {
    this.train.clear();
    this.evaluation.clear();
    this.smoothed.length = 0;
    this.facts = {};
  }

  private epochOf(step: number): number | null {
    return this.facts.stepsPerEpoch ? step / this.facts.stepsPerEpoch : null;
  }
}

/** One source of points for a chart: x and any number of y columns of the same length. */
export interface SeriesTable {
  x: Column;
  ys: Column[];
}

/**
 * Merges tables whose x columns ascend into uPlot's aligned form ([x, ...every table's ys]) in one
 * linear pass; rows with equal x share a row, missing values are null. A single table is returned
 * as is (no copy), which keeps the common one-run case allocation-free.
 */
export function alignTables(tables: readonly SeriesTable[]): Column[] {
  if (tables.length === 1 && !tables[0].x.includes(null)) return [tables[0].x, ...tables[0].ys];
  const width = tables.reduce((n, t) => n + t.ys.length, 0);
  const capacity = tables.reduce((n, t) => n + t.x.length, 0);
  // Preallocated and cut to length at the end: a million pushes per column cost several times more.
  const out: Column[] = Array.from({ length: width + 1 }, () => new Array<number | null>(capacity));
  const cursor = tables.map(() => 0);
  const offsets: number[] = [];
  tables.reduce((offset, t) => (offsets.push(offset), offset + t.ys.length), 1);
  let row = 0;
  for (;;) {
    let next = Number.POSITIVE_INFINITY;
    for (let t = 0; t < tables.length; t++) {
      const x = tables[t].x;
      // Rows without an x (an eval with no epoch on the epoch axis) cannot be placed; skip them.
      while (cursor[t] < x.length && x[cursor[t]] === null) cursor[t]++;
      if (cursor[t] < x.length && (x[cursor[t]] as number) < next) next = x[cursor[t]] as number;
    }
    if (next === Number.POSITIVE_INFINITY) break;
    out[0][row] = next;
    for (let t = 0; t < tables.length; t++) {
      const table = tables[t];
      const at = cursor[t];
      const hit = at < table.x.length && table.x[at] === next;
      for (let c = 0; c < table.ys.length; c++) out[offsets[t] + c][row] = hit ? table.ys[c][at] : null;
      if (hit) cursor[t]++;
    }
    row++;
  }
  for (const column of out) column.length = row;
  return out;
}
