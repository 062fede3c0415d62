// Export Checkpoint…: the argv handed to the trainer (no shell), the reading of its --json result, the
// questions asked per format, Cancel, and the real process runner's line streaming and kill.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  exportArgs,
  exportCheckpoint,
  MANAGE_TRUST,
  ollamaCommand,
  ollamaName,
  OPEN_ON_HUB,
  parseExportOutcome,
  repoIdProblem,
  REVEAL,
  SET_TOKEN,
  type ExportDeps,
} from '../../src/commands/exportCheckpoint';
import type { PickItem, ProgressReporter } from '../../src/common/ui';
import { spawnExport, type ExportRun } from '../../src/python/exportRunner';
import { FakeUi, repoRoot } from './helpers';

const CKPT = '/runs/demo-1/checkpoints/step-600';
const byLabel = (label: string) => (items: readonly PickItem[]) => items.find((i) => i.label === label);

test('exportArgs: one argv array per format, the checkpoint a single argument', () => {
  const spaced = '/my runs/a;b $(x)/step-1';
  assert.deepEqual(exportArgs({ checkpoint: spaced, format: 'merged' }), ['-m', 'sft_studio', 'export', spaced, '--format', 'merged', '--json']);
  assert.deepEqual(exportArgs({ checkpoint: CKPT, format: 'onnx' }), ['-m', 'sft_studio', 'export', CKPT, '--format', 'onnx', '--json']);
  assert.deepEqual(exportArgs({ checkpoint: CKPT, format: 'hub', repoId: ' me/model ' }), ['-m', 'sft_studio', 'export', CKPT, '--format', 'hub', '--json', '--repo-id', 'me/model']);
  assert.deepEqual(exportArgs({ checkpoint: CKPT, format: 'hub', repoId: 'me/model', public: true, push: 'adapter' }).slice(-5), ['--repo-id', 'me/model', '--public', '--push', 'adapter']);
  assert.throws(() => exportArgs({ checkpoint: CKPT, format: 'hub' }), /repository id/);
});

test('repoIdProblem: OWNER/NAME as the Hub spells it', () => {
  for (const ok of ['me/model', 'my-org.ai/Qwen2.5-0.5B_sft', ' me/x ']) assert.equal(repoIdProblem(ok), undefined, ok);
  for (const bad of ['model', 'a/b/c', '/model', 'me/', 'me/my model', 'me/a--b', 'me/a..b', 'me/model-', 'me/-model', `me/${'x'.repeat(97)}`]) {
    assert.ok(repoIdProblem(bad), bad);
  }
});

const run = (over: Partial<ExportRun>): ExportRun => ({ code: 0, stdout: '', stderr: '', ...over });

test('parseExportOutcome reads the last JSON line, else the last stderr line', () => {
  const merged = run({ stdout: 'loading\n{"format": "merged", "path": "/x/merged", "shards": 1}\n' });
  assert.deepEqual(parseExportOutcome(merged, 'merged', false), { kind: 'done', format: 'merged', path: '/x/merged', url: undefined, repoId: undefined, private: undefined });
  const hub = run({ stdout: '{"format": "hub", "url": "https://huggingface.co/me/m", "repo_id": "me/m", "private": true}' });
  assert.deepEqual(parseExportOutcome(hub, 'hub', false), { kind: 'done', format: 'hub', path: undefined, url: 'https://huggingface.co/me/m', repoId: 'me/m', private: true });
  const refused = run({ code: 2, stdout: '{"error": "the Hub refused the token (401 Unauthorized)", "hint": "Set a valid token", "kind": "token"}', stderr: 'export: …' });
  assert.deepEqual(parseExportOutcome(refused, 'hub', false), { kind: 'failed', message: 'the Hub refused the token (401 Unauthorized)', hint: 'Set a valid token', errorKind: 'token' });
  assert.deepEqual(parseExportOutcome(run({ code: 1, stderr: 'Traceback…\nRuntimeError: disk full\n' }), 'merged', false), { kind: 'failed', message: 'RuntimeError: disk full' });
  assert.deepEqual(parseExportOutcome(run({ code: 0, stdout: 'no json' }), 'merged', false), { kind: 'failed', message: 'the exporter exited with code 0' });
  assert.equal(parseExportOutcome(run({ code: null, spawnError: 'python3: not found' }), 'merged', false).kind, 'failed');
  assert.deepEqual(parseExportOutcome(run({ code: 130, stdout: '{"cancelled": true}' }), 'merged', false), { kind: 'cancelled' });
  assert.deepEqual(parseExportOutcome(run({ code: null }), 'merged', true), { kind: 'cancelled' });
});

interface Started {
  python: string;
  args: readonly string[];
  hfToken?: string;
  offline: boolean;
}

/** Deps whose exporter prints `lines` and ends with `result`; records what was started and opened. */
function harness(over: Partial<ExportDeps> & { lines?: string[]; result?: ExportRun; ui?: FakeUi } = {}) {
  const ui = over.ui ?? new FakeUi();
  const started: Started[] = [];
  const opened: string[] = [];
  let cancels = 0;
  const deps: ExportDeps = {
    ui,
    isTrusted: () => true,
    resolvePython: async () => '/venv/bin/python',
    hfToken: async () => 'hf_secret',
    isAdapter: () => false,
    start: (python, args, options) => {
      started.push({ python, args, hfToken: options.hfToken, offline: options.offline });
      for (const line of over.lines ?? []) options.onLine(line);
      let finish: (r: ExportRun) => void = () => undefined;
      const done = new Promise<ExportRun>((resolve) => (finish = resolve));
      if (over.result) finish(over.result);
      return { done, cancel: () => (cancels++, finish({ code: null, stdout: '', stderr: '' })) };
    },
    openExternal: async (url) => void opened.push(url),
    ...over,
  };
  return { ui, deps, started, opened, cancels: () => cancels };
}

test('Restricted Mode: nothing is asked or started, and trust is offered', async () => {
  const h = harness({ isTrusted: () => false });
  h.ui.buttonAnswers = [MANAGE_TRUST];
  assert.equal(await exportCheckpoint(h.deps, CKPT), undefined);
  assert.equal(h.started.length, 0);
  assert.match(h.ui.messages('error')[0], /trusted workspace/);
  assert.deepEqual(h.ui.commands, [{ command: 'workbench.trust.manage', args: [] }]);
});

test('merged: progress lines in the notification, the JSON line not, then Reveal in Explorer', async () => {
  const json = '{"format": "merged", "path": "/runs/demo-1/checkpoints/step-600/merged"}';
  const h = harness({ lines: ['loading the base model /m', 'merging the LoRA adapter into the base weights', json], result: run({ stdout: `x\n${json}\n` }) });
  h.ui.pickAnswers = [byLabel('Merged model')];
  h.ui.buttonAnswers = [REVEAL];
  const outcome = await exportCheckpoint(h.deps, CKPT);
  assert.equal(outcome?.kind, 'done');
  assert.deepEqual(h.started, [{ python: '/venv/bin/python', args: exportArgs({ checkpoint: CKPT, format: 'merged' }), hfToken: undefined, offline: true }]);
  assert.deepEqual(h.ui.messages('progress'), ['SFT Studio: exporting the merged model']);
  assert.deepEqual(h.ui.messages('progress-report'), ['loading the base model /m', 'merging the LoRA adapter into the base weights']);
  assert.deepEqual(h.ui.messages('reveal'), ['/runs/demo-1/checkpoints/step-600/merged']);
  assert.deepEqual(h.ui.calls.find((c) => c.kind === 'info')?.buttons, [REVEAL]);
});

test('gguf: the weight type is asked, becomes --gguf-type, and the result names the file, the Modelfile and the ollama command', async () => {
  const dir = '/runs/demo-1/checkpoints/step-600/gguf-q8_0';
  const json = `{"format": "gguf", "path": "${dir}/model.gguf", "modelfile": "${dir}/Modelfile", "gguf_type": "q8_0"}`;
  const h = harness({ lines: ['converting llama weights to GGUF (q8_0)', json], result: run({ stdout: json }) });
  h.ui.pickAnswers = [byLabel('GGUF for llama.cpp / Ollama'), byLabel('q8_0')];
  h.ui.buttonAnswers = [REVEAL];
  const outcome = await exportCheckpoint(h.deps, CKPT);
  assert.deepEqual(outcome, { kind: 'done', format: 'gguf', path: `${dir}/model.gguf`, url: undefined, repoId: undefined, private: undefined, modelfile: `${dir}/Modelfile` });
  assert.deepEqual(h.started[0].args, ['-m', 'sft_studio', 'export', CKPT, '--format', 'gguf', '--json', '--gguf-type', 'q8_0']);
  assert.equal(h.started[0].offline, true);
  assert.deepEqual(h.ui.messages('progress'), ['SFT Studio: exporting to GGUF (q8_0)']);
  assert.deepEqual(h.ui.messages('progress-report'), ['converting llama weights to GGUF (q8_0)']);
  const [message] = h.ui.messages('info');
  assert.match(message, /GGUF written to \/runs\/demo-1\/checkpoints\/step-600\/gguf-q8_0\/model\.gguf/);
  assert.ok(message.includes(`Modelfile beside it (${dir}/Modelfile)`));
  assert.ok(message.includes(`ollama create demo-1-step-600 -f ${dir}/Modelfile`));
  assert.deepEqual(h.ui.messages('reveal'), [`${dir}/model.gguf`]);
});

test('gguf: backing out of the weight type starts nothing; ollama names and paths are made safe', async () => {
  const h = harness();
  h.ui.pickAnswers = [byLabel('GGUF for llama.cpp / Ollama'), () => undefined];
  assert.equal(await exportCheckpoint(h.deps, CKPT), undefined);
  assert.equal(h.started.length, 0);
  assert.equal(ollamaName('/w/runs/My Run 2024-01-02T03/checkpoints/step-9/gguf-f16/model.gguf'), 'my-run-2024-01-02t03-step-9');
  assert.equal(ollamaName('C:\\models\\Tuned\\gguf-f16\\model.gguf'), 'tuned');
  assert.equal(ollamaCommand('/a b/ck/gguf-f16/model.gguf', '/a b/ck/gguf-f16/Modelfile'), 'ollama create ck -f "/a b/ck/gguf-f16/Modelfile"');
});

test('hub on an adapter: repo id, visibility and what to push become flags; the token goes in the environment only', async () => {
  const json = '{"format": "hub", "url": "https://huggingface.co/me/tiny", "repo_id": "me/tiny", "private": false}';
  const h = harness({ isAdapter: () => true, result: run({ stdout: json }) });
  h.ui.pickAnswers = [byLabel('Push to Hugging Face Hub'), byLabel('Public'), byLabel('Adapter only')];
  h.ui.inputAnswers = ['me/tiny'];
  h.ui.buttonAnswers = [OPEN_ON_HUB];
  await exportCheckpoint(h.deps, CKPT);
  assert.equal(h.started.length, 1);
  const [started] = h.started;
  assert.deepEqual(started.args, ['-m', 'sft_studio', 'export', CKPT, '--format', 'hub', '--json', '--repo-id', 'me/tiny', '--public', '--push', 'adapter']);
  assert.equal(started.hfToken, 'hf_secret');
  assert.equal(started.offline, false);
  assert.ok(!started.args.some((a) => a.includes('hf_secret')));
  assert.deepEqual(h.opened, ['https://huggingface.co/me/tiny']);
  assert.match(h.ui.messages('info')[0], /pushed to me\/tiny \(public\)/);
});

test('hub on a full checkpoint: private by default, no question about the adapter', async () => {
  const h = harness({ result: run({ stdout: '{"url": "https://huggingface.co/me/m", "repo_id": "me/m", "private": true}' }) });
  h.ui.pickAnswers = [byLabel('Push to Hugging Face Hub'), byLabel('Private')];
  h.ui.inputAnswers = ['me/m'];
  await exportCheckpoint(h.deps, CKPT);
  assert.deepEqual(h.started[0].args.slice(-3), ['--json', '--repo-id', 'me/m']);
  assert.equal(h.ui.calls.filter((c) => c.kind === 'pick').length, 2);
});

test('hub without a stored token: asks to set one before anything else and starts nothing', async () => {
  const h = harness({ hfToken: async () => undefined });
  h.ui.pickAnswers = [byLabel('Push to Hugging Face Hub')];
  h.ui.buttonAnswers = [SET_TOKEN];
  assert.equal(await exportCheckpoint(h.deps, CKPT), undefined);
  assert.equal(h.started.length, 0);
  assert.deepEqual(h.ui.messages('input'), []);
  assert.deepEqual(h.ui.commands.map((c) => c.command), ['sftStudio.setHuggingFaceToken']);
});

test('a refused token: the message, its fix and the Set Hugging Face Token action', async () => {
  const h = harness({ result: run({ code: 2, stdout: '{"error": "the Hub refused the token (401 Unauthorized): it is invalid or expired", "hint": "Set a valid token with write access.", "kind": "token"}' }) });
  h.ui.pickAnswers = [byLabel('Push to Hugging Face Hub'), byLabel('Private')];
  h.ui.inputAnswers = ['me/m'];
  h.ui.buttonAnswers = [SET_TOKEN];
  await exportCheckpoint(h.deps, CKPT);
  assert.deepEqual(h.ui.calls.find((c) => c.kind === 'error'), {
    kind: 'error',
    message: 'SFT Studio: export failed: the Hub refused the token (401 Unauthorized): it is invalid or expired — Set a valid token with write access.',
    buttons: [SET_TOKEN],
  });
  assert.deepEqual(h.ui.commands.map((c) => c.command), ['sftStudio.setHuggingFaceToken']);
});

test('Cancel in the notification stops the exporter and says nothing was written', async () => {
  class CancellingUi extends FakeUi {
    override async withProgress<T>(_title: string, task: (progress: ProgressReporter) => Promise<T>): Promise<T> {
      let cancel: () => void = () => undefined;
      const running = task({ report: () => undefined, onCancel: (listener) => (cancel = listener) });
      cancel();
      return running;
    }
  }
  const h = harness({ ui: new CancellingUi() });
  h.ui.pickAnswers = [byLabel('ONNX for the editor chat')];
  assert.deepEqual(await exportCheckpoint(h.deps, CKPT), { kind: 'cancelled' });
  assert.equal(h.cancels(), 1);
  assert.match(h.ui.messages('info')[0], /export cancelled; nothing was written/);
});

test('backing out of any question starts nothing', async () => {
  for (const answers of [[], [byLabel('Push to Hugging Face Hub')], [byLabel('Push to Hugging Face Hub'), byLabel('Private')]]) {
    const h = harness({ isAdapter: () => true });
    h.ui.pickAnswers = [...answers];
    h.ui.inputAnswers = answers.length > 1 ? ['me/m'] : [undefined];
    assert.equal(await exportCheckpoint(h.deps, CKPT), undefined);
    assert.equal(h.started.length, 0);
  }
});

// The runner against a real process (node standing in for python): lines split across chunks arrive whole,
// SIGTERM ends a process that handles it, SIGKILL one that ignores it.
const script = (onTerm: string) =>
  `process.on('SIGTERM', () => { ${onTerm} }); process.stdout.write('one\\ntw'); setTimeout(() => process.stdout.write('o\\n'), 50); setInterval(() => undefined, 1000);`;

async function startAndCancel(onTerm: string, graceMs: number) {
  const lines: string[] = [];
  let seen: () => void = () => undefined;
  const both = new Promise<void>((resolve) => (seen = resolve));
  const exporter = spawnExport(process.execPath, ['-e', script(onTerm)], {
    extensionPath: repoRoot,
    offline: true,
    graceMs,
    onLine: (line) => {
      lines.push(line);
      if (lines.length === 2) seen();
    },
  });
  await both;
  exporter.cancel();
  return { lines, result: await exporter.done };
}

test('spawnExport streams whole lines and Cancel sends SIGTERM', async () => {
  const { lines, result } = await startAndCancel(`process.stderr.write('cancelled\\n'); process.exit(130);`, 5000);
  assert.deepEqual(lines, ['one', 'two']);
  assert.equal(result.code, 130);
  assert.equal(result.stderr, 'cancelled\n');
});

test('spawnExport kills a process that ignores SIGTERM after the grace period', async () => {
  const { result } = await startAndCancel('', 200);
  assert.equal(result.code, null);
});

test('spawnExport reports an interpreter that does not exist', async () => {
  const exporter = spawnExport('/no/such/python', ['-m', 'sft_studio'], { extensionPath: repoRoot, offline: true, onLine: () => undefined });
  const result = await exporter.done;
  assert.equal(result.code, null);
  assert.match(result.spawnError ?? '', /not found/);
});
