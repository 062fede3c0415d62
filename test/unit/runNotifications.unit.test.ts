import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACTIONS, RunNotifier, type NotifiableRun, type NoticeStore, type NotifyLevel } from '../../src/runs/runNotifications';
import { FakeUi } from './helpers';

class MemoryStore implements NoticeStore {
  constructor(public value: Record<string, string> | undefined = undefined) {}
  get() {
    return this.value;
  }
  set(value: Record<string, string>) {
    this.value = value;
  }
}

const run = (name: string, fields: Partial<NotifiableRun> = {}): NotifiableRun => ({ runDir: `/w/runs/${name}`, name, state: 'running', step: 10, ...fields });
const settle = () => new Promise((resolve) => setImmediate(resolve));

function notifier(store = new MemoryStore(), level: NotifyLevel = 'all') {
  const ui = new FakeUi();
  return { ui, store, notifier: new RunNotifier(ui, store, () => level) };
}

test('a run that ends in this window is announced once, with its actions', async () => {
  const { ui, notifier: n } = notifier();
  n.baseline([run('a')]);
  n.update(run('a', { step: 11 }));
  assert.equal(ui.calls.length, 0, 'a running run is no news');
  n.update(run('a', { state: 'completed', step: 20, evalLoss: 0.51234 }));
  n.update(run('a', { state: 'completed', step: 20, evalLoss: 0.51234 }));
  assert.deepEqual(ui.calls, [{ kind: 'info', message: 'SFT Studio: run a completed (step 20, eval loss 0.5123).', buttons: [ACTIONS.dashboard, ACTIONS.log] }]);
});

test('a crash is an error with Show Log and Resume; the chosen action runs its command on the run', async () => {
  const { ui, notifier: n } = notifier();
  n.baseline([run('b')]);
  ui.buttonAnswers = [ACTIONS.resume];
  n.update(run('b', { state: 'crashed', step: 7, error: { message: 'out of memory at step 8\nmore' } }));
  await settle();
  assert.equal(ui.calls[0].kind, 'error');
  assert.equal(ui.calls[0].message, 'SFT Studio: run b crashed at step 7: out of memory at step 8');
  assert.deepEqual(ui.calls[0].buttons, [ACTIONS.log, ACTIONS.resume, ACTIONS.dashboard]);
  assert.deepEqual(ui.commands, [{ command: 'sftStudio.resumeRun', args: ['/w/runs/b'] }]);
});

test('early stopping names the best evaluation; a stall warns while the process lives', () => {
  const { ui, notifier: n } = notifier();
  n.baseline([run('c'), run('d')]);
  n.update(run('c', { state: 'completed', step: 30, endReason: 'early_stopped', bestStep: 10, bestMetric: 0.25, metricForBestModel: 'loss' }));
  n.update(run('d', { stalledMinutes: 12 }));
  assert.deepEqual(
    ui.calls.map((c) => [c.kind, c.message]),
    [
      ['info', 'SFT Studio: run c stopped early at step 30; best loss 0.2500 at step 10.'],
      ['warning', 'SFT Studio: run d has made no training step for 12 min; its process is still alive.'],
    ],
  );
  // The stall ends (a step came), then the run completes: both are new states, the completion is announced.
  n.update(run('d'));
  n.update(run('d', { state: 'completed', step: 40 }));
  assert.equal(ui.calls.length, 3);
});

test('after a reload, runs seen active that ended meanwhile are announced; unknown old runs are not', () => {
  const first = notifier();
  first.notifier.baseline([run('seen'), run('old', { state: 'completed' })]);
  assert.equal(first.ui.calls.length, 0, 'the first activation announces nothing');

  const again = notifier(first.store);
  again.notifier.baseline([
    run('seen', { state: 'failed', step: 3, error: { message: 'bad row' } }),
    run('old', { state: 'completed' }),
    run('cloned', { state: 'completed' }),
  ]);
  assert.deepEqual(again.ui.calls.map((c) => c.message), ['SFT Studio: run seen failed while this window was closed at step 3: bad row']);
  // Announced once: a third window says nothing more.
  const third = notifier(again.store);
  third.notifier.baseline([run('seen', { state: 'failed', step: 3 }), run('old', { state: 'completed' })]);
  assert.equal(third.ui.calls.length, 0);
  assert.deepEqual(Object.keys(third.store.value ?? {}).sort(), ['/w/runs/old', '/w/runs/seen'], 'deleted runs are forgotten');
});

test('many runs ended while away: three notifications and one line for the rest', () => {
  const store = new MemoryStore(Object.fromEntries(['1', '2', '3', '4', '5'].map((n) => [`/w/runs/r${n}`, 'active'])));
  const { ui, notifier: n } = notifier(store);
  n.baseline(['1', '2', '3', '4', '5'].map((k) => run(`r${k}`, { state: 'completed' })));
  assert.equal(ui.calls.length, 4);
  assert.equal(ui.calls[3].message, 'SFT Studio: 2 more run(s) ended while this window was closed; see the Runs view.');
});

test('the level setting silences successes or everything; changes before the baseline are ignored', () => {
  const failuresOnly = notifier(new MemoryStore(), 'failures');
  failuresOnly.notifier.update(run('early', { state: 'failed' }));
  assert.equal(failuresOnly.ui.calls.length, 0, 'before the baseline');
  failuresOnly.notifier.baseline([run('x'), run('y')]);
  failuresOnly.notifier.update(run('x', { state: 'completed' }));
  failuresOnly.notifier.update(run('y', { state: 'failed' }));
  assert.deepEqual(failuresOnly.ui.calls.map((c) => c.kind), ['error']);

  const off = notifier(new MemoryStore(), 'off');
  off.notifier.baseline([run('z')]);
  off.notifier.update(run('z', { state: 'crashed' }));
  assert.equal(off.ui.calls.length, 0);
});

test('a stop asked for in this window is no news', () => {
  const { ui, notifier: n } = notifier();
  n.baseline([run('s')]);
  n.update(run('s', { state: 'stopped' }));
  assert.equal(ui.calls.length, 0);
});
