import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { validateConfigText } from '../../src/config/validateConfig';
import { isSweepHostMessage, sanitizeSweepState, sweepParamGuards, type SweepView } from '../../src/protocol/sweep';
import type { RunEvent } from '../../src/protocol/events';
import type { RunSummary } from '../../src/protocol/runSummary';
import { RunQueue } from '../../src/runs/runQueue';
import { findRunFolders } from '../../src/runs/runStore';
import { presentRun } from '../../src/views/runPresentation';
import { hasSweepBlock, parseSweepDoc, sweepView, type SweepDoc } from '../../src/sweeps/sweepFile';
import { SweepRunner } from '../../src/sweeps/sweepRunner';
import { nextArgs, sweepArgs, sweepFailure } from '../../src/sweeps/startSweep';
import { sortTrials } from '../../webview/sweep/sweepTable';

const RATES = [1e-3, 1e-4, 1e-5, 1e-6, 1e-7];

/** sweep.json as the trainer writes it (trainer/sft_studio/launch/sweep.py). */
function trainerDoc(method: 'grid' | 'random' | 'bayes', trials: number, maxTrials: number | null = null, dir = '/w/runs/s-sweep-1') {
  return {
    version: 1,
    id: path.basename(dir),
    config_path: '/w/s.sft.yaml',
    method,
    seed: 42,
    max_trials: maxTrials,
    parameters: { learning_rate: method === 'grid' ? { values: [1e-4, 1e-3] } : { min: 1e-5, max: 1e-2, log: true, integer: false } },
    objective: { metric: 'loss', greater_is_better: false },
    overrides: [],
    trials: Array.from({ length: trials }, (_, k) => ({
      index: k,
      params: { learning_rate: RATES[k] },
      overrides: [`learning_rate=${RATES[k]}`, `sweep_id="${path.basename(dir)}"`, `sweep_trial=${k}`],
      run_dir: `${dir}/trial-${k}`,
      status: 'pending',
      objective: null,
      final_objective: null,
      best_step: null,
      reason: null,
    })),
    best_trial: null,
    sweep_dir: dir,
  };
}

const doc = (...args: Parameters<typeof trainerDoc>): SweepDoc => parseSweepDoc(trainerDoc(...args)) as SweepDoc;

test('sweep.json is read field by field; a malformed one is refused', () => {
  const parsed = doc('grid', 2);
  assert.equal(parsed.trials.length, 2);
  assert.deepEqual(parsed.trials[1].overrides, ['learning_rate=0.0001', 'sweep_id="s-sweep-1"', 'sweep_trial=1']);
  assert.equal(parsed.trials[0].runDir, '/w/runs/s-sweep-1/trial-0');
  assert.equal(parseSweepDoc({ ...trainerDoc('grid', 1), method: 'hyperband' }), undefined);
  const bad = trainerDoc('grid', 1);
  (bad.trials[0] as Record<string, unknown>).overrides = [1];
  assert.equal(parseSweepDoc(bad), undefined);
  assert.equal(parseSweepDoc({ ...trainerDoc('grid', 1), sweep_dir: undefined }), undefined);
});

test('grid and random trials all go to the queue at once; the queue starts maxConcurrentRuns of them', async () => {
  const started: string[] = [];
  const queue = new RunQueue({ maxConcurrent: () => 2, activeRunDirs: () => [] });
  const runner = new SweepRunner({
    next: () => assert.fail('grid sweeps never ask for more trials'),
    submit: (_doc, trial) => void queue.submit({ label: trial.runDir }, () => (started.push(trial.runDir), new Promise<void>(() => undefined))),
    report: (m) => assert.fail(m),
  });
  assert.equal(runner.start(doc('grid', 4)), 4);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(started, ['/w/runs/s-sweep-1/trial-0', '/w/runs/s-sweep-1/trial-1']);
  assert.deepEqual(queue.list().map((q) => q.label), ['/w/runs/s-sweep-1/trial-2', '/w/runs/s-sweep-1/trial-3']);
  await runner.runChanged('/w/runs/s-sweep-1/trial-0', 'completed');
  assert.equal(started.length, 2, 'a grid trial ending submits nothing new');
});

test('bayes: each ended trial asks for one suggestion, never past max_trials, once per trial', async () => {
  const asked: string[] = [];
  const submitted: string[] = [];
  let grown = 1;
  const runner = new SweepRunner({
    next: async (dir, count) => {
      asked.push(`${dir}:${count}`);
      grown += 1;
      const next = doc('bayes', grown, 3);
      next.trials.slice(0, -1).forEach((t) => (t.status = 'completed'));
      return next;
    },
    submit: (_doc, trial) => submitted.push(trial.runDir),
    report: (m) => assert.fail(m),
  });
  runner.start(doc('bayes', 1, 3));
  assert.deepEqual(submitted, ['/w/runs/s-sweep-1/trial-0']);
  await runner.runChanged('/w/runs/s-sweep-1/trial-0', 'running');
  assert.equal(asked.length, 0, 'a running trial asks nothing');
  await runner.runChanged('/w/runs/s-sweep-1/trial-0', 'completed');
  await runner.runChanged('/w/runs/s-sweep-1/trial-0', 'completed');
  assert.deepEqual(asked, ['/w/runs/s-sweep-1:1'], 'the same end is answered once');
  assert.deepEqual(submitted, ['/w/runs/s-sweep-1/trial-0', '/w/runs/s-sweep-1/trial-1']);
  await runner.runChanged('/w/runs/s-sweep-1/trial-1', 'failed');
  assert.equal(submitted.at(-1), '/w/runs/s-sweep-1/trial-2');
  await runner.runChanged('/w/runs/s-sweep-1/trial-2', 'completed');
  assert.equal(asked.length, 2, 'the budget of 3 is spent: no third question');
  await runner.runChanged('/w/runs/other-1', 'completed');
  assert.equal(asked.length, 2, 'runs of no managed sweep are ignored');
});

test('bayes: a failed suggestion is reported and the sweep stops growing', async () => {
  const reports: string[] = [];
  const runner = new SweepRunner({ next: () => Promise.reject(new Error('optuna missing')), submit: () => undefined, report: (m) => reports.push(m) });
  runner.start(doc('bayes', 1, 3));
  await runner.runChanged('/w/runs/s-sweep-1/trial-0', 'completed');
  assert.deepEqual(reports, ['SFT Studio: sweep s-sweep-1: the next trial could not be suggested: optuna missing']);
});

test('the trainer command lines: overrides checked and passed to every trial, --next with its count', () => {
  assert.deepEqual(sweepArgs('/w/s.sft.yaml', ['max_steps=3'], 2), ['sweep', '/w/s.sft.yaml', '--json', '--initial', '2', '--set', 'max_steps=3']);
  assert.throws(() => sweepArgs('/w/s.sft.yaml', ['--evil'], 1), /key=value/);
  assert.deepEqual(nextArgs('/w/runs/s', 1), ['sweep', '--next', '/w/runs/s', '--count', '1', '--json']);
  assert.equal(sweepFailure('{"errors": ["s.sft.yaml:9:3: bad"]}', ''), 's.sft.yaml:9:3: bad');
  assert.equal(sweepFailure('{"error": "no sweep", "hint": "add one"}', ''), 'no sweep add one');
});

function summary(runDir: string, state: RunSummary['state']): RunSummary {
  return { runDir, name: path.basename(runDir), state };
}

const evalEvent = (step: number, loss: number) => ({ v: 1, seq: step, time: step, type: 'eval', step, loss }) as unknown as RunEvent;

test('the panel view: live objectives from the events, the best trial, early stopping marked', () => {
  const d = doc('grid', 3);
  const events: Record<string, RunEvent[]> = {
    '/w/runs/s-sweep-1/trial-0': [evalEvent(2, 2.0), evalEvent(4, 1.5), evalEvent(6, 1.7), { v: 1, seq: 9, time: 9, type: 'run_finished', status: 'completed', reason: 'early_stopped' } as unknown as RunEvent],
    '/w/runs/s-sweep-1/trial-1': [evalEvent(2, 1.2)],
  };
  const view = sweepView(d, {
    get: (dir) => (dir in events ? summary(dir, dir.endsWith('0') ? 'completed' : 'running') : undefined),
    events: (dir) => events[dir] ?? [],
  });
  assert.deepEqual(view.trials.map((t) => [t.status, t.objective, t.finalObjective, t.bestStep, t.earlyStopped]), [
    ['completed', 1.5, 1.7, 4, true],
    ['running', 1.2, 1.2, 2, false],
    ['pending', null, null, null, false],
  ]);
  assert.equal(view.bestTrial, 1);
  assert.ok(isSweepHostMessage({ type: 'sweep', view }));
});

test('panel protocol guards refuse what a page or a tampered file could send', () => {
  const view: SweepView = sweepView(doc('grid', 1), { get: () => undefined, events: () => [] });
  assert.ok(isSweepHostMessage({ type: 'sweep', view }));
  assert.equal(isSweepHostMessage({ type: 'sweep', view, extra: 1 }), false);
  assert.equal(isSweepHostMessage({ type: 'sweep', view: { ...view, method: 'hyperband' } }), false);
  assert.equal(isSweepHostMessage({ type: 'sweep', view: { ...view, trials: [{ ...view.trials[0], objective: Number.NaN }] } }), false);
  assert.equal(isSweepHostMessage({ type: 'sweep', view: { ...view, trials: [{ ...view.trials[0], params: { lr: { x: 1 } } }] } }), false);
  assert.ok(sweepParamGuards.openRun({ runDir: '/w/runs/s/trial-0' }));
  assert.equal(sweepParamGuards.openRun({ runDir: '' }), false);
  assert.equal(sweepParamGuards.openRun({ runDir: '/x', also: 1 }), false);
  assert.equal(sweepParamGuards.openRun({ runDir: 'x'.repeat(5000) }), false);
  assert.deepEqual(sanitizeSweepState({ sortKey: 'objective', sortDescending: 'yes', xParam: 7 }), { sortKey: 'objective' });
});

test('the trial table sorts by any column, trials without a value last', () => {
  const view = sweepView(doc('grid', 3), { get: () => undefined, events: () => [] });
  view.trials[0].objective = 2;
  view.trials[2].objective = 1;
  assert.deepEqual(sortTrials(view.trials, 'objective', false).map((t) => t.index), [2, 0, 1]);
  assert.deepEqual(sortTrials(view.trials, 'objective', true).map((t) => t.index), [0, 2, 1]);
  assert.deepEqual(sortTrials(view.trials, 'param:learning_rate', false).map((t) => t.index), [2, 1, 0]);
});

test('the Runs view names a trial "sweep <id> #k", and finds trial folders inside a sweep folder', async () => {
  const shown = presentRun({ ...summary('/w/runs/s-sweep-1/trial-3', 'running'), sweep: { id: 's-sweep-1', trial: 3 } });
  assert.match(shown.description, /sweep s-sweep-1 #3$/);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sweep-'));
  fs.mkdirSync(path.join(root, 's-sweep-1', 'trial-0'), { recursive: true });
  fs.writeFileSync(path.join(root, 's-sweep-1', 'sweep.json'), '{}');
  fs.writeFileSync(path.join(root, 's-sweep-1', 'trial-0', 'events.jsonl'), '');
  fs.mkdirSync(path.join(root, 'plain-1'));
  fs.writeFileSync(path.join(root, 'plain-1', 'status.json'), '{}');
  assert.deepEqual(await findRunFolders([root]), [path.join(root, 'plain-1'), path.join(root, 's-sweep-1', 'trial-0')]);
});

test('the editor diagnoses the sweep block at its positions, as the trainer does', () => {
  const text = [
    'model_name_or_path: Qwen/Qwen2.5-0.5B',
    'train_file: data/t.jsonl',
    'sweep:',
    '  method: random',
    '  parameters:',
    '    lr: [1e-4]',
    '    learning_rate: {min: 0, max: 1e-3, log: true}',
    '    warmup_ratio: 3',
    '    per_device_train_batch_size: ["big"]',
    '  methd: x',
  ].join('\n');
  const { problems } = validateConfigText(text, { configPath: '/w/s.sft.yaml', exists: () => true });
  const at = (line: number, start: string) => problems.find((p) => p.line === line && p.message.startsWith(start));
  assert.ok(at(6, 'sweep.parameters.lr is not a config field; did you mean "learning_rate"?'), JSON.stringify(problems));
  assert.ok(at(7, 'sweep.parameters.learning_rate is sampled on a log scale, which needs min > 0'));
  assert.ok(at(8, 'sweep.parameters.warmup_ratio must be a list such as [1e-4, 3e-4]'));
  assert.equal(problems.filter((p) => p.line === 8).length, 1, 'one problem for the parameter, not one per anyOf branch');
  assert.ok(at(9, 'sweep.parameters.per_device_train_batch_size[0] is "big"'));
  assert.ok(at(10, 'unknown field "methd"; did you mean "method"?'));
  assert.ok(at(3, 'sweep with method: random needs a budget: add max_trials'));
  assert.ok(at(3, 'a sweep ranks trials by an evaluation metric and this config has no validation data'));
  assert.ok(hasSweepBlock(text) && !hasSweepBlock('model: x\n# sweep: later\n'));
});
