// Resuming after a stop, the spend cap, and the concurrency limit, against the scripted server.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { callKey, runJudge, type JudgeRunOptions } from '../../src/judge/engine';
import { OpenAiJudgeProvider } from '../../src/judge/openaiProvider';
import { buildRequest, DEFAULT_TEMPLATE } from '../../src/judge/template';
import { preferGoodScript, startFakeServer, type FakeServer, type Script } from '../fixtures/judge/fakeOpenAiServer';
import { goodBadPairs, readJsonl, tempDir } from '../fixtures/judge/helpers';

type T = { after(fn: () => void | Promise<void>): void };

async function serve(t: T, script: Script): Promise<FakeServer> {
  const server = await startFakeServer(script);
  t.after(() => server.close());
  return server;
}

function options(server: FakeServer, outDir: string, extra: Partial<JudgeRunOptions> = {}): JudgeRunOptions {
  return {
    pairs: goodBadPairs(),
    provider: new OpenAiJudgeProvider({ baseURL: server.baseURL, model: 'judge-test', apiKey: 'k' }),
    outDir,
    concurrency: 1,
    retry: { baseDelayMs: 1, maxDelayMs: 50, maxRetries: 2 },
    ...extra,
  };
}

/** The rendered prompt of every call recorded in results.jsonl. */
function recordedPrompts(outDir: string, providerId: string): Set<string> {
  const pairs = goodBadPairs();
  const byKey = new Map<string, string>();
  for (const pair of pairs) {
    for (const order of ['ab', 'ba'] as const) {
      const request = buildRequest(pair, order, DEFAULT_TEMPLATE);
      byKey.set(callKey(providerId, order, request), request.prompt);
    }
  }
  return new Set(readJsonl(path.join(outDir, 'results.jsonl')).map((line) => byKey.get(line.key)!));
}

describe('resume', () => {
  test('after an abort mid-run, a second run asks only the calls that have no result', async (t) => {
    const controller = new AbortController();
    const server = await serve(t, (call) => {
      // The "kill": stop the run while this request is in flight.
      if (call.hit === 5) controller.abort();
      return { ...preferGoodScript(call), delayMs: 10 } as ReturnType<Script> & object;
    });
    const outDir = tempDir(t);
    const first = await runJudge(options(server, outDir, { concurrency: 3, signal: controller.signal }));
    assert.equal(first.summary.stopped, 'aborted');
    // A request the client had already sent when it aborted may reach the server a moment later.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const firstHits = server.calls.length;
    const done = readJsonl(path.join(outDir, 'results.jsonl')).length;
    assert.ok(done >= 1 && done < 14, `${done} calls recorded before the abort`);
    assert.equal(first.summary.calls, done);
    const providerId = options(server, outDir).provider.id;
    const answered = recordedPrompts(outDir, providerId);

    // A crash can also leave half a line behind; the resumed run must not trip over it.
    fs.appendFileSync(path.join(outDir, 'results.jsonl'), '{"v":1,"prompt_id":"p1","order":"ab","ke');

    const second = await runJudge(options(server, outDir, { concurrency: 3 }));
    const secondCalls = server.calls.slice(firstHits);
    assert.equal(secondCalls.length, 14 - done, 'no call with a result is asked again');
    for (const call of secondCalls) assert.ok(!answered.has(call.user), 'a finished call was asked again');
    assert.equal(new Set(secondCalls.map((c) => c.user)).size, secondCalls.length);
    assert.equal(second.summary.resumed, done);
    assert.equal(second.summary.stopped, undefined);
    assert.deepEqual(
      [second.summary.wins, second.summary.ties, second.summary.losses, second.summary.calls, second.summary.errors],
      [4, 1, 2, 14, 0],
    );

    const third = await runJudge(options(server, outDir));
    assert.equal(server.calls.length, firstHits + 14 - done, 'a finished judgement makes no call');
    assert.equal(third.summary.resumed, 14);
    assert.equal(third.summary.win_rate, second.summary.win_rate);
  });

  test('calls that ended in an error are asked again on resume; verdicts are not', async (t) => {
    let down = true;
    const server = await serve(t, (call) => (down && call.user.includes('two plus two') ? { status: 500, json: { error: { message: 'down' } } } : preferGoodScript(call)));
    const outDir = tempDir(t);
    const first = await runJudge(options(server, outDir, { retry: { baseDelayMs: 1, maxDelayMs: 5, maxRetries: 0 } }));
    assert.equal(first.summary.errors, 2);
    const before = server.calls.length;
    down = false;
    const second = await runJudge(options(server, outDir));
    assert.equal(server.calls.length - before, 2);
    assert.equal(second.summary.errors, 0);
    assert.equal(second.summary.wins, 4);
    assert.equal(second.summary.resumed, 12);
  });

  test('a different judge model does not reuse the verdicts of another', async (t) => {
    const server = await serve(t, preferGoodScript);
    const outDir = tempDir(t);
    await runJudge(options(server, outDir));
    const other = new OpenAiJudgeProvider({ baseURL: server.baseURL, model: 'other-judge', apiKey: 'k' });
    const again = await runJudge({ ...options(server, outDir), provider: other });
    assert.equal(server.calls.length, 28);
    assert.equal(again.summary.resumed, 0);
  });
});

describe('spend cap', () => {
  // Every reply reports 100 input + 20 output tokens; each attempt reserves its prompt estimate
  // (about 400 tokens with the default template) plus its reply limit before it starts.
  const capped = (server: FakeServer, outDir: string, budget: JudgeRunOptions['budget']) =>
    options(server, outDir, {
      budget,
      provider: new OpenAiJudgeProvider({ baseURL: server.baseURL, model: 'judge-test', apiKey: 'k', maxOutputTokens: 20 }),
    });
  const spentOf = (s: { input_tokens: number; output_tokens: number }) => s.input_tokens + s.output_tokens;

  test('maxTokens: calls start while their reservation fits, the spend never passes the cap, a higher cap continues', async (t) => {
    const server = await serve(t, preferGoodScript);
    const outDir = tempDir(t);
    const first = await runJudge(capped(server, outDir, { maxTokens: 1000 }));
    const provider = capped(server, outDir, {}).provider as OpenAiJudgeProvider;
    const smallestReservation = Math.min(
      ...goodBadPairs().flatMap((pair) =>
        (['ab', 'ba'] as const).map((order) => spentOf(provider.estimateUsage(buildRequest(pair, order, DEFAULT_TEMPLATE)))),
      ),
    );
    assert.equal(first.summary.stopped, 'budget');
    assert.ok(first.summary.calls >= 1);
    assert.equal(server.calls.length, first.summary.calls);
    assert.equal(spentOf(first.summary), 120 * first.summary.calls);
    assert.ok(spentOf(first.summary) <= 1000);
    assert.ok(spentOf(first.summary) + smallestReservation > 1000, 'it stopped for lack of room, not early');
    const afterFirst = server.calls.length;

    const again = await runJudge(capped(server, outDir, { maxTokens: 1000 }));
    assert.equal(server.calls.length, afterFirst, 'the cap covers everything recorded in the folder');
    assert.equal(again.summary.stopped, 'budget');

    const more = await runJudge(capped(server, outDir, { maxTokens: 1500 }));
    assert.ok(server.calls.length > afterFirst);
    assert.ok(server.calls.length < 14);
    assert.ok(spentOf(more.summary) <= 1500);
    assert.equal(more.summary.stopped, 'budget');

    const rest = await runJudge(options(server, outDir));
    assert.equal(server.calls.length, 14);
    assert.equal(rest.summary.stopped, undefined);
    assert.equal(rest.summary.wins, 4);
  });

  test('maxCost with per-1k prices: the cost never passes the cap', async (t) => {
    const server = await serve(t, preferGoodScript);
    // 100 × 0.01/1k + 20 × 0.03/1k = 0.0016 per call.
    const { summary } = await runJudge(capped(server, tempDir(t), { maxCost: 0.012, pricePer1kInput: 0.01, pricePer1kOutput: 0.03 }));
    assert.equal(summary.stopped, 'budget');
    assert.ok(summary.calls >= 1);
    assert.ok(summary.cost! <= 0.012, `cost ${summary.cost}`);
    assert.ok(Math.abs(summary.cost! - 0.0016 * summary.calls) < 1e-12, `cost ${summary.cost}`);
  });

  test('with calls in parallel the spend still stays under the cap', async (t) => {
    const server = await serve(t, (call) => ({ ...preferGoodScript(call), delayMs: 5 }) as never);
    const { summary } = await runJudge({ ...capped(server, tempDir(t), { maxTokens: 1500 }), concurrency: 4 });
    assert.equal(summary.stopped, 'budget');
    assert.ok(spentOf(summary) <= 1500, `spent ${spentOf(summary)}`);
  });

  test('a cost cap without prices is refused', async (t) => {
    const server = await serve(t, preferGoodScript);
    await assert.rejects(runJudge(options(server, tempDir(t), { budget: { maxCost: 1 } })), /needs prices/);
    assert.equal(server.calls.length, 0);
  });
});

describe('concurrency', () => {
  for (const limit of [1, 3]) {
    test(`never more than ${limit} call(s) in flight`, async (t) => {
      const server = await serve(t, (call) => ({ ...preferGoodScript(call), delayMs: 30 }) as never);
      const { summary } = await runJudge(options(server, tempDir(t), { concurrency: limit }));
      assert.equal(summary.calls, 14);
      assert.equal(server.maxInFlight, limit);
    });
  }
});
