// Which rows of train_file the trainer trains on: the validation hold-out drawn first, then the
// subsample, both seeded exactly as trainer/sft_studio/data.py (split_rows, subsample_rows) draws them.
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

export function subsampleRows(rows: readonly Row[], fraction: number, seed: number): Row[] {
  if (fraction >= 1) return [...rows];
  const keep = new Set(new PythonRandom(seed + 1).sampleRange(rows.length, Math.max(1, pythonRound(fraction * rows.length))));
  return rows.filter((_, i) => keep.has(i));
}
