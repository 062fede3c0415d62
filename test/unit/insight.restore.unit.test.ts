// Reload restore of the tokens and chat panels: the state a webview saved is input, so only a
// well-formed state naming an existing config (or an exported checkpoint) inside the allowed roots
// reopens a panel; anything tampered with is refused. Also the chat command's checkpoint target and
// the `tokens --example N` label mask of the CLI.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main';
import { checkpointPathOf } from '../../src/views/checkpointTarget';
import { computeConfigTokens } from '../../src/insight/configTokenStats';
import { IGNORE_INDEX } from '../../src/insight/conversationEncoder';
import { isInside, restoreChatState, restoreTokensState } from '../../src/insight/restoreState';
import { isChatWebviewState, MAX_SAVED_TURNS } from '../../src/protocol/chat';
import { isTokensWebviewState } from '../../src/protocol/tokens';
import { repoRoot, tempDir } from './helpers';

const SAMPLING = { maxNewTokens: 64, temperature: 0, topP: 1, topK: 0 };

function layout(t: { after(fn: () => void): void }) {
  const dir = tempDir(t);
  const workspace = path.join(dir, 'workspace');
  const outside = path.join(dir, 'outside');
  const config = path.join(workspace, 'demo.sft.yaml');
  const checkpoint = path.join(workspace, 'runs', 'demo-1', 'checkpoints', 'step-30');
  fs.mkdirSync(path.join(checkpoint, 'onnx'), { recursive: true });
  fs.writeFileSync(path.join(checkpoint, 'onnx', 'model.onnx'), '');
  fs.writeFileSync(config, 'model_name_or_path: tiny-llama\n');
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'other.sft.yaml'), 'model_name_or_path: x\n');
  const outsideCheckpoint = path.join(outside, 'step-1');
  fs.mkdirSync(path.join(outsideCheckpoint, 'onnx'), { recursive: true });
  fs.writeFileSync(path.join(outsideCheckpoint, 'onnx', 'model.onnx'), '');
  return { dir, workspace, outside, config, checkpoint, outsideCheckpoint };
}

test('the tokens state guard takes exactly {configPath, index?} with a step index', () => {
  assert.ok(isTokensWebviewState({ configPath: '/w/demo.sft.yaml' }));
  assert.ok(isTokensWebviewState({ configPath: '/w/demo.sft.yaml', index: 12 }));
  for (const bad of [
    undefined,
    null,
    '/w/demo.sft.yaml',
    [],
    {},
    { configPath: '' },
    { configPath: 42 },
    { configPath: '/w/demo.sft.yaml', index: -1 },
    { configPath: '/w/demo.sft.yaml', index: 1.5 },
    { configPath: '/w/demo.sft.yaml', index: '3' },
    { configPath: '/w/demo.sft.yaml', extra: true },
    { configPath: `/w/${'a'.repeat(5000)}.sft.yaml` },
  ]) {
    assert.equal(isTokensWebviewState(bad), false, JSON.stringify(bad));
  }
});

test('the chat state guard checks the checkpoint, every saved turn and the sampling fields', () => {
  const turns = [
    { role: 'user', content: 'What is 2 + 3?' },
    { role: 'assistant', content: '5' },
  ];
  assert.ok(isChatWebviewState({ checkpoint: '/w/step-30' }));
  assert.ok(isChatWebviewState({ checkpoint: '/w/step-30', turns, sampling: SAMPLING }));
  for (const bad of [
    {},
    { checkpoint: '' },
    { checkpoint: '/w/step-30', turns: 'hello' },
    { checkpoint: '/w/step-30', turns: [{ role: 'tool', content: 'x' }] },
    { checkpoint: '/w/step-30', turns: [{ role: 'user', content: 7 }] },
    { checkpoint: '/w/step-30', turns: [{ role: 'user', content: 'x', html: '<b>' }] },
    { checkpoint: '/w/step-30', turns: [{ role: 'user', content: 'x'.repeat(40_000) }] },
    { checkpoint: '/w/step-30', turns: Array.from({ length: MAX_SAVED_TURNS + 1 }, () => turns[0]) },
    { checkpoint: '/w/step-30', sampling: { ...SAMPLING, maxNewTokens: 0 } },
    { checkpoint: '/w/step-30', sampling: { ...SAMPLING, topP: 2 } },
    { checkpoint: '/w/step-30', sampling: { ...SAMPLING, seed: 1 } },
    { checkpoint: '/w/step-30', python: '/usr/bin/python' },
  ]) {
    assert.equal(isChatWebviewState(bad), false, JSON.stringify(bad).slice(0, 120));
  }
});

test('isInside: the root itself and paths below it, not siblings sharing a prefix', () => {
  assert.ok(isInside('/w', '/w'));
  assert.ok(isInside('/w/a/b.sft.yaml', '/w'));
  assert.equal(isInside('/wx/a.sft.yaml', '/w'), false);
  assert.equal(isInside('/a.sft.yaml', '/w'), false);
});

test('a tokens panel is restored for a config inside the workspace, with its example index', (t) => {
  const { workspace, config } = layout(t);
  const restored = restoreTokensState({ configPath: config, index: 4 }, [workspace]);
  assert.deepEqual(restored, { ok: true, value: { configPath: config, index: 4 } });
});

test('a tampered tokens state is refused', (t) => {
  const { dir, workspace, outside, config } = layout(t);
  fs.writeFileSync(path.join(workspace, 'notes.txt'), 'not a config');
  fs.mkdirSync(path.join(workspace, 'folder.sft.yaml'));
  fs.symlinkSync(path.join(outside, 'other.sft.yaml'), path.join(workspace, 'link.sft.yaml'));
  const refused = (state: unknown, roots = [workspace]) => {
    const result = restoreTokensState(state, roots);
    assert.equal(result.ok, false, JSON.stringify(state));
    return result.ok ? '' : result.reason;
  };
  assert.match(refused({ configPath: config, index: -3 }), /malformed/);
  assert.match(refused({ configPath: config, command: 'rm -rf /' }), /malformed/);
  assert.match(refused({ configPath: 'demo.sft.yaml' }), /absolute, normalised/);
  assert.match(refused({ configPath: `${workspace}/../outside/other.sft.yaml` }), /absolute, normalised/);
  assert.match(refused({ configPath: `${config}\0.txt` }), /absolute, normalised/);
  assert.match(refused({ configPath: path.join(outside, 'other.sft.yaml') }), /outside the workspace/);
  assert.match(refused({ configPath: path.join(workspace, 'link.sft.yaml') }), /outside the workspace/, 'a symbolic link out of the workspace');
  assert.match(refused({ configPath: path.join(workspace, 'missing.sft.yaml') }), /does not exist/);
  assert.match(refused({ configPath: path.join(workspace, 'notes.txt') }), /not a \*\.sft\.yaml/);
  assert.match(refused({ configPath: path.join(workspace, 'folder.sft.yaml') }), /not a file/);
  assert.match(refused({ configPath: config }, []), /outside the workspace/, 'no workspace folder, nothing to restore');
  assert.match(refused({ configPath: path.join(dir, 'outside', 'other.sft.yaml') }, [path.join(dir, 'work')]), /outside the workspace/);
});

test('a chat panel is restored for an exported checkpoint inside the roots, transcript included', (t) => {
  const { workspace, checkpoint } = layout(t);
  const state = { checkpoint, turns: [{ role: 'user', content: 'hi' }], sampling: SAMPLING };
  assert.deepEqual(restoreChatState(state, [path.join(workspace, 'runs')]), { ok: true, value: state });
});

test('a tampered chat state is refused, and a checkpoint without its export is never exported on restore', (t) => {
  const { workspace, checkpoint, outsideCheckpoint } = layout(t);
  const bare = path.join(workspace, 'runs', 'demo-1', 'checkpoints', 'step-10');
  fs.mkdirSync(bare, { recursive: true });
  fs.symlinkSync(outsideCheckpoint, path.join(workspace, 'runs', 'linked'));
  const refused = (state: unknown) => {
    const result = restoreChatState(state, [workspace]);
    assert.equal(result.ok, false, JSON.stringify(state));
    return result.ok ? '' : result.reason;
  };
  assert.match(refused({ checkpoint, turns: [{ role: 'root', content: 'x' }] }), /malformed/);
  assert.match(refused({ checkpoint: 'step-30' }), /absolute, normalised/);
  assert.match(refused({ checkpoint: `${checkpoint}/../step-30` }), /absolute, normalised/);
  assert.match(refused({ checkpoint: outsideCheckpoint }), /outside the workspace/);
  assert.match(refused({ checkpoint: path.join(workspace, 'runs', 'linked') }), /outside the workspace/);
  assert.match(refused({ checkpoint: path.join(checkpoint, 'onnx', 'model.onnx') }), /not a folder/);
  assert.match(refused({ checkpoint: bare }), /no ONNX export/);
  assert.equal(fs.existsSync(path.join(bare, 'onnx')), false);
});

test('chat targets: a checkpoint row names its own folder; other arguments name none', () => {
  const run = { runDir: '/w/runs/demo-1', name: 'demo-1', state: 'completed' };
  assert.equal(checkpointPathOf({ kind: 'checkpoint', run, checkpoint: { step: 30, path: '/w/runs/demo-1/checkpoints/step-30' } }), '/w/runs/demo-1/checkpoints/step-30');
  assert.equal(checkpointPathOf({ kind: 'run', run }), undefined);
  assert.equal(checkpointPathOf({ checkpoint: { path: 42 } }), undefined);
  assert.equal(checkpointPathOf({ checkpoint: null }), undefined);
  assert.equal(checkpointPathOf('/w/runs/demo-1'), undefined);
  assert.equal(checkpointPathOf(undefined), undefined);
});

test('`tokens CONFIG --json --example N` prints the label mask of example N as the panel shows it', async () => {
  const config = path.join(repoRoot, 'examples', 'demo.sft.yaml');
  let out = '';
  let err = '';
  const code = await main(['tokens', config, '--json', '--example', '2'], { out: (s) => (out += s), err: (s) => (err += s) });
  assert.equal(code, 0, err);
  const printed = JSON.parse(out.trim().split('\n').at(-1) as string);
  const { examples, stats } = await computeConfigTokens(config);
  assert.equal(printed.examples, stats.examples);
  assert.equal(printed.tokens, stats.tokens);
  const want = examples[1];
  assert.equal(printed.example.index, 1);
  assert.equal(printed.example.line, want.line);
  assert.deepEqual(printed.example.tokens.map((t: { id: number }) => t.id), want.inputIds);
  assert.deepEqual(
    printed.example.tokens.map((t: { trained: boolean }) => t.trained),
    want.labels.map((l) => l !== IGNORE_INDEX),
  );
  const trained = want.labels.filter((l) => l !== IGNORE_INDEX).length;
  assert.ok(trained > 0 && trained < want.inputIds.length, 'completion-only: some tokens trained, the prompt masked');
  assert.equal(printed.example.trained_tokens, trained);
  assert.equal(printed.example.masked_tokens, want.inputIds.length - trained);
  assert.match(out, new RegExp(`^example 2, line ${want.line}: ${trained} of ${want.inputIds.length} tokens trained$`, 'm'));

  for (const bad of [['--example', '0'], ['--example'], ['--example=x'], ['--exampel', '1']]) {
    let usage = '';
    assert.equal(await main(['tokens', config, ...bad], { out: () => undefined, err: (s) => (usage += s) }), 1, bad.join(' '));
    assert.match(usage, /usage: sft-studio tokens CONFIG \[--json\] \[--example N\]/);
  }
  let tooFar = '';
  assert.equal(await main(['tokens', config, '--example', String(stats.examples + 1)], { out: () => undefined, err: (s) => (tooFar += s) }), 2);
  assert.match(tooFar, new RegExp(`the training set has ${stats.examples} examples`));
});
