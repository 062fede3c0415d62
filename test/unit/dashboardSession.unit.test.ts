import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { AppendMessage, HostToWebview, StateMessage } from '../../src/protocol/dashboard';
import { isHostToWebview } from '../../src/protocol/dashboard';
import { RunRegistry } from '../../src/runs/runRegistry';
import { DashboardSession } from '../../src/webviews/dashboardSession';
import { PanelBridge, type MessagePort } from '../../src/webviews/panelBridge';
import { restorableState } from '../../src/webviews/restoredRun';
import { isDashboardWebviewState } from '../../src/protocol/dashboard';
import { eventually, tempDir, throughWebviewWire } from './helpers';

const event = (seq: number, body: Record<string, unknown>) => `${JSON.stringify({ v: 1, seq, time: 1000 + seq / 100, ...body })}\n`;
const started = (seq: number) => event(seq, { type: 'run_started', step: 0, config: {}, total_steps: 100_000, num_parameters: 1, trainable_parameters: 1, world_size: 1, device: 'cpu' });
const train = (seq: number, step: number) => event(seq, { type: 'train', step, epoch: step / 1000, loss: 1 / step, grad_norm: 1, learning_rate: 1e-3, tokens: step, tokens_per_s: 5 });

function runFolder(root: string, name: string, text: string, live = false): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'events.jsonl'), text);
  if (live) fs.writeFileSync(path.join(dir, 'status.json'), JSON.stringify({ pid: process.pid, state: 'running', heartbeat: Date.now() / 1000 + 3600 }));
  return dir;
}

/** A session wired to a fake webview that records what it is sent (validated as the app validates). */
function open(registry: RunRegistry, runDir: string, compare: string[] = [], flushMs = 100) {
  const sent: HostToWebview[] = [];
  let listener: ((m: unknown) => void) | undefined;
  const port: MessagePort = {
    postMessage: async (posted) => {
      // What the page gets: typed-array columns travel as binary and arrive as typed arrays again.
      const { received: m } = throughWebviewWire(posted);
      assert.ok(isHostToWebview(m) || (m as { type?: string }).type === 'reply', JSON.stringify(m).slice(0, 200));
      sent.push(m as HostToWebview);
      return true;
    },
    onDidReceiveMessage: (l) => {
      listener = l;
      return { dispose: () => (listener = undefined) };
    },
  };
  const session = new DashboardSession(registry, runDir, { stopRun: () => undefined, requestControl: () => undefined }, compare, { flushMs });
  const bridge = new PanelBridge(port, session.options());
  const follow = session.follow(bridge);
  return {
    sent,
    send: (m: unknown) => listener?.(m),
    close: () => [bridge, ...follow].forEach((d) => d.dispose()),
  };
}

test('run paths from the webview are taken only when the registry knows them', async (t) => {
  const root = tempDir(t);
  const runDir = runFolder(root, 'a-20260101-000000', started(0) + train(1, 1));
  const other = runFolder(root, 'b-20260101-000000', started(0));
  const registry = new RunRegistry({ roots: async () => [root], statusPollMs: 60_000, isPidAlive: () => false });
  t.after(() => registry.dispose());
  await registry.refresh();

  // A restored panel whose saved state names folders outside the runs.
  assert.equal(await restorableState({ runDir: '/etc' }, isDashboardWebviewState, registry), undefined);
  assert.deepEqual(await restorableState({ runDir }, isDashboardWebviewState, registry), { runDir });
  const panel = open(registry, runDir, ['/etc', other, '/']);
  t.after(() => panel.close());
  panel.send({ type: 'ready' });
  await eventually(() => panel.sent.length > 0);
  const state = panel.sent[0] as StateMessage;
  assert.deepEqual(state.compare.map((c) => c.run.runDir), [other]);
  assert.ok(state.available.every((r) => r.runDir !== '/etc'));
  // Neither folder has a config.resolved.json: no field differs, each run says why.
  assert.deepEqual(state.configDiff.runs.map((r) => [r.runDir, r.error]), [runDir, other].map((d) => [d, 'config.resolved.json: missing (the run never started)']));

  panel.send({ type: 'request', seq: 1, method: 'compare', params: { runDirs: ['/', '/etc', other] } });
  await eventually(() => panel.sent.length > 1);
  const reply = panel.sent[1] as unknown as { ok: boolean; result: { runs: { run: { runDir: string } }[]; configDiff: { runs: { runDir: string }[] } } };
  assert.deepEqual(reply.result.runs.map((r) => r.run.runDir), [other]);
  assert.deepEqual(reply.result.configDiff.runs.map((r) => r.runDir), [runDir, other]);
  panel.send({ type: 'request', seq: 2, method: 'detail', params: { runDir: '/etc', axis: 'step', min: 0, max: 1, buckets: 10 } });
  await eventually(() => panel.sent.length > 2);
  assert.deepEqual({ ...(panel.sent[2] as object), error: undefined }, { type: 'reply', seq: 2, ok: false, error: undefined });
  assert.equal(registry.get('/etc'), undefined, 'no crashed run named /etc');
  assert.equal(registry.get('/'), undefined);
  assert.deepEqual(registry.list().map((r) => r.runDir).sort(), [runDir, other].sort());
});

test('a live run logging fast reaches the dashboard in few messages, every step delivered once', async (t) => {
  const root = tempDir(t);
  const runDir = runFolder(root, 'live-20260101-000000', started(0), true);
  const registry = new RunRegistry({ roots: async () => [root], eventPollMs: 10, statusPollMs: 60_000 });
  t.after(() => registry.dispose());
  await registry.refresh();
  const panel = open(registry, runDir);
  t.after(() => panel.close());
  panel.send({ type: 'ready' });
  await eventually(() => panel.sent.length > 0);

  const steps = 600;
  const begun = Date.now();
  let seq = 1;
  for (let step = 1; step <= steps; step++) {
    fs.appendFileSync(path.join(runDir, 'events.jsonl'), train(seq++, step));
    if (step % 4 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const received = () => panel.sent.filter((m): m is AppendMessage => m.type === 'append').flatMap((m) => m.runs.flatMap((r) => (r.train ? [...r.train.step] : [])));
  await eventually(() => received().at(-1) === steps, 10_000);
  const elapsed = Date.now() - begun;
  const messages = panel.sent.filter((m) => m.type === 'append').length;
  assert.ok(messages <= Math.ceil(elapsed / 100) + 1, `${messages} messages in ${elapsed} ms for ${steps} events`);
  assert.deepEqual(received(), Array.from({ length: steps }, (_, i) => i + 1), 'every step once, in order');
  // The rows are read from the file by the panel, the summary by the registry: it follows within a message.
  const lastRun = () => panel.sent.filter((m): m is AppendMessage => m.type === 'append').at(-1)?.runs[0].run;
  await eventually(() => lastRun()?.step === steps);
});

test('a long run opens with a sample of what was read so far and fills in, never sending all rows', async (t) => {
  const root = tempDir(t);
  let text = started(0);
  const steps = 50_000;
  for (let step = 1; step <= steps; step++) text += train(step, step);
  const runDir = runFolder(root, 'long-20260101-000000', text);
  const registry = new RunRegistry({ roots: async () => [root], statusPollMs: 60_000, isPidAlive: () => false });
  t.after(() => registry.dispose());
  await registry.refresh();
  const panel = open(registry, runDir);
  t.after(() => panel.close());
  panel.send({ type: 'ready' });
  await eventually(() => panel.sent.length > 0, 10_000);
  const state = panel.sent[0] as StateMessage;
  assert.equal(state.train.step[0], 1);
  assert.deepEqual(state.events.map((e) => e.type), ['run_started'], 'no train events in the state');
  assert.equal(state.run.step, steps, 'the summary is whole from the start');
  const sentSteps = () => [state.train, ...panel.sent.filter((m): m is AppendMessage => m.type === 'append').flatMap((m) => m.runs.map((r) => r.train))].flatMap((r) => (r ? [...r.step] : []));
  await eventually(() => sentSteps().at(-1) === steps, 20_000);
  const rows = sentSteps();
  assert.ok(rows.length < 12_000, `${rows.length} rows sent for ${steps} steps`);
  assert.ok(rows.every((s, i) => i === 0 || s > rows[i - 1]), 'in order, none twice');
});
