import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lazy } from '../../src/common/lazy';

test('concurrent first uses share one load (two serializers restoring at once build one host)', async () => {
  let loads = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const host = lazy(async () => {
    loads += 1;
    await gate;
    return { id: loads };
  });
  assert.equal(host.current(), undefined);
  const first = host.get();
  const second = host.get();
  release();
  const [a, b] = await Promise.all([first, second]);
  assert.equal(loads, 1);
  assert.equal(a, b);
  assert.equal(host.current(), a);
  assert.equal(await host.get(), a);
});

test('a failed load is tried again at the next use', async () => {
  let attempts = 0;
  const host = lazy(async () => {
    attempts += 1;
    if (attempts === 1) throw new Error('module failed to load');
    return 'loaded';
  });
  await assert.rejects(host.get(), /module failed to load/);
  assert.equal(host.current(), undefined);
  assert.equal(await host.get(), 'loaded');
  assert.equal(attempts, 2);
});
