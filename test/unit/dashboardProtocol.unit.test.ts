import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import Ajv2020 from 'ajv/dist/2020';
import eventsSchema from '../../schema/events.schema.json';
import {
  dashboardGuards,
  isDashboardWebviewState,
  isDetailResult,
  isHostToWebview,
  packEvents,
  packTrainRows,
  unpackEvents,
  unpackHostMessage,
  unpackTrainRows,
  type HostToWebview,
} from '../../src/protocol/dashboard';
import { isRunSummary } from '../../src/protocol/runSummary';
import { isRunEvent, type RunEvent } from '../../src/protocol/events';
import { contentSecurityPolicy, makeNonce, renderWebviewHtml } from '../../src/webviews/webviewHtml';
import { fixtures, throughWebviewWire } from './helpers';

const demoEvents = (): unknown[] =>
  fs
    .readFileSync(path.join(fixtures, 'runs', 'demo-20260101-000000', 'events.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

const summary = { runDir: '/r/demo', name: 'demo', state: 'running', step: 3, totalSteps: 12, loss: 1.5 };

test('the fixture run is valid against schema/events.schema.json, in seq order', () => {
  const validate = new Ajv2020({ allErrors: true, strict: false }).compile(eventsSchema);
  const events = demoEvents();
  for (const event of events) assert.ok(validate(event), JSON.stringify(validate.errors));
  assert.deepEqual(
    events.map((e) => (e as RunEvent).seq),
    events.map((_, i) => i),
  );
  assert.ok(events.every(isRunEvent));
});

test('the envelope check rejects what is not an event', () => {
  const good = { v: 1, seq: 0, time: 1, type: 'log', level: 'info', message: 'x' };
  assert.ok(isRunEvent(good));
  for (const bad of [null, [], 'x', { ...good, v: 2 }, { ...good, seq: -1 }, { ...good, seq: 1.5 }, { ...good, time: '1' }, { ...good, type: 3 }, { ...good, step: -1 }]) {
    assert.equal(isRunEvent(bad), false, JSON.stringify(bad));
  }
});

test('host → webview messages are validated on receipt', () => {
  const events = demoEvents().filter((e) => (e as RunEvent).type !== 'train');
  const rows = { row: [0, 5], step: [1, 6], epoch: [0.1, null], time: [100, 105], values: { loss: [2, null] } };
  const train = packTrainRows(rows);
  const state = { type: 'state', run: summary, events, train, compare: [], available: [{ runDir: summary.runDir, name: summary.name }], configDiff: { fields: ['lr'], runs: [{ runDir: '/r/demo', values: [0.1] }] } };
  assert.ok(isHostToWebview(state));
  assert.ok(isHostToWebview({ type: 'append', runs: [{ run: summary, events: [] }, { run: summary, events: [], train }] }));
  assert.ok(isHostToWebview({ type: 'runs', available: [{ runDir: '/r/demo', name: 'demo' }] }));
  assert.equal(isHostToWebview({ type: 'runs', available: [summary] }), false, 'a whole summary where the picker needs a folder and a name');
  assert.equal(isHostToWebview({ type: 'state', run: summary, events, train }), false, 'compare and available missing');
  assert.equal(isHostToWebview({ ...state, train: undefined }), false, 'state without train rows');
  assert.equal(isHostToWebview({ ...state, train: rows }), false, 'rows as plain arrays: the wire carries Float64Array columns');
  assert.equal(isHostToWebview({ ...state, configDiff: undefined }), false, 'state without the config diff');
  assert.equal(isHostToWebview({ ...state, configDiff: { fields: ['lr'], runs: [{ runDir: '/r/demo', values: [{}] }] } }), false, 'an object config value');
  assert.equal(isHostToWebview({ ...state, compare: [{ run: summary, train }] }), false, 'compared run without events');
  assert.equal(isHostToWebview({ type: 'events', run: summary, events: [] }), false, 'unknown type');
  assert.equal(isHostToWebview({ type: 'append', runs: [{ run: { ...summary, state: 'paused' }, events: [] }] }), false, 'unknown state');
  assert.equal(isHostToWebview({ type: 'append', runs: [{ run: { ...summary, loss: '1.5' }, events: [] }] }), false, 'string loss');
  assert.equal(isHostToWebview({ type: 'append', runs: [{ run: summary, events: [{ seq: 1 }] }] }), false, 'bad event');
  assert.equal(isHostToWebview({ type: 'runs', available: [{ name: 'x' }] }), false, 'a run without its folder');
  assert.equal(isRunSummary({ ...summary, error: { kind: 'oom', message: 'm' } }), false, 'error without hint');
  const f = (values: number[]) => Float64Array.from(values);
  const bad = (patch: Record<string, unknown>) => isHostToWebview({ type: 'append', runs: [{ run: summary, events: [], train: { ...train, ...patch } }] });
  assert.equal(bad({}), true, 'the unpatched rows pass');
  assert.equal(bad({ row: f([5, 0]) }), false, 'rows out of order');
  assert.equal(bad({ row: f([0, 0.5]) }), false, 'a row that is not a whole number');
  assert.equal(bad({ step: f([1]) }), false, 'columns of different lengths');
  assert.equal(bad({ step: f([1, Number.NaN]) }), false, 'a missing step');
  assert.equal(bad({ time: f([100, Number.POSITIVE_INFINITY]) }), false, 'an infinite time');
  assert.equal(bad({ step: new Float32Array([1, 6]) }), false, 'another kind of typed array');
  assert.equal(bad({ values: { loss: [2, 3] } }), false, 'a plain array of values');
  assert.equal(bad({ values: { loss: f([2, Number.NEGATIVE_INFINITY]) } }), false, 'an infinite value');
  assert.equal(bad({ values: { perplexity: f([2, 3]) } }), false, 'a metric the dashboard does not draw');
  assert.equal(bad({ extra: [] }), false, 'an unexpected field');
  assert.ok(isDetailResult({ train }));
  assert.equal(isDetailResult({ train: rows }), false, 'a detail reply with plain arrays');
  assert.equal(isDetailResult({ train, more: 1 }), false);
});

test('train rows travel as Float64Array columns, each with its own buffer, and unpack to what was packed', () => {
  const rows = { row: [0, 3, 9], step: [1, 4, 10], epoch: [null, 0.5, 1.25], time: [100.5, 101, 102.75], values: { loss: [2.5, null, 0.125], learning_rate: [1e-6, 2e-6, 3e-6] } };
  const columns = packTrainRows(rows);
  assert.deepEqual(unpackTrainRows(columns), rows);
  const all = [columns.row, columns.step, columns.epoch, columns.time, ...Object.values(columns.values)];
  assert.ok(all.every((c) => c instanceof Float64Array && c.byteOffset === 0 && c.buffer.byteLength === c.byteLength), 'no column is a view of a larger buffer');
  assert.equal(new Set(all.map((c) => c.buffer)).size, all.length, 'one buffer per column');
  // Through the webview wire (JSON plus binary): the JSON part stays small however many rows there are.
  const n = 5000;
  const long = packTrainRows({
    row: Array.from({ length: n }, (_, i) => i),
    step: Array.from({ length: n }, (_, i) => i + 1),
    epoch: Array.from({ length: n }, (_, i) => i / n),
    time: Array.from({ length: n }, (_, i) => 1.7e9 + i * 0.37),
    values: { loss: Array.from({ length: n }, (_, i) => 1 / (i + 1)) },
  });
  const message = { type: 'append', runs: [{ run: summary, events: [], train: long }] };
  const wire = throughWebviewWire(message);
  assert.ok(isHostToWebview(wire.received));
  assert.equal(wire.binaryBytes, 5 * n * 8, 'five columns of 8-byte numbers, nothing more');
  assert.ok(JSON.stringify(wire.received, (_k, v: unknown) => (ArrayBuffer.isView(v) ? 0 : v)).length < 1000);
  const unpacked = unpackHostMessage(wire.received as HostToWebview);
  assert.equal(unpacked.type, 'append');
  if (unpacked.type === 'append') assert.deepEqual(unpacked.runs[0].train?.step.slice(-2), [n - 1, n]);
});

test('plain evaluations travel as columns and come back as the same events in seq order; others stay objects', () => {
  const ev = (seq: number, fields: Record<string, unknown>) => ({ v: 1, seq, time: 1000 + seq / 8, type: 'eval', step: seq * 10, ...fields });
  const started = { v: 1, seq: 0, time: 1000, type: 'run_started', step: 0, config: { metric_for_best_model: 'loss' } };
  const events = [
    started,
    ev(1, { epoch: 0.1, loss: 2.5, perplexity: 12.18, token_accuracy: 0.4 }),
    ev(2, { epoch: 0.2, loss: 2.25, token_accuracy: 0.45, best: true }),
    { v: 1, seq: 3, time: 1001, type: 'checkpoint', step: 20, path: '/r/demo/checkpoint-20' },
    ev(4, { loss: 2.5, token_accuracy: 0.44, accuracy: 0.5, f1: 0.25, exact_match: 0, best: false }),
    ev(5, { loss: 2.4, token_accuracy: 0.46, per_class: { a: 1 } }),
  ] as unknown as RunEvent[];
  const packed = packEvents(events);
  assert.deepEqual(packed.events.map((e) => e.seq), [0, 3, 5], 'the start, the checkpoint and the evaluation with a field of its own stay objects');
  assert.deepEqual([...(packed.evals?.seq ?? [])], [1, 2, 4]);
  assert.deepEqual([...(packed.evals?.best ?? [])], [Number.NaN, 1, 0]);
  assert.deepEqual(unpackEvents(packed.events, packed.evals), events, 'every field back, absent ones absent, in seq order');
  assert.deepEqual(packEvents([started] as unknown as RunEvent[]), { events: [started] }, 'no evaluations, no columns');

  // In a state message: checked, and unpacked to the original events.
  const train = packTrainRows({ row: [0], step: [1], epoch: [null], time: [1000], values: { loss: [3] } });
  const state = { type: 'state', run: summary, ...packed, train, compare: [], available: [], configDiff: { fields: [], runs: [] } };
  const wire = throughWebviewWire(state).received;
  assert.ok(isHostToWebview(wire));
  const unpacked = unpackHostMessage(wire as HostToWebview);
  assert.ok(unpacked.type === 'state' && !('evals' in unpacked));
  if (unpacked.type === 'state') assert.deepEqual(unpacked.events, events);
  const f = (values: number[]) => Float64Array.from(values);
  const bad = (patch: Record<string, unknown>) => isHostToWebview({ ...state, evals: { ...packed.evals, ...patch } });
  assert.equal(bad({}), true, 'the unpatched columns pass');
  assert.equal(bad({ seq: f([1, 2.5, 4]) }), false, 'a seq that is not a whole number');
  assert.equal(bad({ step: f([10, -20, 40]) }), false, 'a negative step');
  assert.equal(bad({ time: f([1, Number.NaN, 2]) }), false, 'a missing time');
  assert.equal(bad({ best: f([0, 2, 1]) }), false, 'best other than 0, 1 or absent');
  assert.equal(bad({ seq: f([1, 2]) }), false, 'columns of different lengths');
  assert.equal(bad({ values: { loss: f([1, Number.POSITIVE_INFINITY, 2]) } }), false, 'an infinite value');
  assert.equal(bad({ values: { rouge: f([1, 2, 3]) } }), false, 'a field evaluations do not have');
  assert.equal(bad({ values: { loss: [1, 2, 3] } }), false, 'a plain array');
  assert.equal(bad({ extra: f([1, 2, 3]) }), false, 'an unexpected column');
});

test('webview → host request parameters and saved state are validated', () => {
  for (const action of ['stop', 'save', 'generate']) assert.ok(dashboardGuards.control({ action }), action);
  assert.equal(dashboardGuards.control({ action: 'delete' }), false);
  assert.equal(dashboardGuards.control({ action: 'save', extra: 1 }), false, 'unexpected field');
  assert.ok(dashboardGuards.compare({ runDirs: ['/r/a', '/r/b'] }));
  assert.equal(dashboardGuards.compare({ runDirs: [1] }), false);
  assert.equal(dashboardGuards.compare({ runDirs: Array.from({ length: 17 }, (_, i) => `/r/${i}`) }), false, 'too many overlays');
  const detail = { runDir: '/r/a', axis: 'step', min: 0, max: 10, buckets: 600 };
  assert.ok(dashboardGuards.detail(detail));
  assert.equal(dashboardGuards.detail({ ...detail, min: 11 }), false, 'an empty range');
  assert.equal(dashboardGuards.detail({ ...detail, buckets: 1e9 }), false, 'too many buckets');
  assert.equal(dashboardGuards.detail({ ...detail, axis: 'tokens' }), false);
  assert.ok(isDashboardWebviewState({ runDir: '/r/demo' }));
  assert.ok(isDashboardWebviewState({ runDir: '/r/demo', compare: ['/r/b'], smoothing: 0.9, xAxis: 'time' }));
  assert.equal(isDashboardWebviewState({ runDir: '/r/demo', smoothing: 1 }), false, 'smoothing must stay below 1');
  assert.equal(isDashboardWebviewState({ runDir: '/r/demo', xAxis: 'tokens' }), false);
  assert.equal(isDashboardWebviewState({ runDir: '' }), false);
  assert.equal(isDashboardWebviewState(undefined), false);
});

test('the page shell: CSP with a per-load nonce on every script and style', () => {
  const a = makeNonce();
  const b = makeNonce();
  assert.notEqual(a, b);
  assert.ok(a.length >= 24);
  assert.equal(
    contentSecurityPolicy('vscode-webview://x', 'N'),
    "default-src 'none'; script-src 'nonce-N'; style-src vscode-webview://x 'nonce-N'; img-src vscode-webview://x data:; font-src vscode-webview://x",
  );
  const html = renderWebviewHtml({
    title: 'SFT: <demo>',
    cspSource: 'vscode-webview://x',
    nonce: 'N0nce',
    scriptUri: 'https://x/dist/webview/dashboard.js',
    styleUri: 'https://x/dist/webview/dashboard.css',
  });
  assert.match(html, /<script nonce="N0nce" src="https:\/\/x\/dist\/webview\/dashboard.js"><\/script>/);
  assert.match(html, /script-src 'nonce-N0nce'/);
  assert.ok(html.includes('<meta property="csp-nonce" content="N0nce">'), 'the toolkit finds the nonce');
  assert.ok(html.includes('<title>SFT: &lt;demo&gt;</title>'), 'title is escaped');
  assert.equal((html.match(/<script/g) ?? []).length, 1);
});
