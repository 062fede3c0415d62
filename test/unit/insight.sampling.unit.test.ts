// The chat's next-token choice (src/insight/tokenSampling.ts): greedy is the first largest logit; sampling
// keeps what temperature, top-k and top-p leave, in proportion to softmax(logits / temperature).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { argmax, chooseToken } from '../../src/insight/tokenSampling';

/** A deterministic stand-in for Math.random (a linear congruential generator). */
function seeded(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

function frequencies(logits: number[], choice: Parameters<typeof chooseToken>[1], draws = 20_000): number[] {
  const random = seeded(7);
  const counts = logits.map(() => 0);
  for (let i = 0; i < draws; i++) counts[chooseToken(logits, choice, random)] += 1;
  return counts.map((n) => n / draws);
}

test('greedy takes the first of equal largest logits, whatever top-k and top-p say', () => {
  assert.equal(argmax([0.5, 2, -1, 2]), 1);
  assert.equal(chooseToken([0.5, 2, -1, 2], { temperature: 0, topP: 0.1, topK: 3 }, () => 0.99), 1);
});

test('sampling follows softmax(logits / temperature)', () => {
  const logits = [Math.log(1), Math.log(2), Math.log(7)];
  const seen = frequencies(logits, { temperature: 1, topP: 1, topK: 0 });
  [0.1, 0.2, 0.7].forEach((p, i) => assert.ok(Math.abs(seen[i] - p) < 0.015, `token ${i}: ${seen[i]} vs ${p}`));
  // Temperature 0.5 squares the odds: 1 : 4 : 49.
  const sharper = frequencies(logits, { temperature: 0.5, topP: 1, topK: 0 });
  [1 / 54, 4 / 54, 49 / 54].forEach((p, i) => assert.ok(Math.abs(sharper[i] - p) < 0.015, `token ${i} at T=0.5: ${sharper[i]} vs ${p}`));
});

test('top-k keeps the k largest (ties with the k-th included); top-p the smallest set reaching p', () => {
  const logits = [Math.log(1), Math.log(2), Math.log(3), Math.log(4)];
  const top2 = frequencies(logits, { temperature: 1, topP: 1, topK: 2 });
  assert.deepEqual(top2.slice(0, 2), [0, 0]);
  assert.ok(Math.abs(top2[3] - 4 / 7) < 0.015, `${top2[3]}`);
  const tied = frequencies([1, 3, 3, 0], { temperature: 1, topP: 1, topK: 1 });
  assert.ok(tied[1] > 0.45 && tied[2] > 0.45 && tied[0] === 0 && tied[3] === 0, `both tied tokens stay: ${tied}`);
  // Probabilities 0.1, 0.2, 0.3, 0.4: top_p 0.6 keeps 0.4 + 0.3 (0.7 reaches it), top_p 0.35 keeps 0.4 alone.
  const nucleus = frequencies(logits, { temperature: 1, topP: 0.6, topK: 0 });
  assert.deepEqual(nucleus.slice(0, 2), [0, 0]);
  assert.ok(Math.abs(nucleus[3] - 4 / 7) < 0.015, `${nucleus[3]}`);
  assert.deepEqual(frequencies(logits, { temperature: 1, topP: 0.35, topK: 0 }, 200), [0, 0, 0, 1]);
});
