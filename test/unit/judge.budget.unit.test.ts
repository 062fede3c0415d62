// The spend cap holds with many calls in flight: each attempt reserves its estimated prompt plus
// its reply limit before it starts, and every request carries that limit (max_tokens).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SpendLedger } from '../../src/judge/budget';
import { runJudge } from '../../src/judge/engine';
import type { LanguageModelApi, LmModel } from '../../src/judge/lm.apis';
import { OpenAiJudgeProvider } from '../../src/judge/openaiProvider';
import type { JudgePair, TokenUsage } from '../../src/judge/types';
import { VscodeLmJudgeProvider } from '../../src/judge/vscodeLmProvider';
import { errorReply, measuredUsage, preferGood, startFakeServer, toolReply, type FakeServer, type Script } from '../fixtures/judge/fakeOpenAiServer';
import { readJsonl, tempDir } from '../fixtures/judge/helpers';
import * as path from 'node:path';

type T = { after(fn: () => void | Promise<void>): void };

/** `n` prompts, each with a GOOD and a BAD answer: 2n calls. */
function manyPairs(n: number): JudgePair[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `q${i}`,
    prompt: `Question ${i}: name a number larger than ${i}.`,
    a: i % 2 ? `GOOD ${i + 1}` : `BAD ${i - 1}`,
    b: i % 2 ? `BAD ${i - 1}` : `GOOD ${i + 1}`,
  }));
}

async function serve(t: T, script: Script): Promise<FakeServer> {
  const server = await startFakeServer(script);
  t.after(() => server.close());
  return server;
}

/** A judge that answers after a short delay, with usage counted from the request like a real server. */
const realistic =
  (charsPerToken = 4): Script =>
  ({ body, user }) => ({ ...toolReply({ argument: 'content', choice: preferGood(user) }, measuredUsage(body, charsPerToken)), delayMs: 20 });

const total = (u: { input_tokens: number; output_tokens: number }) => u.input_tokens + u.output_tokens;

/** What every recorded call cost, summed from results.jsonl (the file the cap is measured against). */
function recordedSpend(outDir: string): number {
  return readJsonl(path.join(outDir, 'results.jsonl')).reduce((n, r) => n + total(r.usage), 0);
}

describe('spend cap at concurrency 32', () => {
  test('cap 1,000 tokens: the spend stays under it and every request sends max_tokens', async (t) => {
    const server = await serve(t, realistic());
    const provider = new OpenAiJudgeProvider({ baseURL: server.baseURL, model: 'judge-test', apiKey: 'k', maxOutputTokens: 64 });
    const outDir = tempDir(t);
    const { summary } = await runJudge({ pairs: manyPairs(40), provider, outDir, concurrency: 32, budget: { maxTokens: 1000 } });
    const spent = total(summary);
    assert.equal(summary.stopped, 'budget');
    assert.ok(spent <= 1000, `spent ${spent} tokens under a cap of 1,000`);
    assert.ok(summary.calls >= 1, 'the cap leaves room for at least one call');
    assert.equal(spent, recordedSpend(outDir));
    assert.equal(server.calls.length, summary.calls);
    for (const call of server.calls) assert.equal(call.body.max_tokens, 64);
  });

  test('a larger cap still runs calls in parallel, stays under the cap and uses most of it', async (t) => {
    const server = await serve(t, realistic());
    const provider = new OpenAiJudgeProvider({ baseURL: server.baseURL, model: 'judge-test', apiKey: 'k', maxOutputTokens: 64 });
    const pairs = manyPairs(40);
    const cap = 8000;
    const { summary } = await runJudge({ pairs, provider, outDir: tempDir(t), concurrency: 32, budget: { maxTokens: cap } });
    const spent = total(summary);
    assert.equal(summary.stopped, 'budget');
    assert.ok(spent <= cap, `spent ${spent} of ${cap}`);
    assert.ok(server.maxInFlight > 1, `at most ${server.maxInFlight} in flight`);
    // It stopped because the next call could not fit, not early.
    const smallest = Math.min(...server.calls.map((c) => total(provider.estimateUsage({ prompt: c.user } as never))));
    assert.ok(spent + smallest > cap, `stopped at ${spent} with room for a ${smallest}-token call`);
  });

  test('when the estimates undercount (2 characters per token), the overshoot is at most one call', async (t) => {
    const server = await serve(t, realistic(2));
    const provider = new OpenAiJudgeProvider({ baseURL: server.baseURL, model: 'judge-test', apiKey: 'k', maxOutputTokens: 64 });
    const outDir = tempDir(t);
    const cap = 8000;
    const { summary } = await runJudge({ pairs: manyPairs(40), provider, outDir, concurrency: 32, budget: { maxTokens: cap } });
    const largestCall = Math.max(...readJsonl(path.join(outDir, 'results.jsonl')).map((r) => total(r.usage)));
    assert.ok(total(summary) <= cap + largestCall, `spent ${total(summary)} with a cap of ${cap} and calls of up to ${largestCall}`);
    assert.ok(server.maxInFlight > 1, 'parallel again once the first reply calibrated the estimate');
  });

  test('a cost cap holds the same way', async (t) => {
    const server = await serve(t, realistic());
    const provider = new OpenAiJudgeProvider({ baseURL: server.baseURL, model: 'judge-test', apiKey: 'k', maxOutputTokens: 64 });
    const budget = { maxCost: 0.02, pricePer1kInput: 0.01, pricePer1kOutput: 0.03 };
    const { summary } = await runJudge({ pairs: manyPairs(40), provider, outDir: tempDir(t), concurrency: 32, budget });
    assert.equal(summary.stopped, 'budget');
    assert.ok(summary.cost! <= 0.02, `cost ${summary.cost}`);
    assert.ok(summary.calls >= 1);
  });

  test('a call whose reservation can never fit starts nothing', async (t) => {
    const server = await serve(t, realistic());
    const provider = new OpenAiJudgeProvider({ baseURL: server.baseURL, model: 'judge-test', apiKey: 'k' });
    const { summary } = await runJudge({ pairs: manyPairs(4), provider, outDir: tempDir(t), concurrency: 32, budget: { maxTokens: 100 } });
    assert.equal(summary.stopped, 'budget');
    assert.equal(server.calls.length, 0);
  });

  test('retries reserve too: a run of 429s under a cap neither hangs nor overspends', async (t) => {
    const server = await serve(t, (call) =>
      call.seen === 1 ? errorReply(429, 'slow down', { 'retry-after-ms': '5' }) : realistic()(call),
    );
    const provider = new OpenAiJudgeProvider({ baseURL: server.baseURL, model: 'judge-test', apiKey: 'k', maxOutputTokens: 64 });
    const { summary } = await runJudge({
      pairs: manyPairs(20),
      provider,
      outDir: tempDir(t),
      concurrency: 32,
      budget: { maxTokens: 3000 },
      retry: { baseDelayMs: 1, maxDelayMs: 10, maxRetries: 3 },
    });
    assert.equal(summary.stopped, 'budget');
    assert.ok(total(summary) <= 3000, `spent ${total(summary)}`);
  });
});

describe('max_tokens on the wire', () => {
  test('a model that refuses max_tokens gets max_completion_tokens, and keeps it', async (t) => {
    const server = await serve(t, ({ body, user }) =>
      body.max_tokens !== undefined
        ? errorReply(400, "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.")
        : toolReply({ argument: 'x', choice: preferGood(user) }),
    );
    const provider = new OpenAiJudgeProvider({ baseURL: server.baseURL, model: 'o-judge', apiKey: 'k', maxOutputTokens: 300 });
    const { summary } = await runJudge({ pairs: manyPairs(3), provider, outDir: tempDir(t), concurrency: 1 });
    assert.equal(summary.errors, 0);
    assert.equal(server.calls.length, 7, 'one refused request, then six that work');
    assert.ok(server.calls.slice(1).every((c) => c.body.max_completion_tokens === 300 && c.body.max_tokens === undefined));
    assert.ok(server.calls.every((c) => c.body.tools), 'the reply format was not downgraded');
  });
});

describe('vscode.lm reply limit', () => {
  const MODEL: LmModel = { id: 'm', name: 'M', vendor: 'v', family: 'f', maxInputTokens: 8000 };
  test('a reply that runs past the limit is cut off and its request cancelled', async () => {
    let cancelled = false;
    let chunksSent = 0;
    const api: LanguageModelApi = {
      selectChatModels: async () => [MODEL],
      countTokens: async (_m, text) => Math.ceil(text.length / 4),
      async sendRequest(_model, _prompt, signal) {
        signal.addEventListener('abort', () => (cancelled = true));
        return (async function* () {
          yield '{"argument": "short", "choice": 1} ';
          // A model that never stops talking.
          for (;;) {
            chunksSent++;
            yield 'and more '.repeat(10);
          }
        })();
      },
    };
    const provider = new VscodeLmJudgeProvider(api, MODEL, 50);
    const verdict = await provider.judge({ instruction: 'i', answer1: 'a', answer2: 'b', prompt: 'p' }, new AbortController().signal);
    assert.equal(verdict.choice, 1);
    assert.ok(cancelled, 'the request was cancelled');
    assert.ok(chunksSent < 10, `${chunksSent} chunks read`);
    assert.ok(verdict.usage.output_tokens <= 50, `${verdict.usage.output_tokens} output tokens`);
    assert.equal(provider.estimateUsage({ prompt: 'p' } as never).output_tokens, 50);
  });

  test('a stream that stalls does not outlive the attempt', async () => {
    const api: LanguageModelApi = {
      selectChatModels: async () => [MODEL],
      countTokens: async () => 1,
      async sendRequest() {
        return (async function* () {
          yield '{"argu';
          await new Promise(() => undefined);
        })();
      },
    };
    const provider = new VscodeLmJudgeProvider(api, MODEL);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('timed out')), 50);
    await assert.rejects(provider.judge({ instruction: 'i', answer1: 'a', answer2: 'b', prompt: 'p' }, controller.signal));
  });
});

describe('ledger', () => {
  const usage = (input: number, output: number): TokenUsage => ({ input_tokens: input, output_tokens: output });

  test('reservations count against the cap until they settle to what was used', () => {
    const ledger = new SpendLedger({ maxTokens: 1000 }, usage(100, 0));
    const first = ledger.tryReserve(usage(300, 100))!;
    assert.ok(first);
    assert.equal(ledger.tryReserve(usage(300, 100)), undefined, 'nothing else starts before the first reply calibrates');
    ledger.settle(first, usage(200, 50));
    assert.deepEqual(ledger.committed, usage(300, 50));
    const a = ledger.tryReserve(usage(300, 100))!;
    assert.ok(a);
    assert.equal(ledger.tryReserve(usage(300, 100)), undefined, '350 + 400 + 400 would pass 1,000');
    assert.ok(ledger.tryReserve(usage(150, 100)), '350 + 400 + 250 fits exactly');
    ledger.settle(a, undefined);
    assert.deepEqual(ledger.committed, usage(300 + 300 + 150, 50 + 100 + 100), 'unknown usage keeps the reservation');
  });

  test('a server that counts more than estimated makes later reservations larger', () => {
    const ledger = new SpendLedger({ maxTokens: 10_000 }, usage(0, 0));
    const first = ledger.tryReserve(usage(100, 10))!;
    ledger.settle(first, usage(250, 10));
    const next = ledger.tryReserve(usage(100, 10))!;
    assert.deepEqual(next.held, usage(250, 10));
  });

  test('only a counted reply ends the one-at-a-time start; a refused request does not', () => {
    const ledger = new SpendLedger({ maxTokens: 10_000 }, usage(0, 0));
    ledger.settle(ledger.tryReserve(usage(100, 10))!, usage(0, 0), false);
    const second = ledger.tryReserve(usage(100, 10))!;
    assert.equal(ledger.tryReserve(usage(100, 10)), undefined, 'a 500 that cost nothing calibrated nothing');
    ledger.settle(second, usage(0, 0), true);
    assert.ok(ledger.tryReserve(usage(100, 10)) && ledger.tryReserve(usage(100, 10)), 'a server that counts zero is still an answer');
  });

  test('without a cap everything fits', () => {
    const ledger = new SpendLedger(undefined, usage(0, 0));
    for (let i = 0; i < 100; i++) assert.ok(ledger.tryReserve(usage(1e6, 1e6)));
  });
});
