// Dashboard app: says `ready`, draws the full state the host replies with, then applies deltas.
// Messages only change data and mark what needs drawing; one animation frame draws it (the header,
// the compare controls when their inputs changed, the charts), however many messages came in it.
import { BestFollower } from '../../src/shared/bestCheckpoint';
import {
  HostMessageType,
  isCompareResult,
  isDetailResult,
  isHostToWebview,
  MAX_DETAIL_BUCKETS,
  X_AXES,
  type ConfigDiff,
  type ControlAction,
  type DashboardRequests,
  type DashboardWebviewState,
  type HostMessageRows,
  type HostToWebview,
  type PickableRun,
  type RunData,
  type RunDelta,
  type TrainRows,
  type XAxis,
  unpackHostMessage,
  unpackRunData,
  unpackTrainRows,
} from '../../src/protocol/dashboard';
import { formatDownload, formatDuration, formatLoss, formatStep } from '../../src/shared/format';
import { isActiveState, type RunSummary } from '../../src/protocol/runSummary';
import { connect } from '../bridge';
import { MetricChart } from '../charts/metricChart';
import { EVAL_FIELDS, RunMetrics, type EvalField } from '../charts/runMetrics';
import { button, checkbox, dropdown } from '../ui/controls';
import { el, setText } from '../ui/dom';
import { buildChart, CHARTS, compact, formatX, xAxisLabel, type ShownRun } from './chartSpecs';
import { comparisonTable, type ComparedRun } from './comparison';
import { ComparisonView } from './comparisonTable';
import './dashboard.css';

interface Tracked extends ShownRun {
  runDir: string;
  summary: RunSummary;
  /** Highest seq applied: a delta that overlaps the full state must not add points twice. */
  lastSeq: number;
  /** Follows the run's events to its best evaluation (ShownRun.best). */
  bestFollower: BestFollower;
}

// Train rows arrive as Float64Array columns (binary, no JSON on the way) and are kept as plain arrays.
const bridge = connect<DashboardRequests, HostToWebview, DashboardWebviewState>(isHostToWebview, (message) => receive(unpackHostMessage(message)));
const saved = bridge.getState();
let axis: XAxis = saved.xAxis ?? 'step';
let smoothing = saved.smoothing ?? 0.6;
let primary: Tracked | undefined;
let compared: Tracked[] = [];
let available: PickableRun[] = [];
/** How the resolved configs of the shown runs differ (from the host). */
let configDiff: ConfigDiff = { fields: [], runs: [] };
const logCharts = new Set(saved.logScale ?? []);
/** What the next frame draws. */
const dirty = { header: false, compare: false, charts: false, table: false };
let frameRequested = false;
/** What the compare controls were last built from: rebuilt only when this changes. */
let compareKey = '';
/** A compacted table keeps about two rows per bucket and metric: the width of a wide chart. */
const COMPACT_BUCKETS = 1000;
/**
 * Charts drawn in one frame stop after this many ms and the rest follow in the next frames (the loss
 * chart first): a long run's first state would otherwise draw nine charts in one task the workbench
 * waits on. A live update draws a few small changes and fits in one frame.
 */
const FRAME_BUDGET_MS = 12;
/** Charts still to draw, in chart order; a frame takes them while its budget lasts. */
let chartsToDraw: MetricChart[] = [];
/** Wait this long after the last zoom or pan before asking the host for the rows in view. */
const DETAIL_DELAY_MS = 150;

// Header ------------------------------------------------------------------------------------------
const title = el('h1', { id: 'run-name', text: 'Loading run…' });
const state = el('span', { id: 'run-state', className: 'badge', attributes: { role: 'status' } });
const progress = el('div', {
  id: 'run-progress',
  className: 'progress',
  attributes: { role: 'progressbar', 'aria-label': 'Training progress', 'aria-valuemin': '0', 'aria-valuemax': '100' },
}, [el('div', { className: 'progress-fill' })]);
const stat = (id: string) => el('span', { id, className: 'stat' });
const stats = {
  download: stat('run-download'),
  step: stat('run-step'),
  loss: stat('run-loss'),
  evalLoss: stat('run-eval-loss'),
  eta: stat('run-eta'),
  speed: stat('run-speed'),
  params: stat('run-params'),
  device: stat('run-device'),
};
const configLine = el('div', { id: 'run-config', className: 'config muted' });
const feedback = el('span', { id: 'control-feedback', className: 'muted', attributes: { role: 'status', 'aria-live': 'polite' } });
const control = (action: ControlAction) => async () => {
  setText(feedback, '');
  try {
    const { message } = await bridge.request('control', { action });
    setText(feedback, message);
  } catch (error) {
    setText(feedback, (error as Error).message);
  }
};
const buttons = el('div', { className: 'buttons' }, [
  button('Save checkpoint now', { id: 'save-run', secondary: true, title: 'Write a checkpoint after the current step', onClick: control('save') }),
  button('Generate now', { id: 'generate-run', secondary: true, title: 'Sample the prompt set after the current step', onClick: control('generate') }),
  button('Stop', { id: 'stop-run', title: 'Stop after the current step and save a checkpoint', onClick: control('stop') }),
]);
const error = el('div', { id: 'run-error', className: 'error', attributes: { role: 'alert' } });

// Toolbar -----------------------------------------------------------------------------------------
const axisPicker = dropdown(
  X_AXES.map((a) => ({ value: a, label: `x: ${xAxisLabel(a)}` })),
  { id: 'x-axis', label: 'X axis', value: axis },
);
axisPicker.onChange((value) => {
  axis = value;
  bridge.setState({ xAxis: axis });
  for (const chart of charts) chart.flush(true);
  detailSoon();
});
const smoothingInput = el('input', {
  id: 'smoothing',
  attributes: { type: 'range', min: '0', max: '0.99', step: '0.01', 'aria-label': 'Train loss smoothing (EMA weight)' },
});
smoothingInput.value = String(smoothing);
const smoothingValue = el('output', { id: 'smoothing-value', text: smoothing.toFixed(2) });
smoothingInput.addEventListener('input', () => {
  smoothing = Number(smoothingInput.value);
  setText(smoothingValue, smoothing.toFixed(2));
  bridge.setState({ smoothing });
  for (const run of shownRuns()) run.metrics.setSmoothing(smoothing);
  charts[0].update();
});
const comparePicker = dropdown<string>([], { id: 'compare-picker', label: 'Add a run to compare' });
const compareAdd = button('Compare', { id: 'compare-add', secondary: true, title: 'Overlay the chosen run on every chart', onClick: () => {
  const dir = comparePicker.value;
  if (dir) void setCompare([...compared.map((c) => c.runDir), dir]);
} });
const compareList = el('ul', { id: 'compare-list', className: 'compare-list', attributes: { 'aria-label': 'Runs overlaid' } });
const toolbar = el('div', { className: 'toolbar' }, [
  axisPicker.element,
  el('label', { className: 'smoothing' }, [el('span', { text: 'Smoothing' }), smoothingInput, smoothingValue]),
  el('span', { className: 'spacer' }),
  comparePicker.element,
  compareAdd,
  compareList,
]);

// Charts ------------------------------------------------------------------------------------------
const shownRuns = (): Tracked[] => (primary ? [primary, ...compared] : []);
const charts = CHARTS.map((spec) => {
  const log = checkbox('log', { id: `${spec.id}-log`, checked: logCharts.has(spec.id) });
  log.element.title = `Logarithmic y axis for ${spec.title} (values at or below zero are left out)`;
  log.element.setAttribute('aria-label', `Logarithmic y axis for ${spec.title}`);
  const chart = new MetricChart({
    id: spec.id,
    title: spec.title,
    xLabel: () => xAxisLabel(axis),
    integerX: () => axis === 'step',
    format: spec.format,
    formatX: (v) => formatX(axis)(v),
    build: () => buildChart(spec, shownRuns(), axis),
    onView: () => detailSoon(),
    logScale: logCharts.has(spec.id),
    controls: [log.element],
  });
  log.onChange((on) => {
    if (on) logCharts.add(spec.id);
    else logCharts.delete(spec.id);
    bridge.setState({ logScale: [...logCharts] });
    chart.setLogScale(on);
  });
  return chart;
});
/**
 * Charts with a pixel in the viewport; the observer says so as the page scrolls or resizes. No margin: a chart
 * scrolled in keeps its last drawing for the one frame until it is drawn again.
 */
const onScreen = new Set<MetricChart>();
const chartOf = new Map<Element, MetricChart>(charts.map((c) => [c.element, c]));
const visibility = new IntersectionObserver(
  (entries) => {
    for (const entry of entries) {
      const chart = chartOf.get(entry.target);
      if (!chart) continue;
      if (!entry.isIntersecting) {
        onScreen.delete(chart);
        continue;
      }
      onScreen.add(chart);
      if (primary && !chartsToDraw.includes(chart)) {
        chartsToDraw.push(chart);
        requestFrame();
      }
    }
  },
  { rootMargin: '0px' },
);
for (const chart of charts) visibility.observe(chart.element);
const comparison = new ComparisonView(saved.compareSort, (order) => bridge.setState({ compareSort: order }));
const empty = el('p', { id: 'chart-empty', className: 'muted', text: 'Waiting for the first training step…' });

document.getElementById('app')?.append(
  el('header', {}, [
    el('div', { className: 'title-row' }, [title, state, buttons]),
    progress,
    el('div', { className: 'stats' }, Object.values(stats)),
    configLine,
    feedback,
  ]),
  error,
  toolbar,
  comparison.element,
  empty,
  el('div', { className: 'charts' }, charts.map((c) => c.element)),
);

/**
 * Test and benchmark hook: redraws every chart now and returns each one's milliseconds, drawing
 * included (uPlot draws in a microtask after setData, so each measure waits for it).
 */
(window as unknown as { sftDashboard: unknown }).sftDashboard = {
  measureAll: async () => {
    const times: number[] = [];
    for (const chart of charts) {
      const started = performance.now();
      chart.flush();
      await new Promise<void>((resolve) => queueMicrotask(resolve));
      times.push(performance.now() - started);
    }
    return times;
  },
  /** A chart's y scale as drawn, by the chart's id. */
  yScale: (id: string) => charts.find((c) => c.element.querySelector(`#${CSS.escape(id)}`))?.yScale(),
  /** The rows the page holds for its own run's train loss: how many, and the highest value. */
  lossRows: () => {
    const loss = primary?.metrics.train.values.loss ?? [];
    return { rows: loss.length, max: loss.reduce<number>((m, v) => (v !== null && v > m ? v : m), Number.NEGATIVE_INFINITY) };
  },
};

function track(data: RunData<TrainRows>): Tracked {
  const metrics = new RunMetrics(smoothing);
  metrics.add(data.events);
  metrics.addRows(data.train);
  const bestFollower = new BestFollower();
  bestFollower.observe(data.events);
  return {
    runDir: data.run.runDir,
    name: data.run.name,
    summary: data.run,
    metrics,
    bestFollower,
    best: bestFollower.best,
    lastSeq: data.events.reduce((max, e) => Math.max(max, e.seq), -1),
  };
}

function receive(message: HostMessageRows): void {
  if (message.type === HostMessageType.state) {
    primary = track(message);
    compared = message.compare.map(track);
    available = message.available;
    configDiff = message.configDiff;
    bridge.setState({ runDir: message.run.runDir, compare: compared.map((c) => c.runDir) });
    markDirty('header', 'compare', 'charts', 'table');
  } else if (message.type === HostMessageType.append) {
    for (const delta of message.runs) apply(delta);
  } else {
    available = message.available;
    markDirty('compare');
  }
}

function apply(delta: RunDelta<TrainRows>): void {
  const target = shownRuns().find((r) => r.runDir === delta.run.runDir);
  if (!target) return;
  target.summary = delta.run;
  if (target === primary) markDirty('header');
  if (compared.length > 0) markDirty('table');
  const fresh = delta.events.filter((e) => e.seq > target.lastSeq);
  for (const e of fresh) target.lastSeq = Math.max(target.lastSeq, e.seq);
  const added = target.metrics.add(fresh);
  target.bestFollower.observe(fresh);
  const best = target.bestFollower.best;
  const bestMoved = JSON.stringify(best) !== JSON.stringify(target.best);
  target.best = best;
  const rows = delta.train ? target.metrics.addRows(delta.train) : false;
  // A zoomed chart holds detail rows the host sent for it; compaction waits until the zoom is reset.
  if (rows && !charts.some((c) => c.isZoomed)) target.metrics.compactIfLong(COMPACT_BUCKETS);
  if (added || rows || bestMoved) markDirty('charts');
}

function markDirty(...parts: (keyof typeof dirty)[]): void {
  for (const part of parts) dirty[part] = true;
  requestFrame();
}

function requestFrame(): void {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(render);
}

async function setCompare(runDirs: string[]): Promise<void> {
  try {
    const result: unknown = await bridge.request('compare', { runDirs });
    if (!isCompareResult(result)) throw new Error('The runs to compare arrived malformed; reopen the dashboard.');
    compared = result.runs.map((run) => track(unpackRunData(run)));
    configDiff = result.configDiff;
    bridge.setState({ compare: compared.map((c) => c.runDir) });
    markDirty('compare', 'charts', 'table');
  } catch (e) {
    setText(feedback, (e as Error).message);
  }
}

let detailTimer: ReturnType<typeof setTimeout> | undefined;

/** After a zoom or pan settles, fetches the shown runs' rows in view at the chart's pixel resolution. */
function detailSoon(): void {
  clearTimeout(detailTimer);
  detailTimer = setTimeout(() => void fetchDetail(), DETAIL_DELAY_MS);
}

async function fetchDetail(): Promise<void> {
  const chart = charts.find((c) => c.isZoomed && c.xRange());
  const range = chart?.xRange();
  if (!chart || !range) return;
  const buckets = Math.max(1, Math.min(MAX_DETAIL_BUCKETS, Math.round(chart.element.clientWidth || 480)));
  for (const run of shownRuns()) {
    // The time axis counts seconds since the run started; the host keeps unix seconds.
    const offset = axis === 'time' ? (run.metrics.facts.startTime ?? 0) : 0;
    try {
      const reply: unknown = await bridge.request('detail', { runDir: run.runDir, axis, min: range.min + offset, max: range.max + offset, buckets });
      if (!isDetailResult(reply)) continue;
      if (run.metrics.addDetail(unpackTrainRows(reply.train))) markDirty('charts');
    } catch {
      // The run stopped being shown while the request was out: nothing to add.
    }
  }
}

function render(): void {
  frameRequested = false;
  if (!primary) return;
  const started = performance.now();
  if (dirty.header) renderSummary(primary);
  if (dirty.compare) renderCompare();
  if (dirty.charts) chartsToDraw = charts.filter(shouldDraw);
  if (dirty.table) renderComparison();
  dirty.header = dirty.compare = dirty.charts = dirty.table = false;
  // At least one chart per frame, so drawing always moves on.
  do chartsToDraw.shift()?.drawIfChanged();
  while (chartsToDraw.length > 0 && performance.now() - started < FRAME_BUDGET_MS);
  if (chartsToDraw.length > 0) requestFrame();
}

/**
 * A chart is drawn while it is on screen, or hidden for want of data (it shows itself when
 * some comes). The rest wait: of nine charts a live run changes, a window shows about four, and each one
 * drawn is painted and copied into the browser's next frame. One scrolled into view draws then.
 */
function shouldDraw(chart: MetricChart): boolean {
  return chart.element.hidden || onScreen.has(chart);
}

function renderComparison(): void {
  const runs = shownRuns();
  if (runs.length < 2) return comparison.show(undefined);
  comparison.show(comparisonTable(runs.map(comparedRun), configDiff, EVAL_FIELDS));
}

function comparedRun(run: Tracked): ComparedRun {
  const table = run.metrics.evaluation;
  const finalEval: Partial<Record<EvalField, number>> = {};
  for (const field of table.presentFields()) {
    const column = table.values[field];
    for (let i = column.length - 1; i >= 0; i--) {
      const v = column[i];
      if (v !== null) {
        finalEval[field] = v;
        break;
      }
    }
  }
  return { runDir: run.runDir, name: run.name, trainLoss: run.summary.loss, finalEval, best: run.best };
}

function renderSummary(tracked: Tracked): void {
  const run = tracked.summary;
  const facts = tracked.metrics.facts;
  setText(title, run.name);
  setText(state, run.state);
  state.dataset.state = run.state;
  const total = run.totalSteps ?? facts.totalSteps;
  const fraction = run.step !== undefined && total ? Math.min(1, run.step / total) : 0;
  progress.setAttribute('aria-valuenow', String(Math.round(fraction * 100)));
  (progress.firstElementChild as HTMLElement).style.width = `${fraction * 100}%`;
  setText(stats.download, run.download && isActiveState(run.state) ? formatDownload(run.download) : '');
  stats.download.title = run.download ? `${run.download.model}: ${run.download.filesDone} of ${run.download.filesTotal} files (${run.download.file})` : '';
  setText(stats.step, formatStep({ step: run.step, totalSteps: total }) ?? '');
  setText(stats.loss, run.loss !== undefined ? `loss ${formatLoss(run.loss)}` : '');
  setText(stats.evalLoss, run.evalLoss !== undefined ? `eval loss ${formatLoss(run.evalLoss)}` : '');
  setText(stats.eta, isActiveState(run.state) && run.etaSeconds !== undefined ? `ETA ${formatDuration(run.etaSeconds)}` : '');
  setText(stats.speed, run.tokensPerSecond !== undefined ? `${Math.round(run.tokensPerSecond)} tok/s` : '');
  setText(stats.params, parameterText(facts.trainableParameters, facts.numParameters));
  setText(stats.device, facts.device ? `${facts.device}${facts.worldSize && facts.worldSize > 1 ? ` × ${facts.worldSize}` : ''}` : '');
  setText(configLine, configText(facts.config));
  buttons.hidden = !isActiveState(run.state);
  error.hidden = run.error === undefined;
  setText(error, run.error ? `${run.error.kind} error: ${run.error.message} — ${run.error.hint}` : '');
  empty.hidden = run.step !== undefined || tracked.metrics.train.length > 0;
}

function parameterText(trainable?: number, total?: number): string {
  if (trainable === undefined || total === undefined) return '';
  return `${compact(trainable)} of ${compact(total)} params trainable (${Number(((trainable / total) * 100).toPrecision(3))}%)`;
}

const KEY_CONFIG = ['model_name_or_path', 'learning_rate', 'per_device_train_batch_size', 'gradient_accumulation_steps', 'max_steps', 'num_train_epochs', 'max_length', 'use_lora', 'lora_r', 'packing', 'padding_free'];

function configText(config?: Record<string, unknown>): string {
  if (!config) return '';
  return KEY_CONFIG.filter((k) => config[k] !== undefined && config[k] !== null)
    .map((k) => `${k}=${typeof config[k] === 'object' ? JSON.stringify(config[k]) : String(config[k])}`)
    .join('  ·  ');
}

function renderCompare(): void {
  const shown = new Set(shownRuns().map((r) => r.runDir));
  const candidates = available.filter((r) => !shown.has(r.runDir));
  // A toolkit option per run is costly to build: only when the runs offered or overlaid changed, and
  // in idle slices, after the charts are drawn.
  const key = JSON.stringify([candidates.map((r) => [r.runDir, r.name]), compared.map((c) => c.runDir)]);
  if (key === compareKey) return;
  compareKey = key;
  comparePicker.setChoicesLater(candidates.map((r) => ({ value: r.runDir, label: r.name })));
  // Nothing to overlay: no empty picker.
  comparePicker.element.hidden = candidates.length === 0;
  compareAdd.hidden = candidates.length === 0;
  compareList.replaceChildren(
    ...compared.map((c) =>
      el('li', {}, [
        el('span', { text: c.name, title: c.runDir }),
        button('×', {
          id: `compare-remove-${compared.indexOf(c)}`,
          secondary: true,
          title: `Stop overlaying ${c.name}`,
          onClick: () => void setCompare(compared.filter((o) => o !== c).map((o) => o.runDir)),
        }),
      ]),
    ),
  );
}

// VS Code swaps the body class on theme change; chart colours are read when a chart is built.
new MutationObserver(() => charts.forEach((c) => c.flush(true))).observe(document.body, { attributes: true, attributeFilter: ['class'] });
