// Secrets never reach what the judge writes or prints: keys echoed in error bodies, Bearer tokens,
// and credentials in the base URL.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { judgeCommand } from '../../src/cli/judgeCommand';
import { runJudge } from '../../src/judge/engine';
import { OpenAiJudgeProvider } from '../../src/judge/openaiProvider';
import { redactText, redactUrl, urlHasCredentials } from '../../src/judge/redact';
import { errorReply, preferGoodScript, startFakeServer, type Script } from '../fixtures/judge/fakeOpenAiServer';
import { captureIo, fixture, goodBadPairs, tempDir } from '../fixtures/judge/helpers';

type T = { after(fn: () => void | Promise<void>): void };

/** Every file the judge left in its folder, as one string. */
function everythingWritten(outDir: string): string {
  return fs
    .readdirSync(outDir)
    .map((name) => fs.readFileSync(path.join(outDir, name), 'utf8'))
    .join('\n');
}

async function serve(t: T, script: Script) {
  const server = await startFakeServer(script);
  t.after(() => server.close());
  return server;
}

describe('secrets in what the judge writes', () => {
  test('a 401 that echoes the key: summary.json, the CLI output and its --json line hold no key', async (t) => {
    // Not shaped like an OpenAI key: only knowing the key in use can catch it.
    const key = 'proxy-key-7f3a9c1e55d24b';
    const server = await serve(t, ({ authorization }) =>
      errorReply(401, `Invalid credentials: ${authorization?.replace('Bearer ', '')} (header was "${authorization}")`),
    );
    const outDir = tempDir(t);
    const io = captureIo();
    const code = await judgeCommand(
      ['--a', fixture('answers-a.jsonl'), '--b', fixture('answers-b.jsonl'), '--base-url', server.baseURL, '--model', 'm', '--out', outDir, '--json'],
      io.io,
      { OPENAI_API_KEY: key },
    );
    assert.equal(code, 1);
    assert.equal(server.calls[0].authorization, `Bearer ${key}`, 'the real key was sent');
    const summary = io.lastJson();
    assert.equal(summary.stopped, 'error');
    assert.match(summary.message, /401 .*Invalid credentials: \[redacted\]/);
    for (const [where, text] of [
      ['the output folder', everythingWritten(outDir)],
      ['stdout', io.stdout()],
      ['stderr', io.stderr()],
    ]) {
      assert.ok(!text.includes(key), `the key appears in ${where}`);
      assert.ok(!text.includes('7f3a9c1e'), `part of the key appears in ${where}`);
    }
  });

  test('per-call errors echoing sk- keys and Bearer tokens are redacted in results.jsonl and records.jsonl', async (t) => {
    const key = 'sk-proj-AbCdEf0123456789GhIjKl';
    const server = await serve(t, (call) =>
      call.user.includes('two plus two')
        ? errorReply(500, `upstream failed for Authorization: Bearer ${key}; retry with sk-other0123456789abcdef`)
        : preferGoodScript(call),
    );
    const outDir = tempDir(t);
    const provider = new OpenAiJudgeProvider({ baseURL: server.baseURL, model: 'm', apiKey: key });
    const { summary, records } = await runJudge({
      pairs: goodBadPairs(),
      provider,
      outDir,
      retry: { baseDelayMs: 1, maxDelayMs: 2, maxRetries: 0 },
    });
    assert.equal(summary.errors, 2);
    const written = everythingWritten(outDir);
    assert.ok(!written.includes(key) && !written.includes('AbCdEf0123'), 'the key in use');
    assert.ok(!written.includes('sk-other0123456789abcdef'), 'another sk- key');
    const failed = records.find((r) => r.ab?.error)!;
    assert.match(failed.ab!.error!, /500 .*Bearer \[redacted\]/);
  });

  test('a key in the base URL query does not reach summary.judge, messages or the cache keys', async (t) => {
    const server = await serve(t, () => errorReply(404, 'no such route'));
    const secret = 'QUERYSECRET123456';
    const baseURL = `${server.baseURL}?api_key=${secret}&api-version=2024-06-01`;
    const outDir = tempDir(t);
    const provider = new OpenAiJudgeProvider({ baseURL, model: 'm' });
    assert.equal(provider.id, `openai:m@${server.baseURL}?api_key=[redacted]&api-version=2024-06-01`);
    const { summary } = await runJudge({ pairs: goodBadPairs(), provider, outDir, concurrency: 1 });
    assert.equal(summary.stopped, 'error');
    assert.ok(!JSON.stringify(summary).includes(secret));
    assert.ok(!everythingWritten(outDir).includes(secret));
  });
});

describe('redaction rules', () => {
  test('free text', () => {
    assert.equal(redactText('key sk-abcdefgh12345678 used'), 'key [redacted] used');
    assert.equal(redactText('Authorization: Bearer abc.def-ghi'), 'Authorization: Bearer [redacted]');
    assert.equal(redactText('GET /v1?key=abc123&x=1'), 'GET /v1?key=[redacted]&x=1');
    assert.equal(redactText('{"api_key": "zzz999"}'), '{"api_key": "[redacted]"}');
    assert.equal(redactText('https://bob:hunter2@example.com/v1'), 'https://[redacted]@example.com/v1');
    assert.equal(redactText('token hf_abcdefghijklmnopqrstuv1234'), 'token [redacted]');
    assert.equal(redactText('my key is mysecretvalue!', ['mysecretvalue']), 'my key is [redacted]!');
    assert.equal(redactText('a k b', ['k']), 'a k b', 'a known secret too short to be one is left alone');
    assert.equal(redactText('500 tokens used; the model is busy'), '500 tokens used; the model is busy');
  });
  test('URLs', () => {
    assert.equal(redactUrl('https://api.example.com/v1/'), 'https://api.example.com/v1');
    assert.equal(redactUrl('https://u:p@api.example.com/v1?token=t&deployment=d'), 'https://[redacted]@api.example.com/v1?token=[redacted]&deployment=d');
    assert.ok(urlHasCredentials('https://x.example/v1?api_key=1'));
    assert.ok(urlHasCredentials('https://user:pw@x.example/v1'));
    assert.ok(!urlHasCredentials('https://x.example/v1?api-version=2024-06-01'));
  });
});
