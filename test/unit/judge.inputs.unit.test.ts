// Inputs from run directories and JSONL files, and the reference judge on held-out-style prompts.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { runJudge } from '../../src/judge/engine';
import {
  generationSteps,
  loadAnswersFile,
  loadRunGenerations,
  loadSide,
  pairSides,
  referenceSide,
} from '../../src/judge/inputs';
import { ReferenceJudge } from '../../src/judge/referenceJudge';
import { fixture, tempDir } from '../fixtures/judge/helpers';

describe('inputs', () => {
  test('a run directory gives the generations of its last step by default, skipping a half-written line', () => {
    assert.deepEqual(generationSteps(fixture('run-a')), [0, 40]);
    const side = loadRunGenerations(fixture('run-a'));
    assert.equal(side.step, 40);
    assert.equal(side.label, 'run-a@40');
    assert.deepEqual(
      side.answers.map((a) => a.completion),
      ['CEILING', 'Breskov', 'rekab', '8', 'Blue green', 'paris!'],
    );
    assert.equal(side.answers[0].reference, 'CEILING');
    assert.equal(side.answers[0].prompt, 'Make every letter of this word upper case.\n\nceiling');
  });

  test('a chosen step, and a clear error for a step without generations', () => {
    assert.equal(loadSide(fixture('run-a'), 0).answers[0].completion, 'I like');
    assert.throws(() => loadRunGenerations(fixture('run-a'), 7), /no generations at step 7; steps with generations: 0, 40/);
  });

  test('JSONL answers pair with the other side by id; ids on one side only are reported', () => {
    const { pairs, onlyA, onlyB } = pairSides(loadAnswersFile(fixture('answers-a.jsonl')), loadSide(fixture('answers-b.jsonl')));
    assert.equal(pairs.length, 7);
    assert.deepEqual(onlyA, []);
    assert.deepEqual(onlyB, ['p8']);
    assert.deepEqual(pairs[0], { id: 'p1', prompt: 'Describe the weather today.', a: 'GOOD: sunny and warm', b: 'BAD: the sky' });
  });

  test('the references as the other side', () => {
    const a = loadSide(fixture('run-b'));
    const { pairs } = pairSides(a, referenceSide(a));
    assert.equal(pairs.length, 6);
    assert.deepEqual(pairs[3], { id: 'e4', prompt: 'Add the two numbers.\n\n3 and 4', a: '7', b: '7', reference: '7' });
    assert.throws(() => referenceSide(loadAnswersFile(fixture('answers-a.jsonl'))), /no reference answers/);
  });

  test('bad input files name the line and the field', (t) => {
    const dir = tempDir(t);
    const file = path.join(dir, 'bad.jsonl');
    fs.writeFileSync(file, '{"id": "x", "prompt": "p", "completion": "c"}\n{"id": "y", "prompt": "p"}\n');
    assert.throws(() => loadAnswersFile(file), /bad\.jsonl:2: field `completion` must be a string/);
    fs.writeFileSync(file, '{"id": "x", "prompt": "p", "completion": "c"}\n{"id": "x", "prompt": "p", "completion": "d"}\n');
    assert.throws(() => loadAnswersFile(file), /id "x" appears twice/);
    assert.throws(() => loadSide(dir), /folder without events\.jsonl/);
    assert.throws(() => loadSide(fixture('answers-a.jsonl'), 3), /only applies to run directories/);
  });
});

describe('reference judge on held-out prompts', () => {
  const judgeRuns = async (t: { after(fn: () => void): void }, mode: 'exact' | 'normalized', stepA?: number) => {
    const a = loadRunGenerations(fixture('run-a'), stepA);
    const b = loadRunGenerations(fixture('run-b'));
    return runJudge({ pairs: pairSides(a, b).pairs, provider: new ReferenceJudge(mode), outDir: tempDir(t) });
  };

  test('normalised matching', async (t) => {
    const { summary, records } = await judgeRuns(t, 'normalized');
    // e1 both match (case), e2 both, e3 A, e4 B, e5 A (punctuation), e6 A ("paris!").
    assert.deepEqual(
      records.map((r) => r.outcome),
      ['tie', 'tie', 'win', 'loss', 'win', 'win'],
    );
    assert.deepEqual([summary.wins, summary.ties, summary.losses, summary.inconsistent], [3, 2, 1, 0]);
    assert.equal(summary.win_rate, 4 / 6);
    assert.equal(summary.consistency, 1);
    assert.equal(summary.position_bias, 0.5);
    assert.equal(summary.judge, 'reference:normalized');
  });

  test('exact matching', async (t) => {
    const { summary, records } = await judgeRuns(t, 'exact');
    assert.deepEqual(
      records.map((r) => r.outcome),
      ['win', 'tie', 'win', 'loss', 'tie', 'tie'],
    );
    assert.deepEqual([summary.wins, summary.ties, summary.losses], [2, 3, 1]);
    assert.match(records[0].ab!.argument!, /answer 1 matches the reference exactly/);
  });

  test('step 0 against the last step of another run', async (t) => {
    const { summary } = await judgeRuns(t, 'normalized', 0);
    // run-b@40 matches e1, e2, e4 after normalisation; run-a@0 matches nothing.
    assert.deepEqual([summary.wins, summary.ties, summary.losses], [0, 3, 3]);
  });
});
