// Sweep panel: every trial with its swept values, status and objectives (best and last evaluation), sortable by
// any header; a scatter of one swept field against the objective; the best trial highlighted in both, pruned
// (early-stopped) trials marked. Values from sweep.json and run folders are text: textContent only.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import {
  isSweepHostMessage,
  sanitizeSweepState,
  type SweepHostMessage,
  type SweepRequests,
  type SweepTrialRow,
  type SweepView,
  type SweepWebviewState,
} from '../../src/protocol/sweep';
import { connect } from '../bridge';
import { dropdown, labelled } from '../ui/controls';
import { el, setText, themeColor } from '../ui/dom';
import { formatValue, sortTrials, type SortKey } from './sweepTable';
import './sweep.css';

const bridge = connect<SweepRequests, SweepHostMessage, SweepWebviewState & { sweepDir: string }>(isSweepHostMessage, receive);
const saved = sanitizeSweepState(bridge.getState());
let sortKey: SortKey = (saved.sortKey as SortKey | undefined) ?? 'index';
let sortDescending = saved.sortDescending ?? false;
let view: SweepView | undefined;

const app = document.getElementById('app') as HTMLElement;
const heading = el('h2', { id: 'sweep-title', text: 'Loading the sweep…' });
const summary = el('div', { id: 'sweep-summary', className: 'muted', attributes: { role: 'status', 'aria-live': 'polite' } });
const table = el('table', { id: 'sweep-trials' });
const xPicker = dropdown<string>([], { id: 'sweep-x', label: 'Swept field on the x axis', value: saved.xParam });
const chartBox = el('div', { id: 'sweep-chart', attributes: { role: 'img' } });
app.append(heading, summary, table, el('div', { className: 'chart-controls' }, [labelled('x axis', xPicker.element)]), chartBox);

xPicker.onChange((value) => {
  bridge.setState({ xParam: value });
  drawChart();
});

function receive(message: SweepHostMessage): void {
  view = message.view;
  bridge.setState({ sweepDir: view.sweepDir });
  render();
}

function render(): void {
  if (!view) return;
  setText(heading, `Sweep ${view.id}`);
  const done = view.trials.filter((t) => ['completed', 'stopped', 'failed', 'crashed'].includes(t.status)).length;
  const best = view.trials.find((t) => t.index === view?.bestTrial);
  const budget = view.maxTrials !== null && view.method !== 'grid' ? ` of ${view.maxTrials}` : '';
  setText(
    summary,
    `${view.method} · ${done} of ${view.trials.length}${budget} trials ended · objective eval ${view.metric} (${view.greaterIsBetter ? 'higher' : 'lower'} is better)` +
      (best ? ` · best #${best.index}: ${formatValue(best.objective)}` : ''),
  );
  renderTable(view);
  xPicker.setChoices(view.parameters.map((p) => ({ value: p, label: p })));
  drawChart();
}

function renderTable(current: SweepView): void {
  const columns: { key: SortKey; label: string }[] = [
    { key: 'index', label: 'Trial' },
    ...current.parameters.map((p) => ({ key: `param:${p}` as SortKey, label: p })),
    { key: 'status', label: 'Status' },
    { key: 'objective', label: `Best ${current.metric}` },
    { key: 'final', label: `Final ${current.metric}` },
  ];
  const head = el('tr', {}, columns.map((column) => {
    const sorted = column.key === sortKey ? (sortDescending ? 'descending' : 'ascending') : 'none';
    const headerButton = el('button', { className: 'sort', text: column.label, attributes: { type: 'button', 'data-key': column.key } });
    headerButton.addEventListener('click', () => {
      sortDescending = column.key === sortKey ? !sortDescending : false;
      sortKey = column.key;
      bridge.setState({ sortKey, sortDescending });
      renderTable(current);
    });
    return el('th', { attributes: { scope: 'col', 'aria-sort': sorted, 'data-key': column.key } }, [headerButton]);
  }));
  const rows = sortTrials(current.trials, sortKey, sortDescending).map((trial) => trialRow(current, trial));
  table.replaceChildren(el('thead', {}, [head]), el('tbody', {}, rows));
}

function trialRow(current: SweepView, trial: SweepTrialRow): HTMLElement {
  const isBest = trial.index === current.bestTrial;
  const open = el('button', { className: 'link', text: `#${trial.index}`, title: 'Open this trial\'s dashboard', attributes: { type: 'button' } });
  open.addEventListener('click', () => void bridge.request('openRun', { runDir: trial.runDir }));
  const status = el('td', { className: 'status', text: trial.status });
  if (trial.earlyStopped) status.append(el('span', { className: 'badge pruned', text: 'early stopped', title: 'Stopped by early_stopping_patience (pruned)' }));
  if (isBest) status.append(el('span', { className: 'badge best', text: 'best' }));
  const classes = [isBest ? 'best' : '', trial.earlyStopped ? 'early-stopped' : ''].filter(Boolean).join(' ');
  return el('tr', { className: classes, attributes: { 'data-trial': String(trial.index), 'data-status': trial.status } }, [
    el('td', {}, [open]),
    ...current.parameters.map((p) => el('td', { className: 'num', text: formatValue(trial.params[p]) })),
    status,
    el('td', { className: 'num objective', text: formatValue(trial.objective) }),
    el('td', { className: 'num final', text: formatValue(trial.finalObjective) }),
  ]);
}

let chart: uPlot | undefined;

function drawChart(): void {
  chart?.destroy();
  chart = undefined;
  chartBox.replaceChildren();
  if (!view) return;
  const param = xPicker.value || view.parameters[0];
  const scored = view.trials.filter((t) => t.objective !== null && t.params[param] !== undefined);
  chartBox.setAttribute('aria-label', `eval ${view.metric} against ${param}, ${scored.length} trials`);
  if (scored.length === 0) {
    chartBox.append(el('div', { className: 'muted', text: 'No trial has evaluated yet.' }));
    return;
  }
  const numeric = scored.every((t) => typeof t.params[param] === 'number');
  const categories = numeric ? [] : [...new Set(scored.map((t) => String(t.params[param])))];
  const xOf = (t: SweepTrialRow) => (numeric ? (t.params[param] as number) : categories.indexOf(String(t.params[param])));
  const points = scored.map((t) => ({ x: xOf(t), y: t.objective as number, best: t.index === view?.bestTrial })).sort((a, b) => a.x - b.x);
  const logX = numeric && view.logParameters.includes(param) && points.every((p) => p.x > 0);
  const dot = (color: string, size: number): uPlot.Series => ({ stroke: color, fill: color, paths: () => null, points: { show: true, size, stroke: color, fill: color } });
  const opts: uPlot.Options = {
    width: Math.max(320, chartBox.clientWidth || 640),
    height: 260,
    legend: { show: false },
    scales: { x: { time: false, distr: logX ? 3 : 1 } },
    axes: [
      {
        label: param,
        stroke: themeColor('foreground', '#ccc'),
        values: (_u: uPlot, ticks: number[]) =>
          numeric ? ticks.map((t) => formatValue(t)) : ticks.map((t) => (Number.isInteger(t) ? categories[t] ?? '' : '')),
      },
      { label: `eval ${view.metric}`, stroke: themeColor('foreground', '#ccc') },
    ],
    series: [{}, dot(themeColor('charts-blue', '#3794ff'), 8), dot(themeColor('charts-yellow', '#cca700'), 14)],
  };
  const data: uPlot.AlignedData = [points.map((p) => p.x), points.map((p) => (p.best ? null : p.y)), points.map((p) => (p.best ? p.y : null))];
  chart = new uPlot(opts, data, chartBox);
}
