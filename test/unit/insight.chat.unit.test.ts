// Chat with a checkpoint: the ONNX export run on onnxruntime-node, with the checkpoint's tokenizer, must
// produce the PyTorch model's greedy output, token for token, for the same prompts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { ChatMessage } from '../../src/insight/datasetRows';
import { MissingExportError, OnnxChatModel } from '../../src/insight/onnxChat';
import { repoRoot, tempDir } from './helpers';

const python = path.join(repoRoot, '.venv', 'bin', 'python');
const MAX_NEW_TOKENS = 24;

test('greedy chat on the ONNX export through onnxruntime-node equals the PyTorch greedy output', async (t) => {
  const dir = tempDir(t);
  const checkpoint = path.join(dir, 'step-0');
  // A prompt set with varied lengths: the bundled eval prompts (first 12) and two chat prompts.
  const prompts = path.join(dir, 'prompts.jsonl');
  const evalRows = fs.readFileSync(path.join(repoRoot, 'examples', 'data', 'instruct_eval.jsonl'), 'utf8').trim().split('\n').slice(0, 12);
  const extra = [
    { id: 'sys', messages: [{ role: 'system', content: 'Answer with the result only.' }, { role: 'user', content: 'Sort these numbers in ascending order.\n\n9 3 7' }] },
    { id: 'long', instruction: 'The capital of Norvia is Quelt. '.repeat(6) + 'What is the capital of Norvia?' },
  ];
  fs.writeFileSync(prompts, [...evalRows, ...extra.map((r) => JSON.stringify(r))].join('\n') + '\n');

  const py = spawnSync(python, [path.join(repoRoot, 'test', 'fixtures', 'insight', 'greedy_reference.py'), path.join(repoRoot, 'examples', 'tiny-llama'), checkpoint, prompts, String(MAX_NEW_TOKENS)], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, PYTHONPATH: path.join(repoRoot, 'trainer'), HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1' },
  });
  assert.equal(py.status, 0, `the PyTorch reference failed:\n${py.stderr}`);
  const expected = JSON.parse(py.stdout) as { messages: ChatMessage[]; completion: string }[];
  assert.equal(expected.length, 14);

  const model = await OnnxChatModel.load(checkpoint);
  t.after(() => model.dispose());
  let nonEmpty = 0;
  for (const want of expected) {
    let streamed = '';
    const reply = await model.reply(want.messages, { maxNewTokens: MAX_NEW_TOKENS, temperature: 0, topP: 1, topK: 0 }, (piece) => (streamed += piece));
    assert.equal(reply.text, want.completion, `greedy completion of ${JSON.stringify(want.messages.at(-1)?.content)}`);
    assert.equal(streamed.trim(), reply.text.trim(), 'the streamed pieces add up to the reply');
    assert.ok(reply.tokenIds.length <= MAX_NEW_TOKENS && reply.firstTokenMs > 0);
    if (reply.text.length > 0) nonEmpty += 1;
  }
  assert.ok(nonEmpty >= 10, 'the comparison is about real text, not empty completions');
});

test('a checkpoint without an export gets a message naming the export command', async (t) => {
  const dir = tempDir(t);
  await assert.rejects(OnnxChatModel.load(dir), (error: unknown) => {
    assert.ok(error instanceof MissingExportError);
    assert.match(error.message, /python -m sft_studio export-onnx /);
    return true;
  });
});
