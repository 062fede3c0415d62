// A run's train steps as columns of numbers, for the dashboards that show the run: read from
// events.jsonl when a dashboard opens (only train lines are parsed) and kept current by reading just
// the bytes appended since. Eight bytes per value in typed arrays, released with the panel; the
// registry itself never holds train steps.
import * as path from 'node:path';
import type { Disposable } from '../common/emitter';
import { TRAIN_FIELDS, type TrainField, type TrainRows, type XAxis } from '../protocol/dashboard';
import { minMaxRows } from '../shared/downsample';
import type { RunEvent } from '../protocol/events';
import { EventReader } from './eventReader';

/** A growable column of doubles; NaN marks a missing value. */
class NumberColumn {
  private data = new Float64Array(1024);
  length = 0;

  push(value: number): void {
    if (this.length === this.data.length) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = value;
  }

  at(i: number): number {
    return this.data[i];
  }

  view(): Float64Array {
    return this.data.subarray(0, this.length);
  }
}

const finiteOrNaN = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : Number.NaN);
const orNull = (v: number): number | null => (v === v ? v : null);

export class TrainSeries implements Disposable {
  private readonly reader: EventReader;
  private readonly step = new NumberColumn();
  private readonly epoch = new NumberColumn();
  private readonly time = new NumberColumn();
  private readonly values = Object.fromEntries(TRAIN_FIELDS.map((f) => [f, new NumberColumn()])) as Record<TrainField, NumberColumn>;
  /** The lowest row added or replaced since the last takeChanges(). */
  private changedFrom = 0;

  constructor(readonly runDir: string) {
    this.reader = new EventReader(path.join(runDir, 'events.jsonl'), { select: 'train', watch: false });
    this.reader.onEvents((events) => {
      for (const event of events) this.put(event);
    });
  }

  get length(): number {
    return this.step.length;
  }

  /**
   * Reads what the run appended since the last update (everything, the first time); with a budget,
   * as much as that allows. Resolves to whether it reached the end of the file.
   */
  update(budgetMs?: number): Promise<boolean> {
    return this.reader.catchUp(budgetMs);
  }

  /** Rows [from, to), downsampled to min/max per bucket when there are more than two per bucket. */
  sample(buckets: number, from = 0, to = this.length): TrainRows {
    const present = TRAIN_FIELDS.filter((f) => this.hasValue(f, from, to));
    return this.rows(minMaxRows(this.step.view(), present.map((f) => this.values[f].view()), buckets, from, to), present);
  }

  /** The rows whose x on `axis` lies in [min, max] (unix seconds on the time axis), sampled. */
  detail(axis: XAxis, min: number, max: number, buckets: number): TrainRows {
    const x = axis === 'step' ? this.step : axis === 'epoch' ? this.epoch : this.time;
    let from = 0;
    while (from < this.length && !(x.at(from) >= min)) from++;
    let to = this.length;
    while (to > from && !(x.at(to - 1) <= max)) to--;
    return this.sample(buckets, from, to);
  }

  /** Everything is in the message being sent: the next delta starts after it. */
  markSent(): void {
    this.changedFrom = this.length;
  }

  /** Rows added or replaced since the last call (sampled when a burst is long), or undefined. */
  takeChanges(buckets: number): TrainRows | undefined {
    const from = this.changedFrom;
    this.changedFrom = this.length;
    return from < this.length ? this.sample(buckets, from) : undefined;
  }

  dispose(): void {
    this.reader.close();
  }

  private put(event: RunEvent): void {
    if (event.type !== 'train' || event.step === undefined) return;
    // A resumed run logs again the steps after its checkpoint: those rows are replaced, not doubled.
    const at = this.rowOfStep(event.step);
    if (at < this.length) this.truncate(at);
    this.changedFrom = Math.min(this.changedFrom, at);
    this.step.push(event.step);
    this.epoch.push(finiteOrNaN(event.epoch));
    this.time.push(event.time);
    const fields = event as unknown as Record<string, unknown>;
    for (const f of TRAIN_FIELDS) this.values[f].push(finiteOrNaN(fields[f]));
  }

  /** The first row whose step is at or after `step` (binary search; steps ascend). */
  private rowOfStep(step: number): number {
    let lo = 0;
    let hi = this.length;
    if (hi === 0 || this.step.at(hi - 1) < step) return hi;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.step.at(mid) < step) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private truncate(length: number): void {
    for (const column of [this.step, this.epoch, this.time, ...Object.values(this.values)]) column.length = length;
  }

  private hasValue(field: TrainField, from: number, to: number): boolean {
    const column = this.values[field];
    for (let i = from; i < to; i++) if (column.at(i) === column.at(i)) return true;
    return false;
  }

  private rows(indices: readonly number[], fields: readonly TrainField[]): TrainRows {
    const pick = (column: NumberColumn) => indices.map((i) => column.at(i));
    return {
      row: [...indices],
      step: pick(this.step),
      epoch: indices.map((i) => orNull(this.epoch.at(i))),
      time: pick(this.time),
      values: Object.fromEntries(fields.map((f) => [f, indices.map((i) => orNull(this.values[f].at(i)))])),
    };
  }
}
