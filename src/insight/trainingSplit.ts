// PORT of trainer/sft_studio/data/dataset.py (split_rows, weight_rows, subsample_rows), held equal by
// test/unit/insight.crosscheck.unit.test.ts (hold-out, subsample and weighted train_files against the trainer):
// change the two together.
// Which rows the trainer trains on: the validation hold-out drawn first (from all sources' rows together),
// then the train_files weights, then the subsample, each seeded exactly as trainer/sft_studio/data/dataset.py
// (split_rows, weight_rows, subsample_rows) draws them.
import { DataError, type Row } from './datasetRows';
import { PythonRandom } from './pythonRandom';

/** Python's round(): halves go to the even neighbour. */
export function pythonRound(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

export function splitRows(rows: readonly Row[], validationRatio: number, seed: number): { train: Row[]; validation: Row[] } {
  if (validationRatio <= 0) return { train: [...rows], validation: [] };
  const held = Math.ceil(rows.length * validationRatio);
  const chosen = new Set(new PythonRandom(seed).sampleRange(rows.length, held));
  if (chosen.size === rows.length) {
    throw new DataError(
      `validation_split_ratio=${validationRatio} leaves no training row out of ${rows.length}`,
      'Lower `validation_split_ratio` or add rows.',
    );
  }
  return { train: rows.filter((_, i) => !chosen.has(i)), validation: rows.filter((_, i) => chosen.has(i)) };
}

/**
 * Source after source (Row.source = index into `weights`), its rows in the order given: floor(weight) copies of
 * all of them, then a seeded round(fraction * n) of them (file order) once more; a source with rows keeps at
 * least one. All weights 1 give the rows back as they were.
 */
export function weightRows(rows: readonly Row[], weights: readonly number[], seed: number): Row[] {
  if (weights.every((w) => w === 1)) return [...rows];
  const out: Row[] = [];
  weights.forEach((weight, index) => {
    const mine = rows.filter((row) => row.source === index);
    const whole = Math.trunc(weight);
    let extra = pythonRound((weight - whole) * mine.length);
    if (mine.length > 0 && whole === 0 && extra === 0) extra = 1;
    for (let k = 0; k < whole; k++) for (const row of mine) out.push(row);
    if (extra > 0) {
      const keep = new Set(new PythonRandom(seed + 2 + index).sampleRange(mine.length, extra));
      mine.forEach((row, i) => keep.has(i) && out.push(row));
    }
  });
  return out;
}

export function subsampleRows(rows: readonly Row[], fraction: number, seed: number): Row[] {
  if (fraction >= 1) return [...rows];
  const keep = new Set(new PythonRandom(seed + 1).sampleRange(rows.length, Math.max(1, pythonRound(fraction * rows.length))));
  return rows.filter((_, i) => keep.has(i));
}
