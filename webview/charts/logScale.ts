// What a logarithmic y axis can draw, without uPlot or the DOM (unit-tested on their own).
import type { Column } from './runMetrics';

/**
 * The columns a logarithmic axis can draw: y values at or below zero become gaps (x is kept). Copies,
 * so the run's own columns stay as they are for the linear view.
 */
export function positiveOnly(data: readonly Column[]): { data: Column[]; skipped: number } {
  let skipped = 0;
  const ys = data.slice(1).map((column) =>
    column.map((v) => {
      if (v === null || v > 0) return v;
      skipped++;
      return null;
    }),
  );
  return { data: [data[0], ...ys], skipped };
}

/** The data's range on a log axis, widened to one significant digit; [1, 10] when there is nothing positive to draw. */
export function logRange(min: number | null, max: number | null): [number, number] {
  if (min === null || max === null || !(min > 0) || !(max > 0)) return [1, 10];
  const low = roundTo(min, Math.floor);
  const high = roundTo(max, Math.ceil);
  return [low, high > low ? high : roundTo(max, (m) => Math.floor(m) + 1)];
}

/** `v` rounded at its first significant digit, computed on its decimal text (0.0001 / 10 ** -4 is not 1). */
function roundTo(v: number, round: (mantissa: number) => number): number {
  const [mantissa, exponent] = v.toExponential().split('e');
  return Number(`${round(Number(mantissa))}e${exponent}`);
}
