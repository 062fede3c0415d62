import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunSummary } from '../../src/protocol/runSummary';
import { RowChanges, type RowLook } from '../../src/views/rowChanges';

const run = (name: string, fields: Partial<RunSummary> = {}): RunSummary => ({ runDir: `/w/runs/${name}`, name, state: 'completed', configPath: '/w/a.sft.yaml', startedAt: 100, ...fields });

/** Rows as the view would draw them now, by run folder. */
function looks(entries: Record<string, RowLook>) {
  return (runDir: string) => entries[runDir];
}

test('a new shape is sent as the whole tree, unless the view fetched its top level after it', () => {
  const changes = new RowChanges();
  changes.reshape();
  assert.equal(changes.take(looks({})), 'tree', 'nothing fetched yet');
  changes.reshape();
  changes.topLevelServed([run('a')]);
  assert.deepEqual(changes.take(looks({})), [], 'fetched after the change: drawn already');
  changes.topLevelServed([run('a')]);
  changes.reshape();
  assert.equal(changes.take(looks({})), 'tree', 'changed after the fetch');
  assert.deepEqual(changes.take(looks({})), [], 'sent once');
});

test('a run that stays in its place sends its row only when what the row shows changed', () => {
  const changes = new RowChanges();
  const a = run('a');
  changes.topLevelServed([a]);
  changes.rowSent(a.runDir, 'step 10');
  changes.summaryChanged({ ...a, loss: 1 });
  assert.deepEqual(changes.take(looks({ [a.runDir]: { shown: 'step 10', tooltip: 'x' } })), [], 'same row: nothing to send');
  changes.summaryChanged({ ...a, step: 11 });
  assert.deepEqual(changes.take(looks({ [a.runDir]: { shown: 'step 11', tooltip: 'x' } })), [a.runDir]);
  // A tooltip the view fetched on hover is kept by it until the row is sent again: a changed one is sent.
  changes.rowSent(a.runDir, 'step 11');
  changes.tooltipSent(a.runDir, 'old');
  changes.summaryChanged({ ...a, step: 11 });
  assert.deepEqual(changes.take(looks({ [a.runDir]: { shown: 'step 11', tooltip: 'new' } })), [a.runDir]);
  // One not hovered is made fresh on the next hover.
  changes.rowSent(a.runDir, 'step 11');
  changes.summaryChanged({ ...a, step: 11 });
  assert.deepEqual(changes.take(looks({ [a.runDir]: { shown: 'step 11', tooltip: 'newer' } })), []);
});

test('a run in a new group or place, or not in the fetched list, changes the shape', () => {
  const changes = new RowChanges();
  const a = run('a');
  changes.topLevelServed([a]);
  changes.summaryChanged({ ...a, configPath: '/w/b.sft.yaml' });
  assert.equal(changes.take(looks({})), 'tree', 'another group');
  changes.topLevelServed([a]);
  changes.summaryChanged({ ...a, startedAt: 200 });
  assert.equal(changes.take(looks({})), 'tree', 'another place');
  changes.topLevelServed([a]);
  changes.summaryChanged(run('b'));
  assert.equal(changes.take(looks({})), 'tree', 'a run the view has not listed');
});

test("a row not drawn yet waits for its fetch; a run's children changing always sends its row", () => {
  const changes = new RowChanges();
  const a = run('a');
  changes.topLevelServed([a]);
  changes.summaryChanged({ ...a, step: 5 });
  assert.deepEqual(changes.take(looks({ [a.runDir]: { shown: 'step 5', tooltip: '' } })), [], 'listed, its group not fetched yet');
  changes.rowSent(a.runDir, 'step 5');
  changes.childrenChanged(a.runDir);
  assert.deepEqual(changes.take(looks({ [a.runDir]: { shown: 'step 5', tooltip: '' } })), [a.runDir], 'a checkpoint under an unchanged row');
  // Rows of runs gone from the fetched list are forgotten.
  changes.topLevelServed([]);
  changes.childrenChanged(a.runDir);
  assert.deepEqual(changes.take(looks({})), []);
});
