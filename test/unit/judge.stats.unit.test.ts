import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { combineOrders, promptRecord, summarize, wilsonInterval, winnerOf, type PromptJudgement } from '../../src/judge/stats';
import type { CallResult, Choice, Order } from '../../src/judge/types';

const close = (actual: number | null | undefined, expected: number, digits = 4) =>
  assert.ok(
    actual !== null && actual !== undefined && Math.abs(actual - expected) < 0.5 * 10 ** -digits,
    `${actual} ≉ ${expected}`,
  );

function verdict(id: string, order: Order, choice: Choice): CallResult {
  return {
    v: 1,
    prompt_id: id,
    order,
    key: `${id}/${order}`,
    time: 0,
    choice,
    winner: winnerOf(order, choice),
    argument: `${order} says ${choice}`,
    usage: { input_tokens: 10, output_tokens: 2 },
    attempts: 1,
  };
}

function failed(id: string, order: Order): CallResult {
  return { v: 1, prompt_id: id, order, key: `${id}/${order}`, time: 0, error: 'malformed', usage: { input_tokens: 0, output_tokens: 0 }, attempts: 2 };
}

function judged(id: string, ab: Choice | 'error' | undefined, ba: Choice | 'error' | undefined): PromptJudgement {
  const make = (order: Order, c: Choice | 'error' | undefined) =>
    c === undefined ? undefined : c === 'error' ? failed(id, order) : verdict(id, order, c);
  return { pair: { id, prompt: `prompt ${id}`, a: 'A', b: 'B' }, ab: make('ab', ab), ba: make('ba', ba) };
}

describe('wilsonInterval', () => {
  test('p = 0.5, n = 10 gives [0.2366, 0.7634]', () => {
    const [low, high] = wilsonInterval(0.5, 10)!;
    close(low, 0.2366);
    close(high, 0.7634);
  });
  test('p = 0.9, n = 100 gives [0.8256, 0.9448]', () => {
    const [low, high] = wilsonInterval(0.9, 100)!;
    close(low, 0.8256);
    close(high, 0.9448);
  });
  test('stays inside [0, 1] at the edges where a normal interval collapses', () => {
    const [low0, high0] = wilsonInterval(0, 5)!;
    assert.equal(low0, 0);
    close(high0, 0.4345);
    const [low1, high1] = wilsonInterval(1, 5)!;
    close(low1, 0.5655);
    assert.equal(high1, 1);
  });
  test('is null without observations', () => {
    assert.equal(wilsonInterval(0.5, 0), null);
  });
});

describe('mapping and combining orders', () => {
  test('choices map back to sides for both orders', () => {
    assert.equal(winnerOf('ab', 1), 'a');
    assert.equal(winnerOf('ab', 2), 'b');
    assert.equal(winnerOf('ba', 1), 'b');
    assert.equal(winnerOf('ba', 2), 'a');
    assert.equal(winnerOf('ba', 0), 'tie');
  });
  test('agreement keeps the verdict, disagreement is an inconsistent tie, two ties agree', () => {
    assert.deepEqual(combineOrders('a', 'a'), { outcome: 'win', consistent: true });
    assert.deepEqual(combineOrders('b', 'b'), { outcome: 'loss', consistent: true });
    assert.deepEqual(combineOrders('tie', 'tie'), { outcome: 'tie', consistent: true });
    assert.deepEqual(combineOrders('a', 'b'), { outcome: 'tie', consistent: false });
    assert.deepEqual(combineOrders('a', 'tie'), { outcome: 'tie', consistent: false });
  });
});

describe('summarize', () => {
  test('counts, rates and position bias over a mixed set', () => {
    const summary = summarize([
      judged('p1', 1, 2), // A first then B first, both pick A: win
      judged('p2', 1, 2), // win
      judged('p3', 2, 1), // both pick B: loss
      judged('p4', 1, 1), // always first: inconsistent tie
      judged('p5', 0, 0), // explicit ties agree
      judged('p6', 0, 2), // tie vs A: inconsistent tie
      judged('p7', 'error', 1), // not counted
      judged('p8', 1, undefined), // unfinished: not counted
    ]);
    assert.equal(summary.wins, 2);
    assert.equal(summary.losses, 1);
    assert.equal(summary.ties, 3);
    assert.equal(summary.inconsistent, 2);
    assert.equal(summary.prompts, 6);
    close(summary.win_rate, 3.5 / 6, 9);
    const [low, high] = wilsonInterval(3.5 / 6, 6)!;
    assert.equal(summary.ci_low, low);
    assert.equal(summary.ci_high, high);
    close(summary.consistency, 4 / 6, 9);
    // Decisive single-order verdicts of the 6 counted prompts: 1,2 · 1,2 · 2,1 · 1,1 · 2 = 9; first picked: 5.
    close(summary.position_bias, 5 / 9, 9);
    assert.equal(summary.calls, 15);
    assert.equal(summary.errors, 1);
  });

  test('rates are null, not NaN, when no prompt is complete', () => {
    const summary = summarize([judged('p1', 'error', 'error')]);
    assert.equal(summary.prompts, 0);
    assert.equal(summary.win_rate, null);
    assert.equal(summary.ci_low, null);
    assert.equal(summary.consistency, null);
    assert.equal(summary.position_bias, null);
    assert.equal(summary.errors, 2);
  });

  test('position bias is null when every verdict is a tie', () => {
    assert.equal(summarize([judged('p1', 0, 0)]).position_bias, null);
  });
});

test('promptRecord keeps both orders raw choice and argument, and errors', () => {
  const record = promptRecord(judged('p1', 1, 1));
  assert.equal(record.outcome, 'tie');
  assert.equal(record.consistent, false);
  assert.deepEqual(record.ab, { choice: 1, winner: 'a', argument: 'ab says 1' });
  assert.deepEqual(record.ba, { choice: 1, winner: 'b', argument: 'ba says 1' });
  const broken = promptRecord(judged('p2', 'error', undefined));
  assert.equal(broken.outcome, null);
  assert.deepEqual(broken.ab, { error: 'malformed' });
  assert.equal(broken.ba, null);
});
