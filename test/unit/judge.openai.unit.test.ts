// The engine with the real `openai` SDK client against a scripted local server.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { runJudge, type JudgeRunOptions } from '../../src/judge/engine';
import { OpenAiJudgeProvider } from '../../src/judge/openaiProvider';
import { wilsonInterval } from '../../src/judge/stats';
import { readSummary } from '../../src/judge/store';
import {
  contentReply,
  errorReply,
  preferGood,
  preferGoodScript,
  startFakeServer,
  toolReply,
  type Script,
} from '../fixtures/judge/fakeOpenAiServer';
import { goodBadPairs, promptIdOf, readJsonl, tempDir } from '../fixtures/judge/helpers';

const FAST_RETRY = { baseDelayMs: 1, maxDelayMs: 2000, maxRetries: 2 };

async function judgeWith(
  t: { after(fn: () => void | Promise<void>): void },
  script: Script,
  options: Partial<JudgeRunOptions> = {},
) {
  const server = await startFakeServer(script);
  t.after(() => server.close());
  const provider = new OpenAiJudgeProvider({ baseURL: server.baseURL, model: 'judge-test', apiKey: 'test-key' });
  const outDir = tempDir(t);
  const result = await runJudge({
    pairs: goodBadPairs(),
    provider,
    outDir,
    concurrency: 4,
    retry: FAST_RETRY,
    timeoutMs: 5000,
    ...options,
  });
  return { ...result, server, provider, outDir };
}

/** The counts of a judge that always prefers the GOOD answer on the fixture pairs. */
const PREFER_GOOD = {
  wins: 4,
  ties: 1,
  losses: 2,
  inconsistent: 0,
  prompts: 7,
  consistency: 1,
  position_bias: 0.5,
  calls: 14,
  errors: 0,
};

function pick<T extends object>(object: T, keys: readonly string[]): Partial<T> {
  return Object.fromEntries(keys.map((k) => [k, (object as Record<string, unknown>)[k]])) as Partial<T>;
}

describe('OpenAI-compatible judge through the SDK', () => {
  test('a judge that prefers content: exact counts, both orders, forced tool call', async (t) => {
    const { summary, records, server, outDir } = await judgeWith(t, preferGoodScript);
    assert.deepEqual(pick(summary, Object.keys(PREFER_GOOD)), PREFER_GOOD);
    assert.equal(summary.win_rate, 4.5 / 7);
    assert.deepEqual([summary.ci_low, summary.ci_high], wilsonInterval(4.5 / 7, 7));
    assert.equal(server.calls.length, 14);
    assert.equal(summary.input_tokens, 1400);
    assert.equal(summary.output_tokens, 280);
    for (const call of server.calls) {
      assert.equal(call.authorization, 'Bearer test-key');
      assert.equal(call.body.model, 'judge-test');
      assert.equal(call.body.tools[0].function.name, 'make_choice');
      assert.deepEqual(call.body.tool_choice, { type: 'function', function: { name: 'make_choice' } });
    }
    // Every prompt was asked in both orders: 7 prompts × 2 distinct renderings.
    assert.equal(new Set(server.calls.map((c) => c.user)).size, 14);
    const p5 = records.find((r) => r.prompt_id === 'p5')!;
    assert.equal(p5.outcome, 'loss');
    assert.deepEqual(p5.ab, { choice: 2, winner: 'b', argument: 'content' });
    assert.deepEqual(p5.ba, { choice: 1, winner: 'b', argument: 'content' });
    const p7 = records.find((r) => r.prompt_id === 'p7')!;
    assert.equal(p7.outcome, 'tie');
    assert.equal(p7.consistent, true);
    assert.equal(readJsonl(path.join(outDir, 'results.jsonl')).length, 14);
    assert.equal(readJsonl(path.join(outDir, 'records.jsonl')).length, 7);
    assert.deepEqual(readSummary(outDir), summary);
  });

  test('a judge that always picks the first position: every prompt an inconsistent tie', async (t) => {
    const { summary } = await judgeWith(t, () => toolReply({ argument: 'first', choice: 1 }));
    assert.deepEqual(pick(summary, [...Object.keys(PREFER_GOOD), 'win_rate']), {
      wins: 0,
      ties: 7,
      losses: 0,
      inconsistent: 7,
      prompts: 7,
      consistency: 0,
      position_bias: 1,
      calls: 14,
      errors: 0,
      win_rate: 0.5,
    });
  });

  test('malformed arguments and out-of-range choices are errors after one retry, never verdicts', async (t) => {
    const { summary, records, server } = await judgeWith(t, ({ user, seen }) => {
      const id = promptIdOf(user);
      if (id === 'p2') return toolReply('{"choice": 1, "argument": "cut off');
      if (id === 'p3' && seen === 1) return toolReply('not json at all');
      if (id === 'p4') return toolReply({ argument: 'x', choice: 3 });
      return toolReply({ argument: 'content', choice: preferGood(user) });
    });
    assert.deepEqual(pick(summary, Object.keys(PREFER_GOOD)), {
      wins: 2, // p1, p3 (p3 recovered on its retry)
      ties: 1,
      losses: 2,
      inconsistent: 0,
      prompts: 5,
      consistency: 1,
      position_bias: 0.5,
      calls: 14,
      errors: 4,
    });
    // p2, p3, p4: two attempts per order; p1, p5, p6, p7: one.
    assert.equal(server.calls.length, 20);
    // Failed attempts cost tokens too.
    assert.equal(summary.input_tokens, 2000);
    const p2 = records.find((r) => r.prompt_id === 'p2')!;
    assert.equal(p2.outcome, null);
    assert.match(p2.ab!.error!, /malformed tool arguments/);
    assert.match(records.find((r) => r.prompt_id === 'p4')!.ba!.error!, /choice out of range: 3/);
    assert.equal(records.find((r) => r.prompt_id === 'p3')!.outcome, 'win');
  });

  test('429 with Retry-After: waits as asked, then succeeds', async (t) => {
    const { summary, server } = await judgeWith(
      t,
      (call) => (call.hit === 1 ? errorReply(429, 'Rate limit reached', { 'retry-after': '1' }) : preferGoodScript(call)),
      { concurrency: 1 },
    );
    assert.deepEqual(pick(summary, Object.keys(PREFER_GOOD)), PREFER_GOOD);
    assert.equal(server.calls.length, 15);
    assert.equal(server.calls[1].user, server.calls[0].user);
    const waited = server.calls[1].at - server.calls[0].at;
    assert.ok(waited >= 950, `retried after ${waited} ms, Retry-After asked for 1000`);
  });

  test('a Retry-After longer than the cap is cut to the cap', async (t) => {
    const started = Date.now();
    const { summary, server } = await judgeWith(
      t,
      (call) => (call.seen === 1 ? errorReply(429, 'Rate limit reached', { 'retry-after': '3600' }) : preferGoodScript(call)),
      { retry: { baseDelayMs: 1, maxDelayMs: 20, maxRetries: 2 } },
    );
    assert.equal(summary.errors, 0);
    assert.equal(server.calls.length, 28);
    assert.ok(Date.now() - started < 5000);
  });

  test('500s are retried with backoff; a call that keeps failing becomes an error', async (t) => {
    const flaky = await judgeWith(t, (call) =>
      call.seen <= 2 ? errorReply(500, 'internal error') : preferGoodScript(call),
    );
    assert.deepEqual(pick(flaky.summary, Object.keys(PREFER_GOOD)), PREFER_GOOD);
    assert.equal(flaky.server.calls.length, 42);

    const broken = await judgeWith(t, (call) =>
      promptIdOf(call.user) === 'p1' ? errorReply(503, 'unavailable') : preferGoodScript(call),
    );
    assert.deepEqual(pick(broken.summary, ['wins', 'ties', 'losses', 'prompts', 'calls', 'errors']), {
      wins: 3,
      ties: 1,
      losses: 2,
      prompts: 6,
      calls: 14,
      errors: 2,
    });
    // 1 attempt + maxRetries (2) per order of p1.
    assert.equal(broken.server.calls.filter((c) => promptIdOf(c.user) === 'p1').length, 6);
    assert.match(broken.records[0].ab!.error!, /503/);
  });

  test('an answer slower than the timeout is abandoned, retried, then recorded as an error', async (t) => {
    const { summary, records, server } = await judgeWith(
      t,
      (call) => (promptIdOf(call.user) === 'p1' ? { ...preferGoodScript(call) as object, delayMs: 1500 } : preferGoodScript(call)) as never,
      { timeoutMs: 150, retry: { baseDelayMs: 1, maxDelayMs: 10, maxRetries: 1 } },
    );
    assert.deepEqual(pick(summary, ['wins', 'ties', 'losses', 'prompts', 'calls', 'errors']), {
      wins: 3,
      ties: 1,
      losses: 2,
      prompts: 6,
      calls: 14,
      errors: 2,
    });
    assert.equal(server.calls.filter((c) => promptIdOf(c.user) === 'p1').length, 4);
    assert.match(records[0].ab!.error!, /timed out after 150 ms/);
  });

  test('a server that rejects tools gets response_format json_schema', async (t) => {
    const { summary, server, provider } = await judgeWith(
      t,
      ({ body, user }) => {
        if (body.tools) return errorReply(400, 'tools are not supported by this model');
        assert.equal(body.response_format?.type, 'json_schema');
        assert.deepEqual(body.response_format.json_schema.schema.required, ['argument', 'choice']);
        return contentReply(JSON.stringify({ argument: 'schema', choice: preferGood(user) }));
      },
      { concurrency: 1 },
    );
    assert.deepEqual(pick(summary, Object.keys(PREFER_GOOD)), PREFER_GOOD);
    assert.equal(server.calls.length, 15);
    assert.equal(provider.replyMode, 'json_schema');
    assert.ok(server.calls.slice(1).every((c) => !c.body.tools));
  });

  test('a server that rejects tools and json_schema gets plain JSON in the content', async (t) => {
    const { summary, server, provider } = await judgeWith(
      t,
      ({ body, user }) => {
        if (body.tools || body.response_format) return errorReply(400, 'unsupported parameter');
        assert.match(body.messages[0].content, /Reply with only a JSON object/);
        return contentReply(`My verdict:\n\`\`\`json\n{"argument": "plain", "choice": ${preferGood(user)}}\n\`\`\``, null);
      },
      { concurrency: 1 },
    );
    assert.deepEqual(pick(summary, Object.keys(PREFER_GOOD)), PREFER_GOOD);
    assert.equal(server.calls.length, 16);
    assert.equal(provider.replyMode, 'json');
    // The server reported no usage: tokens are estimated from the text, not left at zero.
    assert.ok(summary.input_tokens > 14 * 50, `estimated ${summary.input_tokens}`);
  });

  test('a rejected key stops the run at once with a message that says what to check', async (t) => {
    const { summary, server } = await judgeWith(t, () => errorReply(401, 'Incorrect API key provided'), { concurrency: 1 });
    assert.equal(summary.stopped, 'error');
    assert.match(summary.message!, /401 .*Incorrect API key.*OPENAI_API_KEY/);
    assert.equal(server.calls.length, 1);
    assert.equal(summary.calls, 0);
  });
});
