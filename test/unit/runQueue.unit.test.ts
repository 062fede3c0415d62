import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RunQueue } from '../../src/runs/runQueue';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test('under the cap a start begins at once; over it the start waits, in order, until a run ends', async () => {
  const active: string[] = [];
  const queue = new RunQueue({ maxConcurrent: () => 1, activeRunDirs: () => active, now: () => 1000 });
  const started: string[] = [];
  const startFor = (runDir: string) => async (claim: (dir: string) => void) => {
    claim(runDir);
    active.push(runDir);
    started.push(runDir);
    return runDir;
  };

  const first = queue.submit({ label: 'a.sft.yaml', configPath: '/w/a.sft.yaml' }, startFor('/w/runs/a-1'));
  assert.ok(first.started);
  assert.equal(await first.started, '/w/runs/a-1');

  const second = queue.submit({ label: 'b.sft.yaml', configPath: '/w/b.sft.yaml' }, startFor('/w/runs/b-1'));
  const third = queue.submit({ label: 'c.sft.yaml' }, startFor('/w/runs/c-1'));
  assert.deepEqual(second.queued, { id: 2, label: 'b.sft.yaml', configPath: '/w/b.sft.yaml', queuedAt: 1000 });
  assert.equal(third.queued?.id, 3);
  assert.deepEqual(queue.list().map((q) => q.label), ['b.sft.yaml', 'c.sft.yaml']);

  queue.pump();
  await tick();
  assert.deepEqual(started, ['/w/runs/a-1'], 'nothing starts while the slot is taken');

  active.splice(0); // a-1 ended
  queue.pump();
  await tick();
  assert.deepEqual(started, ['/w/runs/a-1', '/w/runs/b-1']);
  assert.deepEqual(queue.list().map((q) => q.label), ['c.sft.yaml']);
});

test('a start in flight holds its slot until its run folder is among the active runs, and is not counted twice', async () => {
  const active: string[] = [];
  const queue = new RunQueue({ maxConcurrent: () => 2, activeRunDirs: () => active });
  const gate = deferred();
  let claim!: (runDir: string) => void;
  queue.submit({ label: 'a' }, async (c) => {
    claim = c;
    await gate.promise;
  });
  await tick();
  assert.equal(queue.used(), 1, 'no folder yet: counted as in flight');
  claim('/w/runs/a');
  active.push('/w/runs/a');
  assert.equal(queue.used(), 1, 'folder known and active: counted once');
  assert.equal(queue.isFull(), false);
  const second = queue.submit({ label: 'b' }, async () => undefined);
  assert.ok(second.started, 'the second slot is free');
  await second.started;
  active.push('/w/runs/b');
  assert.ok(queue.submit({ label: 'c' }, async () => undefined).queued, 'two active runs fill a cap of 2');
  gate.resolve();
});

test('cancel removes a waiting start; a failing start frees its slot', async () => {
  const queue = new RunQueue({ maxConcurrent: () => 1, activeRunDirs: () => [] });
  const gate = deferred();
  const failing = queue.submit({ label: 'a' }, async () => {
    await gate.promise;
    throw new Error('spawn failed');
  });
  const waiting = queue.submit({ label: 'b' }, async () => 'b started');
  assert.ok(waiting.queued);
  assert.equal(queue.cancel(waiting.queued.id), true);
  assert.equal(queue.cancel(waiting.queued.id), false);
  let ran = false;
  queue.submit({ label: 'c' }, async () => {
    ran = true;
  });
  gate.resolve();
  await assert.rejects(failing.started as Promise<unknown>, /spawn failed/);
  await tick();
  await tick();
  assert.equal(ran, true, 'the queued start ran once the failed one released its slot');
  assert.equal(queue.list().length, 0);
});

test('a nonsensical cap (0, NaN) still allows one run', () => {
  assert.equal(new RunQueue({ maxConcurrent: () => 0, activeRunDirs: () => [] }).limit(), 1);
  assert.equal(new RunQueue({ maxConcurrent: () => Number.NaN, activeRunDirs: () => [] }).limit(), 1);
  assert.equal(new RunQueue({ maxConcurrent: () => 3.7, activeRunDirs: () => [] }).limit(), 3);
});
