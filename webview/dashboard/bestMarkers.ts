// Where a chart of evaluation metrics marks each shown run's best evaluation: a line at its x, and a
// dot on the metric's own line where the chart draws that metric. No DOM here (unit-tested as is).
import { bestText, type BestEvaluation } from '../../src/shared/bestCheckpoint';
import type { XAxis } from '../../src/protocol/dashboard';
import type { ChartMarker } from '../charts/chartMarker';
import type { MetricTable, RunMetrics } from '../charts/runMetrics';

export interface MarkedRun {
  name: string;
  metrics: RunMetrics;
  best?: BestEvaluation;
}

/** What of a chart's lines the markers depend on. */
export interface MarkedLine {
  table: 'train' | 'eval';
  /** The evaluation metric an eval line draws. */
  field?: string;
  present(m: RunMetrics): boolean;
}

/** A marker's colour: one run shown, or run `index` of several. */
export type MarkerColor = (index: number, single: boolean) => string;

export function bestMarkers(lines: readonly MarkedLine[], runs: readonly MarkedRun[], axis: XAxis, color: MarkerColor): ChartMarker[] {
  const markers: ChartMarker[] = [];
  if (!lines.some((l) => l.table === 'eval')) return markers;
  const single = runs.length === 1;
  runs.forEach((run, r) => {
    const best = run.best;
    if (!best) return;
    const x = xOfStep(run.metrics.evaluation, best.step, axis);
    if (x === undefined) return;
    const drawn = lines.some((l) => l.table === 'eval' && l.field === best.metric && l.present(run.metrics));
    const text = `best ${bestText(best)}${best.final ? '' : ' so far'}`;
    markers.push({
      x,
      y: drawn ? best.value : undefined,
      label: single ? 'best' : `best · ${run.name}`,
      title: single ? text : `${run.name}: ${text}`,
      color: color(r, single),
      key: single ? `best@${best.step}` : `${run.name}:best@${best.step}`,
    });
  });
  return markers;
}

/** Where a step lies on the x axis: the step itself, or the epoch or time of its evaluation. */
function xOfStep(table: Pick<MetricTable<string>, 'step' | 'x'>, step: number, axis: XAxis): number | undefined {
  if (axis === 'step') return step;
  const at = table.step.indexOf(step);
  if (at < 0) return undefined;
  const x = table.x(axis)[at];
  return x === null ? undefined : x;
}
