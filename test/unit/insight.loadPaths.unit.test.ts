// Issue 13, item 5: two tokenizers (or chat models) loaded at the same time from folders with the same
// name, as two chat panels on run1/checkpoints/step-600 and run2/checkpoints/step-600 restored together
// after a reload, must each get their own files.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { after, test } from 'node:test';
import { ChatWorker } from '../../src/insight/chatWorker';
import type { ChatMessage } from '../../src/insight/datasetRows';
import { OnnxChatModel, type Sampling } from '../../src/insight/onnxChat';
import { loadTokenizer, TokenizerLoadError, TokenizerTimeoutError } from '../../src/insight/tokenizerLoader';
import { lagProbe } from './eventLoopLag';
import { repoRoot, tempDir } from './helpers';

const tinyModel = path.join(repoRoot, 'examples', 'tiny-llama');
const EXTRA_TOKEN = 'PING';

/**
 * RUN/checkpoints/step-600 with the tiny model's tokenizer files; `withExtraToken` adds an added token
 * for EXTRA_TOKEN (id 261, after the 261 byte-level and special tokens), so the two folders encode
 * that word differently.
 */
function checkpointFolder(root: string, run: string, withExtraToken: boolean): string {
  const dir = path.join(root, run, 'checkpoints', 'step-600');
  fs.mkdirSync(dir, { recursive: true });
  const tokenizer = JSON.parse(fs.readFileSync(path.join(tinyModel, 'tokenizer.json'), 'utf8'));
  if (withExtraToken) {
    tokenizer.added_tokens.push({ id: 261, content: EXTRA_TOKEN, single_word: false, lstrip: false, rstrip: false, normalized: false, special: false });
    tokenizer.model.vocab[EXTRA_TOKEN] = 261;
  }
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  fs.copyFileSync(path.join(tinyModel, 'tokenizer_config.json'), path.join(dir, 'tokenizer_config.json'));
  return dir;
}

test('two tokenizers loaded at once from folders of the same name each encode with their own files', async (t) => {
  const root = tempDir(t);
  const plain = checkpointFolder(root, 'run1', false);
  const extended = checkpointFolder(root, 'run2', true);
  const bytes = [...Buffer.from(EXTRA_TOKEN)].map((byte) => byte);
  // Both orders: whichever load starts second must not redirect the first.
  for (const order of [[plain, extended], [extended, plain]]) {
    const loaded = await Promise.all(order.map((dir) => loadTokenizer(dir)));
    for (const tok of loaded) {
      const want = tok.modelDir === extended ? [261] : bytes.map((byte) => tok.encode(String.fromCharCode(byte))[0]);
      assert.equal(want.length, tok.modelDir === extended ? 1 : EXTRA_TOKEN.length);
      assert.deepEqual(tok.encode(EXTRA_TOKEN), want, `${tok.modelDir} encodes ${EXTRA_TOKEN} with its own vocabulary`);
      assert.equal(tok.addedTokenIds?.has(261), tok.modelDir === extended, `${tok.modelDir}: its own added tokens`);
    }
    assert.deepEqual(
      loaded.map((tok) => tok.modelDir),
      order,
    );
  }
});

test('a tokenizer reached through a symbolic link loads from the folder it points to', async (t) => {
  const root = tempDir(t);
  const extended = checkpointFolder(root, 'run2', true);
  const link = path.join(root, 'latest');
  fs.symlinkSync(extended, link, 'dir');
  const tok = await loadTokenizer(link);
  assert.deepEqual(tok.encode(EXTRA_TOKEN), [261]);
});

test('an unreadable tokenizer.json names the file and the parse error', async (t) => {
  const root = tempDir(t);
  const dir = checkpointFolder(root, 'run1', false);
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), '{"model": ');
  await assert.rejects(loadTokenizer(dir), (error: unknown) => {
    assert.ok(error instanceof TokenizerLoadError);
    assert.ok(error.message.includes(path.join(dir, 'tokenizer.json')), error.message);
    return true;
  });
});

const python = path.join(repoRoot, '.venv', 'bin', 'python');
const noPython = !fs.existsSync(python) && 'no .venv (npm run setup)';
/** Built by `node esbuild.mjs --tests` next to out/test/, outside the folder `node --test` runs. */
const workerScript = path.join(repoRoot, 'out', 'insightWorker.js');
const GREEDY: Sampling = { maxNewTokens: 16, temperature: 0, topP: 1, topK: 0 };
const QUESTION: ChatMessage[] = [{ role: 'user', content: 'Name three colours.' }];

// One export for every test of this file (about 8 s of Python).
const exportRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'sft-studio-test-'));
after(() => fs.rmSync(exportRoot, { recursive: true, force: true }));
let exported: [string, string] | undefined;

/** The tiny model exported twice to RUN/checkpoints/step-600, the second with shifted weights. */
function twoExports(): [string, string] {
  if (exported) return exported;
  const folders = ['run1', 'run2'].map((run) => path.join(exportRoot, run, 'checkpoints', 'step-600')) as [string, string];
  const py = spawnSync(python, [path.join(repoRoot, 'test', 'fixtures', 'insight', 'two_exports.py'), tinyModel, ...folders], {
    encoding: 'utf8',
    env: { ...process.env, PYTHONPATH: path.join(repoRoot, 'trainer'), HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1' },
  });
  assert.equal(py.status, 0, `the export failed:\n${py.stderr}`);
  return (exported = folders);
}

test('two chat models loaded at once from checkpoints of the same name each answer with their own weights', { skip: noPython }, async (t) => {
  const folders = twoExports();
  // Alone, one after the other: what each checkpoint answers.
  const alone: number[][] = [];
  for (const dir of folders) {
    const model = await OnnxChatModel.load(dir);
    alone.push((await model.reply(QUESTION, GREEDY)).tokenIds);
    // A reply that ends before its first token (decoding no ids would throw in the tokenizer) is empty.
    assert.equal((await model.generate(model.encodePrompt(QUESTION), { ...GREEDY, maxNewTokens: 0 }, performance.now())).text, '');
    await model.dispose();
  }
  assert.notDeepEqual(alone[0], alone[1], 'the two checkpoints answer differently (else the test proves nothing)');
  for (const order of [folders, [...folders].reverse()]) {
    const models = await Promise.all(order.map((dir) => OnnxChatModel.load(dir)));
    t.after(() => Promise.all(models.map((model) => model.dispose())));
    for (const [k, model] of models.entries()) {
      const reply = await model.reply(QUESTION, GREEDY);
      assert.deepEqual(reply.tokenIds, alone[folders.indexOf(order[k])], `${order[k]} answers as when loaded alone`);
    }
  }
});

test("the chat panel's worker answers as the model does in this thread; a prompt its tokenizer cannot finish fails within the limit, then a fresh worker answers", { skip: noPython, timeout: 120_000 }, async (t) => {
  const [first] = twoExports();
  const inThread = await OnnxChatModel.load(first);
  const want = await inThread.reply(QUESTION, GREEDY);
  await inThread.dispose();
  assert.ok(want.tokenIds.length > 0);

  // The same checkpoint, its tokenizer.json given a pre-tokenizer regex that backtracks without end on a
  // long run of a's before a b (other text splits as before).
  const stuck = path.join(exportRoot, 'run3', 'checkpoints', 'step-600');
  fs.cpSync(first, stuck, { recursive: true });
  const tokenizerFile = path.join(stuck, 'tokenizer.json');
  const tokenizer = JSON.parse(fs.readFileSync(tokenizerFile, 'utf8'));
  tokenizer.pre_tokenizer = { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: '(a+)+$' }, behavior: 'Isolated', invert: false }, tokenizer.pre_tokenizer] };
  fs.writeFileSync(tokenizerFile, JSON.stringify(tokenizer));

  const limitMs = 1500;
  const chat = new ChatWorker(stuck, { workerScript, timeoutMs: limitMs });
  t.after(() => chat.dispose());
  await chat.ready();
  let streamed = '';
  const reply = await chat.reply(QUESTION, GREEDY, (piece) => (streamed += piece));
  assert.deepEqual(reply.tokenIds, want.tokenIds, 'the worker answers token for token as the model in this thread');
  assert.equal(reply.text, want.text);
  assert.equal(streamed, reply.text, 'the streamed pieces add up to the reply');

  const probe = lagProbe();
  const started = performance.now();
  const error = await chat.reply([{ role: 'user', content: `It goes ${'a'.repeat(40)}b` }], GREEDY).then(
    () => assert.fail('the reply came'),
    (e: unknown) => e,
  );
  const elapsed = performance.now() - started;
  const lag = probe.stop();
  assert.ok(error instanceof TokenizerTimeoutError, String(error));
  assert.ok(error.message.startsWith(`${tokenizerFile}: `), error.message);
  assert.match(error.message, /while encoding the chat prompt/);
  t.diagnostic(`chat prompt stopped after ${elapsed.toFixed(0)} ms (limit ${limitMs} ms); host event loop: longest block ${lag.maxBlockedMs.toFixed(1)} ms over ${lag.ticks} ticks`);
  assert.ok(elapsed >= limitMs - 5 && elapsed < limitMs + 5_000, `stopped at the limit (${elapsed.toFixed(0)} ms)`);
  assert.ok(lag.maxBlockedMs < 50, `the host's event loop was blocked for ${lag.maxBlockedMs.toFixed(1)} ms`);

  const again = await chat.reply(QUESTION, GREEDY);
  assert.deepEqual(again.tokenIds, want.tokenIds, 'the next reply loads a fresh worker and answers');
});

test('a chat worker on a checkpoint without an export says how to make one', async (t) => {
  const chat = new ChatWorker(tempDir(t), { workerScript });
  t.after(() => chat.dispose());
  await assert.rejects(chat.ready(), /python -m sft_studio export-onnx /);
});
