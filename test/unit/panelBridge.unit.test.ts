import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPanelError, parseAppMessage, type ParamGuards } from '../../src/protocol/bridge';
import { PanelBridge, type MessagePort } from '../../src/webviews/panelBridge';

type Requests = {
  add: { params: { a: number; b: number }; result: number };
  fail: { params: Record<string, never>; result: null };
};

const guards: ParamGuards<Requests> = {
  add: (p): p is { a: number; b: number } => typeof p === 'object' && p !== null && typeof (p as { a: unknown }).a === 'number' && typeof (p as { b: unknown }).b === 'number',
  fail: (p): p is Record<string, never> => typeof p === 'object' && p !== null && Object.keys(p).length === 0,
};

function fakePort() {
  const sent: unknown[] = [];
  let listener: ((m: unknown) => void) | undefined;
  const port: MessagePort = {
    postMessage: async (m) => {
      sent.push(m);
      return true;
    },
    onDidReceiveMessage: (l) => {
      listener = l;
      return { dispose: () => (listener = undefined) };
    },
  };
  return { port, sent, send: (m: unknown) => listener?.(m) };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

function bridgeOn(port: MessagePort) {
  let version = 0;
  return new PanelBridge<Requests, { type: 'state' | 'delta'; version: number }>(port, {
    guards,
    handlers: {
      add: ({ a, b }) => a + b,
      fail: async () => {
        throw new Error('no such thing');
      },
    },
    fullState: () => ({ type: 'state', version: ++version }),
  });
}

test('deltas wait for ready; every ready gets the full state again', async () => {
  const { port, sent, send } = fakePort();
  const bridge = bridgeOn(port);
  bridge.post({ type: 'delta', version: 0 });
  assert.deepEqual(sent, [], 'nothing before ready');
  send({ type: 'ready' });
  await settle();
  bridge.post({ type: 'delta', version: 1 });
  bridge.unready();
  bridge.post({ type: 'delta', version: 2 });
  send({ type: 'ready' });
  await settle();
  assert.deepEqual(sent, [
    { type: 'state', version: 1 },
    { type: 'delta', version: 1 },
    { type: 'state', version: 2 },
  ]);
});

test('every request with a seq gets exactly one reply: result, thrown error or refusal', async () => {
  const { port, sent, send } = fakePort();
  bridgeOn(port);
  send({ type: 'request', seq: 0, method: 'add', params: { a: 2, b: 3 } });
  send({ type: 'request', seq: 1, method: 'fail', params: {} });
  send({ type: 'request', seq: 2, method: 'add', params: { a: '2', b: 3 } });
  send({ type: 'request', seq: 3, method: 'constructor', params: {} });
  send({ type: 'request', seq: -1, method: 'add', params: { a: 1, b: 1 } });
  send({ type: 'request', method: 'add', params: { a: 1, b: 1 } });
  send('ready');
  await settle();
  // Replies go out as handlers finish, so compare them by seq.
  const bySeq = [...sent].sort((x, y) => (x as { seq: number }).seq - (y as { seq: number }).seq);
  assert.deepEqual(bySeq, [
    { type: 'reply', seq: 0, ok: true, result: 5 },
    { type: 'reply', seq: 1, ok: false, error: 'no such thing' },
    { type: 'reply', seq: 2, ok: false, error: 'malformed parameters for add' },
    { type: 'reply', seq: 3, ok: false, error: 'unknown request "constructor"' },
  ]);
});

test('ready must be exactly {type: "ready"}', () => {
  assert.deepEqual(parseAppMessage({ type: 'ready' }, guards), { kind: 'ready' });
  assert.deepEqual(parseAppMessage({ type: 'ready', x: 1 }, guards), { kind: 'ignored' });
  assert.deepEqual(parseAppMessage(null, guards), { kind: 'ignored' });
});

test('a full state that cannot be built becomes a panel error; a later ready tries again', async () => {
  const { port, sent, send } = fakePort();
  let fail = true;
  const bridge = new PanelBridge<Requests, { type: 'state' }>(port, {
    guards,
    handlers: { add: ({ a, b }) => a + b, fail: () => null },
    fullState: async () => {
      if (fail) throw new Error('EACCES: permission denied, open events.jsonl');
      return { type: 'state' };
    },
  });
  send({ type: 'ready' });
  await settle();
  assert.deepEqual(sent, [{ type: 'panel-error', message: 'This panel could not load its data: EACCES: permission denied, open events.jsonl' }]);
  assert.ok(isPanelError(sent[0]), 'the app accepts it');
  assert.equal(await bridge.post({ type: 'state' }), false, 'no deltas to a page without its state');
  fail = false;
  send({ type: 'ready' });
  await settle();
  assert.deepEqual(sent.at(-1), { type: 'state' });
  assert.equal(bridge.isReady, true);
});

test('panel errors are validated like every host message', () => {
  assert.ok(isPanelError({ type: 'panel-error', message: 'x' }));
  for (const bad of [{ type: 'panel-error' }, { type: 'panel-error', message: 1 }, { type: 'panel-error', message: 'x', html: '<b>' }, null]) {
    assert.equal(isPanelError(bad), false, JSON.stringify(bad));
  }
});
