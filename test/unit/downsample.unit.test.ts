import assert from 'node:assert/strict';
import { test } from 'node:test';
import { minMaxRows } from '../../src/shared/downsample';

/** A seeded generator, so a failure names the data that caused it. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

test('each bucket keeps exactly the minimum and maximum of every column; first and last rows stay', () => {
  for (const seed of [1, 2, 3]) {
    const next = random(seed);
    const n = 20_000;
    const buckets = 300;
    // Steps with gaps (logging every few steps), noisy columns, missing values of both kinds.
    const x: number[] = [];
    for (let i = 0, step = 1; i < n; i++) x.push((step += 1 + Math.floor(next() * 3)));
    const loss = x.map(() => (next() < 0.05 ? null : next() * 10 - 5));
    const grad = new Float64Array(n).map(() => (next() < 0.1 ? Number.NaN : next() ** 8 * 1000));
    const kept = minMaxRows(x, [loss, grad], buckets);
    assert.equal(kept[0], 0);
    assert.equal(kept.at(-1), n - 1);
    assert.ok(kept.every((row, i) => i === 0 || row > kept[i - 1]), 'ascending and unique');
    assert.ok(kept.length <= 2 * 2 * buckets + 2, `${kept.length} rows`);
    const bucketOf = (i: number) => Math.min(buckets - 1, Math.floor(((x[i] - x[0]) / (x[n - 1] - x[0])) * buckets));
    for (const column of [loss, grad] as ArrayLike<number | null>[]) {
      const extremes = (rows: Iterable<number>) => {
        const out = new Map<number, [number, number]>();
        for (const i of rows) {
          const v = column[i];
          if (v === null || Number.isNaN(v)) continue;
          const [lo, hi] = out.get(bucketOf(i)) ?? [Infinity, -Infinity];
          out.set(bucketOf(i), [Math.min(lo, v), Math.max(hi, v)]);
        }
        return out;
      };
      assert.deepEqual(extremes(kept), extremes(Array.from({ length: n }, (_, i) => i)), `seed ${seed}`);
    }
  }
});

test('few rows are all kept; a range is sampled on its own', () => {
  const x = Array.from({ length: 50 }, (_, i) => i);
  assert.deepEqual(minMaxRows(x, [x], 25), x);
  assert.deepEqual(minMaxRows(x, [x], 25, 10, 13), [10, 11, 12]);
  assert.deepEqual(minMaxRows(x, [x], 25, 5, 5), []);
  // One bucket over 40..49 of a rising line: its first and last rows.
  assert.deepEqual(minMaxRows(x, [x], 1, 40, 50), [40, 49]);
});
