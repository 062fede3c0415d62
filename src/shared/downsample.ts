// Which rows of a long metric table to draw: a chart a thousand pixels wide cannot show 200,000
// points, but a line through each pixel column's lowest and highest value looks the same as the full
// line (every spike stays). Used by the host (what a dashboard gets first) and by the webview (to keep
// a live run's table bounded); both keep whole rows, so every kept point is a real logged step.

/** A column read by index: a plain array with null for a missing value, or a typed array with NaN. */
export type IndexedColumn = ArrayLike<number | null>;

const missing = (v: number | null): boolean => v === null || v !== v;

/**
 * Row indices (ascending, unique) of [from, to) that keep, for every column, the row of its minimum
 * and the row of its maximum within each of `buckets` equal ranges of `x`, plus the first and the last
 * row. `x` must ascend (steps). With at most two rows per bucket to begin with, every row is kept.
 */
export function minMaxRows(x: IndexedColumn, columns: readonly IndexedColumn[], buckets: number, from = 0, to = x.length): number[] {
  const count = to - from;
  if (count <= 0) return [];
  if (count <= 2 * buckets) return Array.from({ length: count }, (_, i) => from + i);
  const x0 = x[from] as number;
  const span = (x[to - 1] as number) - x0;
  const bucketOf = (i: number) => (span > 0 ? Math.min(buckets - 1, Math.floor((((x[i] as number) - x0) / span) * buckets)) : 0);
  const kept: number[] = [from];
  const lowAt = new Array<number>(columns.length);
  const highAt = new Array<number>(columns.length);
  let bucket = -1;
  const emit = () => {
    const rows: number[] = [];
    for (let c = 0; c < columns.length; c++) {
      if (lowAt[c] >= 0) rows.push(lowAt[c], highAt[c]);
    }
    rows.sort((a, b) => a - b);
    for (const row of rows) if (row !== kept[kept.length - 1]) kept.push(row);
  };
  for (let i = from; i < to; i++) {
    const b = bucketOf(i);
    if (b !== bucket) {
      if (bucket >= 0) emit();
      bucket = b;
      lowAt.fill(-1);
      highAt.fill(-1);
    }
    for (let c = 0; c < columns.length; c++) {
      const v = columns[c][i];
      if (missing(v)) continue;
      if (lowAt[c] < 0) {
        lowAt[c] = i;
        highAt[c] = i;
      } else {
        if ((v as number) < (columns[c][lowAt[c]] as number)) lowAt[c] = i;
        if ((v as number) > (columns[c][highAt[c]] as number)) highAt[c] = i;
      }
    }
  }
  emit();
  if (kept[kept.length - 1] !== to - 1) kept.push(to - 1);
  return kept;
}
