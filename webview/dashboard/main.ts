// Dashboard app: says `ready`, draws the full state the host replies with, then applies deltas.
import { LossChart } from '../charts/lossChart';
import { el, setText } from '../ui/dom';
import { vscodeApi } from '../vscodeApi';
import {
  HostMessageType,
  WebviewMessageType,
  isHostToWebview,
  type DashboardWebviewState,
  type HostToWebview,
  type WebviewToHost,
} from '../../src/protocol/dashboard';
import { formatDuration, formatLoss, formatStep } from '../../src/protocol/format';
import { isActiveState, type RunSummary } from '../../src/protocol/runSummary';
import './dashboard.css';

const api = vscodeApi<DashboardWebviewState>();
const send = (message: WebviewToHost) => api.postMessage(message);

const title = el('h1', { id: 'run-name', text: 'Loading run…' });
const state = el('span', { id: 'run-state', className: 'badge' });
const step = el('span', { id: 'run-step', className: 'stat' });
const loss = el('span', { id: 'run-loss', className: 'stat' });
const evalLoss = el('span', { id: 'run-eval-loss', className: 'stat' });
const eta = el('span', { id: 'run-eta', className: 'stat' });
const speed = el('span', { id: 'run-speed', className: 'stat' });
const stop = el('button', { id: 'stop-run', text: 'Stop', title: 'Stop after the current step and save a checkpoint' });
const error = el('div', { id: 'run-error', className: 'error', attributes: { role: 'alert' } });
const empty = el('p', { id: 'chart-empty', className: 'muted', text: 'Waiting for the first training step…' });
const chart = new LossChart();

stop.addEventListener('click', () => {
  stop.disabled = true;
  send({ type: WebviewMessageType.stop });
});

document.getElementById('app')?.append(
  el('header', {}, [el('div', { className: 'title-row' }, [title, state, stop]), el('div', { className: 'stats' }, [step, loss, evalLoss, eta, speed])]),
  error,
  el('section', { className: 'chart-section' }, [el('h2', { text: 'Loss' }), empty, chart.element]),
);

/** Highest seq drawn so far: a delta that overlaps the full state must not add points twice. */
let lastSeq = -1;

function renderSummary(run: RunSummary): void {
  setText(title, run.name);
  setText(state, run.state);
  state.dataset.state = run.state;
  setText(step, formatStep(run) ?? '');
  setText(loss, run.loss !== undefined ? `loss ${formatLoss(run.loss)}` : '');
  setText(evalLoss, run.evalLoss !== undefined ? `eval loss ${formatLoss(run.evalLoss)}` : '');
  setText(eta, isActiveState(run.state) && run.etaSeconds !== undefined ? `ETA ${formatDuration(run.etaSeconds)}` : '');
  setText(speed, run.tokensPerSecond !== undefined ? `${Math.round(run.tokensPerSecond)} tok/s` : '');
  stop.hidden = !isActiveState(run.state);
  error.hidden = run.error === undefined;
  setText(error, run.error ? `${run.error.kind} error: ${run.error.message} — ${run.error.hint}` : '');
  empty.hidden = run.step !== undefined;
}

function receive(message: HostToWebview): void {
  if (message.type === HostMessageType.state) {
    api.setState({ runDir: message.run.runDir });
    lastSeq = message.events.reduce((max, e) => Math.max(max, e.seq), -1);
    chart.reset(message.events);
  } else {
    const fresh = message.events.filter((e) => e.seq > lastSeq);
    for (const e of fresh) lastSeq = Math.max(lastSeq, e.seq);
    chart.append(fresh);
  }
  renderSummary(message.run);
}

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  if (isHostToWebview(event.data)) receive(event.data);
});

send({ type: WebviewMessageType.ready });
