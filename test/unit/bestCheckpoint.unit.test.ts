import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BestFollower, bestOfEvents, type BestEvaluation, bestRuleOf, checkpointStepOf } from '../../src/shared/bestCheckpoint';
import type { RunEvent } from '../../src/protocol/events';
import { isBestCheckpoint, presentCheckpoint, presentRun } from '../../src/views/runPresentation';

let seq = 0;
const ev = (type: string, fields: Record<string, unknown>) => ({ v: 1, seq: seq++, time: 100 + seq, type, ...fields }) as unknown as RunEvent;
const started = (config: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  ev('run_started', { step: 0, config, total_steps: 40, num_parameters: 1, trainable_parameters: 1, world_size: 1, device: 'cpu', ...extra });
const evaluation = (step: number, loss: number, extra: Record<string, unknown> = {}) => ev('eval', { step, loss, token_accuracy: 1 - loss / 4, ...extra });
const checkpoint = (step: number, extra: Record<string, unknown> = {}) => ev('checkpoint', { step, path: `checkpoints/step-${step}`, ...extra });

test('the trainer flags decide: the last eval marked best, its checkpoint, then run_finished', () => {
  const follower = new BestFollower();
  const current = (): BestEvaluation | undefined => follower.best;
  follower.observe([started({ metric_for_best_model: 'eval_loss' }), evaluation(0, 3, { best: false }), evaluation(10, 2, { best: true })]);
  assert.deepEqual(follower.best, { step: 10, metric: 'loss', value: 2, checkpoint: undefined, final: false });
  follower.observe([checkpoint(10, { best: true }), evaluation(20, 2.5, { best: false }), checkpoint(20, { best: false })]);
  assert.deepEqual(follower.best, { step: 10, metric: 'loss', value: 2, checkpoint: 'checkpoints/step-10', final: false });
  follower.observe([evaluation(30, 1.5, { best: true })]);
  assert.equal(current()?.step, 30);
  assert.equal(current()?.checkpoint, undefined, 'no checkpoint at step 30 yet');
  follower.observe([ev('run_finished', { step: 40, status: 'completed', best_step: 30, best_metric: 1.5, best_checkpoint: 'checkpoints/step-30', metric_for_best_model: 'loss' })]);
  assert.deepEqual(follower.best, { step: 30, metric: 'loss', value: 1.5, checkpoint: 'checkpoints/step-30', final: true });
});

test('without flags (an older trainer), the config rule picks the best; step 0 is the base model', () => {
  const events = [
    started({ metric_for_best_model: 'token_accuracy', early_stopping_threshold: 0.01 }),
    evaluation(0, 0.1), // token_accuracy 0.975: the base model, never a candidate
    evaluation(10, 2), // 0.5
    evaluation(20, 1.98), // 0.505: within the threshold, no improvement
    evaluation(30, 1), // 0.75
    evaluation(40, 1.6), // 0.6
  ];
  assert.deepEqual(bestOfEvents(events), { step: 30, metric: 'token_accuracy', value: 0.75, checkpoint: undefined, final: false });
  // Lower is better for loss unless greater_is_better says otherwise.
  assert.equal(bestOfEvents([started({ load_best_model_at_end: true }), evaluation(10, 2), evaluation(20, 3)])?.step, 10);
  assert.equal(bestOfEvents([started({ metric_for_best_model: 'loss', greater_is_better: true }), evaluation(10, 2), evaluation(20, 3)])?.step, 20);
});

test('a run that tracks no best has none, whatever its evaluations', () => {
  assert.equal(bestOfEvents([started({}), evaluation(10, 2), evaluation(20, 1)]), undefined);
  assert.equal(bestRuleOf({ save_strategy: 'steps' }), undefined);
  assert.deepEqual(bestRuleOf({ save_strategy: 'best' }), { metric: 'loss', greaterIsBetter: false, threshold: 0 });
  assert.deepEqual(bestRuleOf({ early_stopping_patience: 2, metric_for_best_model: 'eval_f1' }), { metric: 'f1', greaterIsBetter: true, threshold: 0 });
});

test('a resumed run forgets the bests after the checkpoint it resumed from', () => {
  const follower = new BestFollower();
  follower.observe([
    started({ metric_for_best_model: 'loss' }),
    evaluation(10, 2, { best: true }),
    checkpoint(10, { best: true }),
    evaluation(20, 1, { best: true }),
    checkpoint(20, { best: true }),
    evaluation(30, 0.5, { best: true }),
  ]);
  assert.equal(follower.best?.step, 30);
  // Crashed after step 30; the newest complete checkpoint was step 20.
  follower.observe([started({ metric_for_best_model: 'loss' }, { resumed_from: 'checkpoints/step-20' })]);
  assert.deepEqual(follower.best, { step: 20, metric: 'loss', value: 1, checkpoint: 'checkpoints/step-20', final: false });
  follower.observe([evaluation(30, 1.2, { best: false })]);
  assert.equal(follower.best?.step, 20, 'the re-logged step 30 did not improve this time');
});

test('malformed fields from the file are ignored, not trusted', () => {
  const events = [
    started({ metric_for_best_model: 'loss' }),
    ev('eval', { step: 10, loss: '0.1', best: true }),
    ev('checkpoint', { step: 10, path: 7, best: true }),
    ev('run_finished', { step: 10, status: 'completed', best_step: -1 }),
  ];
  assert.deepEqual(bestOfEvents(events), { step: 10, metric: 'loss', value: undefined, checkpoint: undefined, final: false });
  assert.equal(checkpointStepOf('checkpoints/step-12'), 12);
  assert.equal(checkpointStepOf('/abs/run/checkpoints/step-7'), 7);
  assert.equal(checkpointStepOf('checkpoints/step-7.tmp'), undefined);
});

test('Runs view: the best checkpoint row has a star and the metric; the run tooltip names the best', () => {
  const best = { step: 20, metric: 'loss', value: 0.61234, checkpoint: 'checkpoints/step-20', final: true };
  const at = (step: number) => ({ step, path: `/w/runs/a/checkpoints/step-${step}` });
  const starred = presentCheckpoint('a', at(20), best);
  assert.deepEqual(starred.icon, { id: 'star-full', color: 'charts.yellow' });
  assert.equal(starred.description, 'best checkpoint');
  assert.match(starred.tooltip, /^Best checkpoint: loss 0\.6123 at step 20\n/);
  const plain = presentCheckpoint('a', at(10), best);
  assert.deepEqual([plain.icon.id, plain.description], ['save', 'checkpoint']);
  assert.equal(isBestCheckpoint(at(20), { ...best, checkpoint: undefined }), false, 'no checkpoint holds a best without one named');
  assert.match(presentCheckpoint('a', at(20), { ...best, final: false }).tooltip, /^Best checkpoint so far: /);

  const tooltip = presentRun({ runDir: '/w/runs/a', name: 'a', state: 'completed' }, { best }).tooltip;
  assert.ok(tooltip.includes('Best: loss 0.6123 at step 20 (checkpoints/step-20)'), tooltip);
  assert.ok(!presentRun({ runDir: '/w/runs/a', name: 'a', state: 'completed' }).tooltip.includes('Best'));
});
