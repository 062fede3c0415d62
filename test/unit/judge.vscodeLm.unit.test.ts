// The vscode.lm provider with the lm.apis wrapper faked: no VS Code needed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runJudge } from '../../src/judge/engine';
import { JudgeCallError } from '../../src/judge/errors';
import type { LanguageModelApi, LmModel } from '../../src/judge/lm.apis';
import { VscodeLmJudgeProvider } from '../../src/judge/vscodeLmProvider';
import { preferGood } from '../fixtures/judge/fakeOpenAiServer';
import { goodBadPairs, tempDir } from '../fixtures/judge/helpers';

const MODEL: LmModel = { id: 'gpt-test', name: 'GPT Test', vendor: 'copilot', family: 'gpt-test', maxInputTokens: 8000 };

async function* chunks(text: string): AsyncIterable<string> {
  for (let i = 0; i < text.length; i += 7) yield text.slice(i, i + 7);
}

function fakeApi(reply: (prompt: string, call: number) => string | Error): LanguageModelApi & { prompts: string[] } {
  const prompts: string[] = [];
  return {
    prompts,
    async selectChatModels(selector) {
      return selector.vendor === undefined || selector.vendor === 'copilot' ? [MODEL] : [];
    },
    async sendRequest(model, prompt) {
      assert.equal(model, MODEL);
      prompts.push(prompt);
      const answer = reply(prompt, prompts.length);
      if (answer instanceof Error) throw answer;
      return chunks(answer);
    },
    async countTokens(_model, text) {
      return text.length;
    },
  };
}

describe('vscode.lm judge', () => {
  test('parses the JSON choice out of the streamed text', async (t) => {
    const api = fakeApi((prompt) => `I compared them.\n{"argument": "content", "choice": ${preferGood(prompt)}}`);
    const provider = await VscodeLmJudgeProvider.select(api, { vendor: 'copilot' });
    assert.equal(provider.id, 'vscode-lm:copilot/gpt-test');
    const { summary } = await runJudge({ pairs: goodBadPairs(), provider, outDir: tempDir(t) });
    assert.deepEqual([summary.wins, summary.ties, summary.losses, summary.inconsistent, summary.errors], [4, 1, 2, 0, 0]);
    assert.equal(api.prompts.length, 14);
    assert.match(api.prompts[0], /^You are a careful, impartial judge.*JSON object/);
    assert.ok(summary.input_tokens > 0 && summary.output_tokens > 0);
  });

  test('a reply without a usable choice is an error after one retry', async (t) => {
    const api = fakeApi(() => 'Answer 1 is better.');
    const provider = new VscodeLmJudgeProvider(api, MODEL);
    const { summary } = await runJudge({ pairs: goodBadPairs().slice(0, 1), provider, outDir: tempDir(t) });
    assert.equal(summary.errors, 2);
    assert.equal(summary.prompts, 0);
    assert.equal(api.prompts.length, 4);
  });

  test('no permission stops the run with what to do', async (t) => {
    const api = fakeApi(() => Object.assign(new Error('Access denied'), { code: 'NoPermissions' }));
    const provider = new VscodeLmJudgeProvider(api, MODEL);
    const { summary } = await runJudge({ pairs: goodBadPairs(), provider, outDir: tempDir(t), concurrency: 1 });
    assert.equal(summary.stopped, 'error');
    assert.match(summary.message!, /Access denied\. Allow SFT Studio/);
    assert.equal(api.prompts.length, 1);
  });

  test('Blocked (quota) is retried', async (t) => {
    const api = fakeApi((prompt, call) =>
      call === 1 ? Object.assign(new Error('Rate limited'), { code: 'Blocked' }) : `{"choice": ${preferGood(prompt)}}`,
    );
    const provider = new VscodeLmJudgeProvider(api, MODEL);
    const { summary } = await runJudge({
      pairs: goodBadPairs(),
      provider,
      outDir: tempDir(t),
      concurrency: 1,
      retry: { baseDelayMs: 1 },
    });
    assert.equal(summary.errors, 0);
    assert.equal(summary.wins, 4);
    assert.equal(api.prompts.length, 15);
  });

  test('no matching model says what to install', async () => {
    await assert.rejects(
      VscodeLmJudgeProvider.select(fakeApi(() => ''), { vendor: 'nobody' }),
      (error: unknown) => error instanceof JudgeCallError && /no VS Code chat model matches vendor=nobody/.test(error.message),
    );
  });
});
