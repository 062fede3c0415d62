import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { CallResult } from '../../src/judge';
import { isJudgeHostMessage, judgeGuards, type StartParams } from '../../src/protocol/judge';
import type { RunEvent } from '../../src/protocol/events';
import { listJudgements, writeRequest } from '../../src/judge';
import { judgeableRuns, judgeInputs, LiveJudgement, recordsCsv } from '../../src/webviews/judgeSession';
import { fixtures, tempDir } from './helpers';

const runA = path.join(fixtures, 'judge', 'run-a');
const runB = path.join(fixtures, 'judge', 'run-b');
const eventsOf = (dir: string) =>
  fs
    .readFileSync(path.join(dir, 'events.jsonl'), 'utf8')
    .split('\n')
    .flatMap((l) => {
      // The fixture ends with a line cut short, as a trainer writing right now leaves it.
      try {
        return [JSON.parse(l) as RunEvent];
      } catch {
        return [];
      }
    });

const result = (prompt_id: string, order: 'ab' | 'ba', winner: 'a' | 'b' | 'tie', choice: 0 | 1 | 2): CallResult => ({
  v: 1,
  prompt_id,
  order,
  key: `${prompt_id}-${order}`,
  time: 1,
  choice,
  winner,
  argument: 'because',
  usage: { input_tokens: 3, output_tokens: 1 },
  attempts: 1,
});

test('runs with generations are offered with their steps; inputs pair them by prompt id', () => {
  const runs = judgeableRuns(
    [
      { runDir: runA, name: 'run-a', state: 'completed' },
      { runDir: '/nowhere', name: 'empty', state: 'completed' },
    ],
    (dir) => (dir === runA ? eventsOf(runA) : []),
  );
  const steps = [...new Set(eventsOf(runA).filter((e) => e.type === 'generation').map((e) => e.step))].sort((a, b) => (a ?? 0) - (b ?? 0));
  assert.deepEqual(runs, [{ runDir: runA, name: 'run-a', steps, hasReferences: true }]);
  const last = steps[steps.length - 1] as number;
  const inputs = judgeInputs({ a: { runDir: runA, step: last }, b: { runDir: runB, step: last }, judge: { kind: 'reference', match: 'exact' }, prompts: 'all', concurrency: 1 });
  assert.equal(inputs.labels.a, `run-a@${last}`);
  assert.ok(inputs.pairs.length > 0);
  const vsReference = judgeInputs({ a: { runDir: runA, step: last }, b: 'reference', judge: { kind: 'reference', match: 'exact' }, prompts: 'with-reference', concurrency: 1 });
  assert.ok(vsReference.pairs.every((p) => p.b === p.reference));
  assert.throws(() => judgeInputs({ a: { runDir: runA, step: 999 }, b: 'reference', judge: { kind: 'reference', match: 'exact' }, prompts: 'all', concurrency: 1 }), /no generations at step 999/);
});

test('the live view combines both orders as they arrive and counts like the engine', (t) => {
  const dir = tempDir(t);
  const inputs = {
    pairs: [
      { id: 'p1', prompt: 'q1', a: 'x', b: 'y' },
      { id: 'p2', prompt: 'q2', a: 'x', b: 'y' },
    ],
    labels: { a: 'A', b: 'B' },
  };
  const live = new LiveJudgement('j', dir, inputs, 'judge-x');
  const progress = (last: CallResult, done: number) => live.onProgress({ total: 4, done, resumed: 0, errors: 0, usage: { input_tokens: 3 * done, output_tokens: done }, last });
  progress(result('p1', 'ab', 'a', 1), 1);
  let view = live.view();
  assert.equal(view.records[0].outcome, null, 'one order is not a verdict yet');
  assert.equal(view.summary.prompts, 0);
  progress(result('p1', 'ba', 'a', 2), 2);
  progress(result('p2', 'ab', 'a', 1), 3);
  progress(result('p2', 'ba', 'b', 1), 4);
  view = live.view();
  assert.deepEqual(view.records.map((r) => [r.outcome, r.consistent]), [['win', true], ['tie', false]]);
  assert.equal(view.summary.win_rate, (1 + 0.5) / 2);
  assert.equal(view.summary.consistency, 0.5);
  assert.equal(view.summary.position_bias, 3 / 4, 'choice 1 in three of four decisive verdicts');
  assert.equal(view.done, 4);
  assert.equal(view.summary.input_tokens, 12);
  assert.ok(isJudgeHostMessage({ type: 'progress', view }));
  const csv = recordsCsv(view).split('\r\n');
  assert.equal(csv[1], 'p1,q1,,x,y,win,true,a,because,a,because');
});

test('judgement folders are listed newest first; only unfinished panel judgements resume', (t) => {
  const root = tempDir(t);
  const params: StartParams = { a: { runDir: runA, step: 0 }, b: 'reference', judge: { kind: 'reference', match: 'exact' }, prompts: 'all', concurrency: 2 };
  writeRequest(path.join(root, 'unfinished'), params);
  fs.mkdirSync(path.join(root, 'cli-made'));
  const listings = listJudgements([root, path.join(root, 'missing')]);
  assert.deepEqual(listings.map((l) => [l.id, l.resumable]).sort(), [['cli-made', false], ['unfinished', true]]);
});

test('start parameters are checked before anything runs', () => {
  const good: StartParams = { a: { runDir: '/r/a', step: 3 }, b: 'reference', judge: { kind: 'openai', baseURL: 'https://api.example.com/v1', model: 'm' }, prompts: 'all', concurrency: 4, maxTokens: 1000 };
  assert.ok(judgeGuards.start(good));
  assert.equal(judgeGuards.start({ ...good, concurrency: 0 }), false);
  assert.equal(judgeGuards.start({ ...good, judge: { kind: 'openai', baseURL: 'file:///etc/passwd', model: 'm' } }), false);
  assert.equal(judgeGuards.start({ ...good, judge: { kind: 'shell', command: 'rm' } }), false);
  assert.equal(judgeGuards.start({ ...good, maxTokens: -1 }), false);
  assert.equal(judgeGuards.open({ id: '../../etc' }), false, 'ids are folder names, not paths');
  assert.ok(judgeGuards.open({ id: 'run-a_3-vs-reference-20260101-000000' }));
  assert.ok(judgeGuards.setApiKey({ baseURL: 'http://127.0.0.1:8000/v1' }));
});
