// A run's metrics as columns, ready for uPlot. Train rows come from the host as TrainRows (a min/max
// sample of the run, then live deltas, then detail where a chart is zoomed); eval events fill a table
// keyed by step. A live run's train table is compacted back to a sample when it grows, so a
// dashboard left open on a long run draws a few thousand points per chart, never hundreds of
// thousands, while every spike stays visible (src/shared/downsample.ts).
import { TRAIN_FIELDS, type TrainRows, type XAxis } from '../../src/protocol/dashboard';
import { minMaxRows } from '../../src/shared/downsample';
import type { RunEvent } from '../../src/protocol/events';

export const EVAL_FIELDS = ['loss', 'token_accuracy', 'accuracy', 'f1', 'exact_match'] as const;
export type EvalField = (typeof EVAL_FIELDS)[number];

export type Column = (number | null)[];

/** Rows sorted by step; `step`, `epoch` and `time` are the three possible x axes. */
export class MetricTable<F extends string> {
  /** Each row's index in the host's table (train), or its order of arrival (eval). */
  readonly row: number[] = [];
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

  /** Appends a row, first dropping rows at or after its step (a resumed run logs them again); returns the first row index that changed. */
  put(step: number, epoch: number | null, time: number, row: Partial<Record<F, number>>): number {
    const at = this.truncateFrom(step);
    this.row.push(this.length === 0 ? 0 : this.row[this.length - 1] + 1);
    this.step.push(step);
    this.epoch.push(epoch);
    this.time.push(time);
    for (const f of this.fields) {
      const v = row[f];
      this.pushValue(f, typeof v === 'number' && Number.isFinite(v) ? v : null);
    }
    return at;
  }

  /** A delta: drops the rows from `rows.row[0]` on (the host replaced them) and appends `rows`; returns the first index that changed. */
  replaceFrom(rows: TrainRows, startTime: number): number {
    if (rows.row.length === 0) return this.length;
    const at = this.indexOfRow(rows.row[0]);
    this.truncate(at);
    this.append(rows, startTime, 0, rows.row.length);
    return at;
  }

  /** Detail for a zoomed chart: adds the rows not held yet, in row order; returns the first index that changed. */
  merge(rows: TrainRows, startTime: number): number {
    const incoming = rows.row.map((id, i) => ({ id, i })).filter(({ id }) => !this.holds(id));
    if (incoming.length === 0) return this.length;
    const first = this.indexOfRow(incoming[0].id);
    // Rebuild the tail from the first insertion: one linear merge of the held rows and the new ones.
    const tail = this.splice(first);
    let t = 0;
    for (const { id, i } of incoming) {
      while (t < tail.row.length && tail.row[t] < id) this.appendHeld(tail, t++);
      this.append(rows, startTime, i, i + 1);
    }
    while (t < tail.row.length) this.appendHeld(tail, t++);
    return first;
  }

  /** Keeps only the rows at these indices (ascending): the compaction of a long table. */
  keep(indices: readonly number[]): void {
    const columns: unknown[][] = [this.row, this.step, this.epoch, this.time, ...this.fields.map((f) => this.values[f])];
    for (const column of columns) {
      indices.forEach((from, to) => (column[to] = column[from]));
      column.length = indices.length;
    }
  }

  x(axis: XAxis): Column {
    return axis === 'step' ? this.step : axis === 'epoch' ? this.epoch : this.time;
  }

  has(field: F): boolean {
    return this.present.has(field);
  }

  presentFields(): F[] {
    return this.fields.filter((f) => this.present.has(f));
  }

  clear(): void {
    this.truncate(0);
    this.present.clear();
  }

  private append(rows: TrainRows, startTime: number, from: number, to: number): void {
    const values = rows.values as Partial<Record<string, Column>>;
    for (let i = from; i < to; i++) {
      this.row.push(rows.row[i]);
      this.step.push(rows.step[i]);
      this.epoch.push(rows.epoch[i]);
      this.time.push(rows.time[i] - startTime);
      for (const f of this.fields) this.pushValue(f, values[f]?.[i] ?? null);
    }
  }

  private appendHeld(tail: ReturnType<MetricTable<F>['splice']>, t: number): void {
    this.row.push(tail.row[t]);
    this.step.push(tail.step[t]);
    this.epoch.push(tail.epoch[t]);
    this.time.push(tail.time[t]);
    for (const f of this.fields) this.values[f].push(tail.values[f][t]);
  }

  /** Removes the rows from `at` on and returns them. */
  private splice(at: number) {
    const cut = <T>(column: T[]) => column.splice(at);
    return {
      row: cut(this.row),
      step: cut(this.step),
      epoch: cut(this.epoch),
      time: cut(this.time),
      values: Object.fromEntries(this.fields.map((f) => [f, cut(this.values[f])])) as Record<F, Column>,
    };
  }

  private pushValue(field: F, value: number | null): void {
    if (value !== null) this.present.add(field);
    this.values[field].push(value);
  }

  /** The first index whose row id is at or after `id`. */
  private indexOfRow(id: number): number {
    return lowerBound(this.row, id);
  }

  private holds(id: number): boolean {
    const at = lowerBound(this.row, id);
    return at < this.row.length && this.row[at] === id;
  }

  /** Drops rows at or after `step`; returns the new length. */
  private truncateFrom(step: number): number {
    const n = this.step.length;
    if (n === 0 || this.step[n - 1] < step) return n;
    const at = lowerBound(this.step, step);
    this.truncate(at);
    return at;
  }

  private truncate(length: number): void {
    this.row.length = length;
    this.step.length = length;
    this.epoch.length = length;
    this.time.length = length;
    for (const f of this.fields) this.values[f].length = length;
  }
}

function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Debiased exponential moving average (as TensorBoard smooths): no pull towards 0 at the start.
 * With `rows` (each value's row in the full table), a value that stands for a gap of k rows left out
 * of a sample weighs as k steps would: the line matches the full-resolution one closely.
 */
export function emaInto(values: Column, weight: number, out: Column, from = 0, rows?: readonly number[]): void {
  out.length = values.length;
  let last = 0;
  let steps = 0;
  let previousRow: number | undefined;
  // The running state is rebuilt from the start (a cheap pass); only rows from `from` on are written.
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null) {
      if (i >= from) out[i] = null;
      continue;
    }
    const gap = rows && previousRow !== undefined ? Math.max(1, rows[i] - previousRow) : 1;
    if (rows) previousRow = rows[i];
    const w = gap === 1 ? weight : weight ** gap;
    last = last * w + (1 - w) * v;
    steps += gap;
    if (i >= from) out[i] = weight === 0 ? v : last / (1 - weight ** steps);
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

/** Rows a live table may gain before it is compacted again (about 20 s of a run logging 200 steps/s). */
const COMPACT_GROWTH = 4000;

export class RunMetrics {
  readonly train = new MetricTable(TRAIN_FIELDS);
  readonly evaluation = new MetricTable(EVAL_FIELDS);
  readonly smoothed: Column = [];
  facts: RunFacts = {};
  private smoothing: number;
  private compactAt = COMPACT_GROWTH;

  constructor(smoothing = 0.6) {
    this.smoothing = smoothing;
  }

  /** Adds events other than train steps (a run's start, its evaluations); returns whether anything drawable changed. */
  add(events: readonly RunEvent[]): boolean {
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
      } else if (event.type === 'eval' && event.step !== undefined) {
        this.facts.startTime ??= event.time;
        this.evaluation.put(event.step, event.epoch ?? this.epochOf(event.step), event.time - this.facts.startTime, event);
        changed = true;
      }
    }
    return changed;
  }

  /** New train rows from the host (replacing its rows from the first one on); returns whether any arrived. */
  addRows(rows: TrainRows): boolean {
    if (rows.row.length === 0) return false;
    this.facts.startTime ??= rows.time[0];
    this.smooth(this.train.replaceFrom(rows, this.facts.startTime));
    return true;
  }

  /** Full-resolution rows of a zoomed range; returns whether any were new. */
  addDetail(rows: TrainRows): boolean {
    if (rows.row.length === 0) return false;
    this.facts.startTime ??= rows.time[0];
    const at = this.train.merge(rows, this.facts.startTime);
    if (at >= this.train.length) return false;
    this.smooth(at);
    return true;
  }

  /**
   * Once the table has grown by COMPACT_GROWTH rows since the last time, keeps only a min/max sample
   * of it (`buckets` per run); returns whether it did.
   */
  compactIfLong(buckets: number): boolean {
    if (this.train.length < this.compactAt) return false;
    const t = this.train;
    t.keep(minMaxRows(t.step, t.presentFields().map((f) => t.values[f]), buckets));
    this.compactAt = t.length + COMPACT_GROWTH;
    this.smooth(0);
    return true;
  }

  setSmoothing(weight: number): void {
    this.smoothing = weight;
    this.smooth(0);
  }

  clear(): void {
    this.train.clear();
    this.evaluation.clear();
    this.smoothed.length = 0;
    this.facts = {};
  }

  private smooth(from: number): void {
    emaInto(this.train.values.loss, this.smoothing, this.smoothed, from, this.train.row);
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
