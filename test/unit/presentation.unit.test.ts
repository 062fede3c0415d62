import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeRun, formatDuration, formatLoss, statusBarText } from '../../src/shared/format';
import { RUN_STATES, type RunSummary } from '../../src/protocol/runSummary';
import { groupRunsByConfig, presentRun, statusBarPresentation, statusBarRun, stateIcons } from '../../src/views/runPresentation';

const run = (over: Partial<RunSummary>): RunSummary => ({ runDir: '/w/runs/a-20260101-000000', name: 'a-20260101-000000', state: 'completed', ...over });

test('tree description: state · step n/total · loss with three significant digits', () => {
  assert.equal(describeRun(run({ step: 120, totalSteps: 120, loss: 0.41234 })), 'completed · step 120/120 · loss 0.412');
  assert.equal(describeRun(run({ state: 'starting' })), 'starting');
  assert.equal(describeRun(run({ state: 'running', step: 3 })), 'running · step 3');
});

test('status bar: $(pulse) SFT step 40/120 · loss 1.23', () => {
  const active = run({ state: 'running', step: 40, totalSteps: 120, loss: 1.2345, etaSeconds: 125 });
  assert.equal(statusBarText(active), 'SFT step 40/120 · loss 1.23');
  assert.equal(statusBarPresentation(active).text, '$(pulse) SFT step 40/120 · loss 1.23');
  assert.match(statusBarPresentation(active).tooltip, /ETA 2m 05s/);
});

test('numbers: losses and durations', () => {
  assert.deepEqual([0.41234, 1.2345, 12.345, 0.012345, 123.45, 2].map(formatLoss), ['0.412', '1.23', '12.3', '0.0123', '123.5', '2']);
  assert.deepEqual([0, 59.4, 61, 3600, 3725].map(formatDuration), ['0s', '59s', '1m 01s', '1h 00m', '1h 02m']);
});

test('every state has its icon and a context value for the menus', () => {
  assert.deepEqual(
    Object.fromEntries(RUN_STATES.map((s) => [s, stateIcons[s].id])),
    { starting: 'loading~spin', running: 'pulse', completed: 'pass', failed: 'error', stopped: 'debug-stop', crashed: 'warning', unreadable: 'circle-slash' },
  );
  assert.equal(presentRun(run({ state: 'running' })).contextValue, 'run.running');
  assert.match(presentRun(run({ state: 'running', etaSeconds: 90 })).tooltip, /ETA: 1m 30s/);
  assert.doesNotMatch(presentRun(run({ state: 'completed', etaSeconds: 90 })).tooltip, /ETA/);
});

test('runs are grouped by config; unknown configs by folder', () => {
  const groups = groupRunsByConfig(
    [
      run({ runDir: '/w/runs/b-2', name: 'b-2', configPath: '/w/cfg/b.sft.yaml' }),
      run({ runDir: '/w/runs/x-1', name: 'x-1' }),
      run({ runDir: '/w/runs/b-1', name: 'b-1', configPath: '/w/cfg/b.sft.yaml' }),
    ],
    (f) => f.replace('/w/', ''),
  );
  assert.deepEqual(
    groups.map((g) => [g.label, g.description, g.runs.map((r) => r.name)]),
    [
      ['b.sft.yaml', 'cfg', ['b-2', 'b-1']],
      ['runs (config unknown)', '', ['x-1']],
    ],
  );
});

test('the status bar follows the newest active run', () => {
  const list = [run({ name: 'done' }), run({ name: 'new', state: 'running' }), run({ name: 'old', state: 'running' })];
  assert.equal(statusBarRun(list)?.name, 'new');
  assert.equal(statusBarRun([run({})]), undefined);
});
