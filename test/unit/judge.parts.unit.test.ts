import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { parseChoiceArguments, parseChoiceText, verdictCandidates } from '../../src/judge/choice';
import { JudgeCallError, JudgeInputError } from '../../src/judge/errors';
import { matchesReference, normalizeAnswer, ReferenceJudge } from '../../src/judge/referenceJudge';
import { backoffDelayMs, retryAfterMs } from '../../src/judge/retry';
import { newJudgeId, ResultsLog } from '../../src/judge/store';
import { buildRequest, DEFAULT_TEMPLATE, loadTemplateFile, renderTemplate, validateTemplate } from '../../src/judge/template';
import { fixture, tempDir } from '../fixtures/judge/helpers';

const headers = (values: Record<string, string>) => new Headers(values);

describe('Retry-After', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  test('delta-seconds', () => assert.equal(retryAfterMs(headers({ 'retry-after': '2' }), now), 2000));
  test('HTTP date', () =>
    assert.equal(retryAfterMs(headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }), now), 5000));
  test('a date in the past means no wait', () =>
    assert.equal(retryAfterMs(headers({ 'retry-after': 'Wed, 31 Dec 2025 23:59:00 GMT' }), now), 0));
  test('retry-after-ms wins', () =>
    assert.equal(retryAfterMs(headers({ 'retry-after-ms': '250', 'retry-after': '9' }), now), 250));
  test('absent or unreadable', () => {
    assert.equal(retryAfterMs(headers({}), now), undefined);
    assert.equal(retryAfterMs(headers({ 'retry-after': 'soon' }), now), undefined);
  });
});

describe('backoff', () => {
  const policy = { maxRetries: 4, baseDelayMs: 100, maxDelayMs: 1000 };
  test('doubles per retry with jitter between half and all of it', () => {
    assert.equal(backoffDelayMs(policy, 0, undefined, () => 0), 50);
    assert.equal(backoffDelayMs(policy, 0, undefined, () => 1), 100);
    assert.equal(backoffDelayMs(policy, 2, undefined, () => 1), 400);
  });
  test('caps the exponential and the server wait', () => {
    assert.equal(backoffDelayMs(policy, 10, undefined, () => 1), 1000);
    assert.equal(backoffDelayMs(policy, 0, 3_600_000), 1000);
    assert.equal(backoffDelayMs(policy, 3, 20), 20);
  });
});

describe('template', () => {
  test('renders in one pass, so answer text that looks like a placeholder stays literal', () => {
    const text = renderTemplate('1: {{answer_1}} 2: {{ answer_2 }}', {
      instruction: 'i',
      answer_1: 'says {{answer_2}}',
      answer_2: 'two',
      reference: 'r',
    });
    assert.equal(text, '1: says {{answer_2}} 2: two');
  });
  test('A is answer 1 in order ab and answer 2 in order ba; a missing reference reads (none)', () => {
    const pair = { id: 'x', prompt: 'Say hi.', a: 'ANSWER-A', b: 'ANSWER-B' };
    const ab = buildRequest(pair, 'ab', DEFAULT_TEMPLATE);
    const ba = buildRequest(pair, 'ba', DEFAULT_TEMPLATE);
    assert.ok(ab.prompt.indexOf('ANSWER-A') < ab.prompt.indexOf('ANSWER-B'));
    assert.ok(ba.prompt.indexOf('ANSWER-B') < ba.prompt.indexOf('ANSWER-A'));
    assert.equal(ba.answer1, 'ANSWER-B');
    assert.match(ab.prompt, /\[Reference answer, if any\]\n\(none\)\n/);
    assert.match(ab.prompt, /Say hi\./);
  });
  test('unknown or missing placeholders are refused with the reason', () => {
    assert.throws(() => validateTemplate('{{answer_1}} {{answer_2}} {{question}}'), /unknown placeholder \{\{question\}\}/);
    assert.throws(() => validateTemplate('{{instruction}} {{answer_1}}'), /must contain \{\{answer_2\}\}/);
    assert.throws(() => validateTemplate('{{instruction}}'), JudgeInputError);
    validateTemplate(DEFAULT_TEMPLATE);
  });
  test('a template file is read and checked', () => {
    assert.match(loadTemplateFile(fixture('template.txt')), /First answer: \{\{answer_1\}\}/);
    assert.throws(() => loadTemplateFile(fixture('missing.txt')), /cannot read template/);
  });
});

describe('choice parsing', () => {
  test('tool arguments', () => {
    assert.deepEqual(parseChoiceArguments('{"choice": 2, "argument": "clearer"}'), { choice: 2, argument: 'clearer' });
    assert.deepEqual(parseChoiceArguments('{"choice": "0"}'), { choice: 0, argument: '' });
  });
  test('malformed JSON and out-of-range choices are invalid, never a verdict', () => {
    for (const bad of ['{"choice": 1, "argum', '{"choice": 3, "argument": "x"}', '{"choice": -1}', '{"choice": 1.5}', '[1]', '{}']) {
      assert.throws(
        () => parseChoiceArguments(bad),
        (error: unknown) => error instanceof JudgeCallError && error.kind === 'invalid',
        bad,
      );
    }
  });
  test('JSON inside prose or a code fence', () => {
    assert.deepEqual(parseChoiceText('Sure.\n```json\n{"argument": "uses {the} input", "choice": 1}\n```'), {
      choice: 1,
      argument: 'uses {the} input',
    });
    assert.deepEqual(verdictCandidates('no braces here'), []);
    assert.deepEqual(parseChoiceText('{not json} then {"choice": 0}'), { choice: 0, argument: '' });
    assert.throws(() => parseChoiceText('I pick answer 1'), /no JSON verdict object/);
  });
});

describe('reference judge', () => {
  test('normalisation: case, punctuation and spacing', () => {
    assert.equal(normalizeAnswer('  Blue,   GREEN!\n'), 'blue green');
    assert.ok(matchesReference('paris!', 'Paris', 'normalized'));
    assert.ok(!matchesReference('paris!', 'Paris', 'exact'));
    assert.ok(matchesReference(' Paris\n', 'Paris', 'exact'));
  });
  test('the matching answer wins, in either position; both or neither is 0', async () => {
    const judge = new ReferenceJudge('exact');
    const ask = (answer1: string, answer2: string) =>
      judge.judge({ instruction: 'i', answer1, answer2, reference: '7', prompt: '' });
    assert.equal((await ask('7', '8')).choice, 1);
    assert.equal((await ask('8', '7')).choice, 2);
    assert.equal((await ask('7', '7')).choice, 0);
    assert.equal((await ask('6', '8')).choice, 0);
    await assert.rejects(judge.judge({ instruction: 'i', answer1: '7', answer2: '8', prompt: '' }), /no reference/);
  });
});

describe('results log', () => {
  test('skips a line cut short by a crash and starts the next line on a fresh one', (t) => {
    const dir = tempDir(t);
    const file = path.join(dir, 'results.jsonl');
    const good = { v: 1, prompt_id: 'p1', order: 'ab', key: 'k1', time: 0, choice: 1, winner: 'a', argument: '', usage: { input_tokens: 5, output_tokens: 1 }, attempts: 1 };
    fs.writeFileSync(file, `${JSON.stringify(good)}\n{"v":1,"prompt_id":"p1","order":"ba","ke`);
    const log = new ResultsLog(dir);
    assert.equal(log.get('k1')?.choice, 1);
    assert.deepEqual(log.usage, { input_tokens: 5, output_tokens: 1 });
    log.append({ ...good, order: 'ba', key: 'k2', choice: 2, winner: 'a' } as never);
    const reopened = new ResultsLog(dir);
    assert.equal(reopened.get('k2')?.choice, 2);
    assert.equal(fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).length, 3);
  });
  test('judge ids are safe folder names', () => {
    assert.equal(newJudgeId('run a@40', 'ref/x', new Date('2026-01-02T03:04:05Z')), 'run_a_40-vs-ref_x-20260102-030405');
  });
});
