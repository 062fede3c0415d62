import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { RunEvent } from '../../src/protocol/events';
import { generationsGuards, isGenerationsHostMessage, type Generation } from '../../src/protocol/generations';
import { GenerationTable, generationsOf, samplingText } from '../../src/shared/generationTable';
import { csvField, toCsv, toJsonl } from '../../src/webviews/generationsExport';
import { fixtures } from './helpers';

const gen = (step: number, promptId: string, completion: string, reference?: string): Generation => ({
  step,
  promptId,
  prompt: `prompt ${promptId}`,
  completion,
  ...(reference !== undefined ? { reference } : {}),
  maxNewTokens: 8,
  temperature: 0,
  topP: 1,
});

test('the fixture run: prompts in order of appearance, step 0 first, a later line wins', () => {
  const events = fs
    .readFileSync(path.join(fixtures, 'runs', 'demo-20260101-000000', 'events.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as RunEvent);
  const table = new GenerationTable();
  // Events arrive newest step first here; columns still sort ascending.
  table.add(generationsOf(events).reverse());
  assert.deepEqual(table.steps, [0, 12]);
  assert.deepEqual(table.rows.map((r) => r.promptId), ['p1', 'p0']);
  assert.equal(table.cell({ step: 12, promptId: 'p0' })?.completion, '2 4 7 9');
  table.add([gen(12, 'p0', 'again')]);
  assert.equal(table.cell({ step: 12, promptId: 'p0' })?.completion, 'again');
  assert.equal(samplingText(table.rows[0].sampling), 'greedy · max 24 new tokens');
});

test('filters: search text, with a reference, misses at the latest step, changed since the first', () => {
  const table = new GenerationTable();
  table.add([gen(0, 'a', 'x', 'Y'), gen(5, 'a', ' Y '), gen(0, 'b', 'same'), gen(5, 'b', 'same'), gen(0, 'c', 'q', 'R'), gen(5, 'c', 'r', 'R')]);
  const ids = (only: 'all' | 'with-reference' | 'mismatch' | 'changed', query = '') => table.filtered({ query, only }).map((r) => r.promptId);
  assert.deepEqual(ids('all'), ['a', 'b', 'c']);
  assert.deepEqual(ids('with-reference'), ['a', 'c']);
  assert.deepEqual(ids('mismatch'), ['c'], 'a matches after strip, as the trainer counts it');
  assert.deepEqual(ids('changed'), ['a', 'c']);
  assert.deepEqual(ids('all', 'SAME'), ['b']);
  assert.deepEqual(ids('all', 'prompt c'), ['c']);
});

test('exports: one line per prompt and step, CSV quoted and safe from formulas', () => {
  const table = new GenerationTable();
  table.add([gen(0, 'a', '=HYPERLINK("x")', 'ok'), gen(3, 'a', 'ok'), gen(0, 'b', 'line\nbreak, "q"')]);
  const csv = toCsv(table.rows, table.steps).split('\r\n');
  assert.equal(csv[0], 'prompt_id,step,prompt,completion,reference,exact_match,max_new_tokens,temperature,top_p');
  assert.equal(csv[1], `a,0,prompt a,"'=HYPERLINK(""x"")",ok,false,8,0,1`);
  assert.equal(csv[2], 'a,3,prompt a,ok,ok,true,8,0,1');
  assert.equal(csv[3], 'b,0,prompt b,"line\nbreak, ""q""",,,8,0,1');
  const jsonl = toJsonl(table.rows, table.steps).trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(jsonl[1], { prompt_id: 'a', step: 3, prompt: 'prompt a', completion: 'ok', reference: 'ok', exact_match: true, max_new_tokens: 8, temperature: 0, top_p: 1 });
  assert.equal(jsonl[2].exact_match, null);
  assert.deepEqual(['+1', '-1', '@x', 'plain', 3, null, true].map(csvField), ["'+1", "'-1", "'@x", 'plain', '3', '', 'true']);
});

test('messages both ways are validated', () => {
  const run = { runDir: '/r', name: 'r', state: 'running' };
  assert.ok(isGenerationsHostMessage({ type: 'state', run, generations: [gen(0, 'a', 'x')] }));
  assert.equal(isGenerationsHostMessage({ type: 'state', run, generations: [{ ...gen(0, 'a', 'x'), completion: 1 }] }), false);
  assert.equal(isGenerationsHostMessage({ type: 'state', run, generations: [{ ...gen(0, 'a', 'x'), step: -1 }] }), false);
  assert.ok(generationsGuards.diff({ left: { step: 0, promptId: 'a' }, right: { step: 3, promptId: 'a' } }));
  assert.equal(generationsGuards.diff({ left: { step: 0, promptId: 'a' } }), false);
  assert.equal(generationsGuards.diff({ left: { step: 0.5, promptId: 'a' }, right: { step: 3, promptId: 'a' } }), false);
  assert.ok(generationsGuards.export({ format: 'csv', filter: { query: '', only: 'all' } }));
  assert.equal(generationsGuards.export({ format: 'xlsx', filter: { query: '', only: 'all' } }), false);
  assert.equal(generationsGuards.export({ format: 'csv', filter: { query: '', only: 'some' } }), false);
});
