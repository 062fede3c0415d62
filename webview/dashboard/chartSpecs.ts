// Which charts the dashboard shows and which columns feed each one. Every run overlaid gets its own
// colour; within a run, the raw train loss is faint under its smoothed line and eval is dashed.
import type { BestEvaluation } from '../../src/shared/bestCheckpoint';
import type { XAxis } from '../../src/protocol/dashboard';
import { formatDuration } from '../../src/shared/format';
import type { ChartContent, ChartSeries } from '../charts/metricChart';
import { alignTables, type Column, type RunMetrics, type SeriesTable } from '../charts/runMetrics';
import { themeColor } from '../ui/dom';
import { bestMarkers } from './bestMarkers';

type LineKind = 'raw' | 'smooth' | 'eval' | 'plain';

interface Line {
  table: 'train' | 'eval';
  label: string;
  kind: LineKind;
  /** The evaluation metric an eval line draws (what a best marker's dot sits on). */
  field?: string;
  column(m: RunMetrics): Column;
  present(m: RunMetrics): boolean;
}

export interface ChartSpec {
  id: string;
  title: string;
  format(value: number): string;
  lines: Line[];
}

const train = (field: Parameters<RunMetrics['train']['has']>[0], label: string, kind: LineKind = 'plain'): Line => ({
  table: 'train',
  label,
  kind,
  column: (m) => m.train.values[field],
  present: (m) => m.train.has(field),
});
const evaluation = (field: Parameters<RunMetrics['evaluation']['has']>[0], label: string, kind: LineKind = 'eval'): Line => ({
  table: 'eval',
  label,
  kind,
  field,
  column: (m) => m.evaluation.values[field],
  present: (m) => m.evaluation.has(field),
});

export const compact = (v: number): string => {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1e12) return `${(v / 1e12).toPrecision(3)}T`;
  if (a >= 1e9) return `${(v / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${(v / 1e3).toPrecision(3)}k`;
  if (a < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(3)));
};
const percent = (v: number) => `${Number((v * 100).toPrecision(3))}%`;
const gib = (v: number) => `${(v / 2 ** 30).toFixed(2)} GiB`;

export const CHARTS: ChartSpec[] = [
  // Train and eval loss are separate charts: rows of the two tables rarely share an x, and one chart
  // for both would need a million-row merge on every redraw of a long run.
  {
    id: 'loss-chart',
    title: 'Train loss',
    format: compact,
    lines: [
      train('loss', 'train loss', 'raw'),
      {
        table: 'train',
        label: 'train loss (smoothed)',
        kind: 'smooth',
        column: (m) => m.smoothed,
        present: (m) => m.train.has('loss'),
      },
    ],
  },
  { id: 'eval-loss-chart', title: 'Eval loss', format: compact, lines: [evaluation('loss', 'eval loss')] },
  { id: 'lr-chart', title: 'Learning rate', format: compact, lines: [train('learning_rate', 'learning rate')] },
  { id: 'grad-norm-chart', title: 'Gradient norm', format: compact, lines: [train('grad_norm', 'grad norm')] },
  { id: 'throughput-chart', title: 'Tokens per second', format: compact, lines: [train('tokens_per_s', 'tokens/s')] },
  // Model FLOPs (PaLM's 6N + attention convention, trainer/sft_studio/model/flops.py); MFU only on CUDA devices of known peak.
  { id: 'flops-chart', title: 'Model FLOP/s', format: compact, lines: [train('flops_per_s', 'FLOP/s')] },
  { id: 'mfu-chart', title: 'Model FLOPs utilisation', format: percent, lines: [train('mfu', 'MFU')] },
  {
    id: 'accuracy-chart',
    title: 'Evaluation accuracy',
    format: percent,
    lines: [
      evaluation('token_accuracy', 'token accuracy'),
      evaluation('exact_match', 'exact match', 'plain'),
      evaluation('accuracy', 'accuracy', 'plain'),
      evaluation('f1', 'F1', 'plain'),
    ],
  },
  { id: 'memory-chart', title: 'Peak memory', format: gib, lines: [train('mem_bytes', 'memory')] },
];

export interface ShownRun {
  name: string;
  metrics: RunMetrics;
  /** Its best evaluation so far (runs that track metric_for_best_model). */
  best?: BestEvaluation;
}

const PALETTE: [string, string][] = [
  ['charts-blue', '#3794ff'],
  ['charts-orange', '#d18616'],
  ['charts-green', '#89d185'],
  ['charts-purple', '#b180d7'],
  ['charts-red', '#f14c4c'],
  ['charts-yellow', '#cca700'],
];

export function runColor(index: number): string {
  const [name, fallback] = PALETTE[index % PALETTE.length];
  return themeColor(name, fallback);
}

/** A chart's series and aligned columns for the runs shown (the first is the dashboard's own run). */
export function buildChart(spec: ChartSpec, runs: readonly ShownRun[], axis: XAxis): ChartContent {
  const series: ChartSeries[] = [];
  const tables: SeriesTable[] = [];
  let points = 0;
  const single = runs.length === 1;
  runs.forEach((run, r) => {
    const m = run.metrics;
    for (const which of ['train', 'eval'] as const) {
      const lines = spec.lines.filter((l) => l.table === which && l.present(m));
      if (lines.length === 0) continue;
      const table = which === 'train' ? m.train : m.evaluation;
      tables.push({ x: table.x(axis), ys: lines.map((l) => l.column(m)) });
      if (r === 0) points = Math.max(points, table.length);
      for (const line of lines) {
        // One run: a colour per line. Several runs: a colour per run, the line kind by style.
        const color = single ? runColor(series.length) : runColor(r);
        const label = single ? line.label : `${run.name} · ${line.label}`;
        series.push({
          label,
          color,
          faint: line.kind === 'raw',
          dash: line.kind === 'eval' && !single ? [6, 4] : undefined,
          points: line.kind === 'eval',
        });
      }
    }
  });
  if (single) {
    // The smoothed line shares the raw line's colour so the pair reads as one metric.
    const raw = series.findIndex((s) => s.faint);
    if (raw >= 0 && series[raw + 1]) series[raw + 1].color = series[raw].color;
  }
  const markers = bestMarkers(spec.lines, runs, axis, (r, one) => (one ? themeColor('charts-yellow', '#cca700') : runColor(r)));
  return { series, data: tables.length > 0 ? alignTables(tables) : [[]], points, markers };
}

export function xAxisLabel(axis: XAxis): string {
  return axis === 'step' ? 'step' : axis === 'epoch' ? 'epoch' : 'wall time';
}

export function formatX(axis: XAxis): (v: number) => string {
  if (axis === 'step') return (v) => String(Math.round(v));
  if (axis === 'epoch') return (v) => String(Number(v.toFixed(2)));
  return (v) => formatDuration(v);
}
