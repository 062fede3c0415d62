// Hub models in the editor: the folder-or-Hub-id rule (the same verdicts as the trainer's validate), the
// tokenizer read from the Hugging Face cache (refs/<revision> -> snapshots/<commit>), the token kept in
// SecretStorage and handed to the trainer as HF_TOKEN, and download progress in the Runs view.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { clearHfToken, HF_TOKEN_SECRET, setHfToken, type SecretStore } from '../../src/common/hfToken';
import { cachedSnapshot, hubCacheDir, isHubId, modelKind } from '../../src/config/modelSource';
import { validateConfigText } from '../../src/config/validateConfig';
import { loadInsightConfig } from '../../src/insight/insightConfig';
import { loadTokenizer, resolveModelDir, TokenizerLoadError } from '../../src/insight/tokenizerLoader';
import { isRunSummary } from '../../src/protocol/runSummary';
import type { RunEvent } from '../../src/protocol/events';
import { formatDownload, statusBarText } from '../../src/shared/format';
import { planResume } from '../../src/runs/runManager';
import { foldEvents, summarize } from '../../src/runs/runStatus';
import { trainerEnv } from '../../src/runs/trainerCommand';
import { presentRun } from '../../src/views/runPresentation';
import { FakeUi, repoRoot, tempDir } from './helpers';
import { trainerConfigIssues } from './trainerParity';

const tinyModel = path.join(repoRoot, 'examples', 'tiny-llama');
const trainFile = path.join(repoRoot, 'examples', 'data', 'instruct_train.jsonl');
const COMMIT = 'a'.repeat(40);

// value, with `org/name` existing as a folder next to the config, verdict
const CASES: [string, boolean, 'folder' | 'hub' | 'invalid'][] = [
  ['Qwen/Qwen2.5-0.5B-Instruct', false, 'hub'],
  ['my-org/model_v1.5', false, 'hub'],
  ['org/name', true, 'folder'],
  ['./org/name', false, 'invalid'],
  ['../org/name', false, 'invalid'],
  ['/org/name', false, 'invalid'],
  ['nowhere', false, 'invalid'],
  ['a/b/c', false, 'invalid'],
  ['org/', false, 'invalid'],
  ['org name/x', false, 'invalid'],
  ['örg/x', false, 'invalid'],
];

test('model_name_or_path: an existing folder, else an org/name Hub id, else neither', () => {
  for (const [value, folderExists, kind] of CASES) {
    assert.equal(modelKind(value, '/cfg', (p) => folderExists && p === path.resolve('/cfg', value)), kind, value);
  }
  assert.equal(isHubId('Qwen/Qwen2.5-0.5B-Instruct'), true);
  assert.equal(isHubId('../a/b'), false);
});

test('the validator accepts a Hub id and says "not a folder and not a Hub id" otherwise', () => {
  const configPath = '/w/cfg/c.sft.yaml';
  const problems = (model: string) =>
    validateConfigText(`model_name_or_path: '${model}'\ntrain_file: t.jsonl\nmodel_revision: v1\n`, {
      configPath,
      exists: (p) => p === '/w/cfg/t.jsonl',
    }).problems;
  assert.deepEqual(problems('Qwen/Qwen2.5-0.5B-Instruct'), []);
  const [problem] = problems('./base');
  assert.equal(problem.field, 'model_name_or_path');
  assert.equal(`${problem.line}:${problem.column}`, '1:21');
  assert.equal(
    problem.message,
    'model_name_or_path: "./base" is not a folder and not a Hub id (no folder /w/cfg/base); point it at a local model folder (relative to the config file\'s folder) or write a Hub id such as Qwen/Qwen2.5-0.5B-Instruct',
  );
  const empty = validateConfigText('model_name_or_path: m\ntrain_file: t\nmodel_revision: ""\n', { configPath, exists: () => true }).problems;
  assert.deepEqual(empty.map((p) => p.message), ['model_revision must not be empty']);
});

test('both validators give every case the same verdict (the trainer\'s validate against this one)', (t) => {
  const python = path.join(repoRoot, '.venv', 'bin', 'python');
  if (!fs.existsSync(python)) {
    t.skip('.venv not set up');
    return;
  }
  const dir = tempDir(t);
  fs.mkdirSync(path.join(dir, 'org', 'name'), { recursive: true });
  fs.copyFileSync(path.join(tinyModel, 'config.json'), path.join(dir, 'org', 'name', 'config.json'));
  CASES.forEach(([value], i) => {
    fs.writeFileSync(path.join(dir, `c${i}.sft.yaml`), `model_name_or_path: '${value}'\ntrain_file: ${JSON.stringify(trainFile)}\n`);
  });
  const files = CASES.map((_, i) => path.join(dir, `c${i}.sft.yaml`));
  const issues = trainerConfigIssues(files);
  const verdicts = Object.fromEntries(files.map((f) => [f, issues[f].filter((i) => i.line === 1).map((i) => i.message)]));
  const kinds = CASES.map(([value], i) => {
    const file = files[i];
    // On this disk org/name (and so ./org/name) is a folder with config.json.
    const kind = modelKind(value, dir, (p) => fs.existsSync(p) && fs.statSync(p).isDirectory());
    const ts = validateConfigText(fs.readFileSync(file, 'utf8'), { configPath: file }).problems.filter((p) => p.field === 'model_name_or_path');
    // (Only the trainer checks a folder for config.json: `org/` is the folder org here, which has none.)
    const py = verdicts[file].filter((m) => /not a folder and not a Hub id/.test(m));
    assert.equal(ts.length, kind === 'invalid' ? 1 : 0, `editor, ${value}`);
    assert.equal(py.length, ts.length, `trainer, ${value}: ${py.join('; ')}`);
    return kind;
  });
  assert.deepEqual(new Set(kinds), new Set(['folder', 'hub', 'invalid']));
});

test('the Hugging Face cache folder follows HF_HUB_CACHE, HF_HOME, XDG_CACHE_HOME, then ~/.cache', () => {
  assert.equal(hubCacheDir({ HF_HUB_CACHE: '/c/hub', HF_HOME: '/h' }, '/home/u'), '/c/hub');
  assert.equal(hubCacheDir({ HF_HOME: '/h' }, '/home/u'), '/h/hub');
  assert.equal(hubCacheDir({ HF_HOME: '~/hf' }, '/home/u'), '/home/u/hf/hub');
  assert.equal(hubCacheDir({ XDG_CACHE_HOME: '/x' }, '/home/u'), '/x/huggingface/hub');
  assert.equal(hubCacheDir({}, '/home/u'), '/home/u/.cache/huggingface/hub');
});

/** A Hugging Face cache holding org/tiny (the bundled tiny model's tokenizer) at COMMIT, with refs/main. */
function fakeCache(dir: string): string {
  const cache = path.join(dir, 'hf', 'hub');
  const repo = path.join(cache, 'models--org--tiny');
  const snapshot = path.join(repo, 'snapshots', COMMIT);
  fs.mkdirSync(snapshot, { recursive: true });
  fs.mkdirSync(path.join(repo, 'refs'), { recursive: true });
  fs.writeFileSync(path.join(repo, 'refs', 'main'), COMMIT);
  for (const file of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) {
    fs.copyFileSync(path.join(tinyModel, file), path.join(snapshot, file));
  }
  return cache;
}

test('token insight reads a Hub model\'s tokenizer from the cache snapshot its revision points at', async (t) => {
  const dir = tempDir(t);
  const cache = fakeCache(dir);
  const snapshot = path.join(cache, 'models--org--tiny', 'snapshots', COMMIT);
  assert.deepEqual(cachedSnapshot('org/tiny', 'main', cache), { folder: snapshot, repoFolder: path.dirname(path.dirname(snapshot)), commit: COMMIT });
  assert.equal(cachedSnapshot('org/tiny', COMMIT, cache).folder, snapshot);
  assert.equal(cachedSnapshot('org/tiny', 'v2', cache).folder, undefined);
  assert.equal(cachedSnapshot('org/tiny', 'b'.repeat(40), cache).folder, undefined);

  const env = { HF_HUB_CACHE: cache };
  assert.equal(resolveModelDir('org/tiny', dir, 'main', env), snapshot);
  assert.equal(resolveModelDir('org/tiny', dir, COMMIT, env), snapshot);
  assert.equal(resolveModelDir('tiny', '/cfg', 'main', env), path.resolve('/cfg', 'tiny'), 'a non-Hub value stays a path');
  const tokenizer = await loadTokenizer(resolveModelDir('org/tiny', dir, 'main', env));
  const local = await loadTokenizer(tinyModel);
  assert.deepEqual(tokenizer.encode('Hello, tokens!'), local.encode('Hello, tokens!'));

  assert.throws(() => resolveModelDir('org/other', dir, 'main', env), (error: Error) => {
    assert.ok(error instanceof TokenizerLoadError);
    assert.match(error.message, /^org\/other: this Hub model \(revision main\) is not in the Hugging Face cache/);
    assert.match(error.message, /Start a run of this config, or run `python -m sft_studio download org\/other`/);
    return true;
  });
  assert.throws(() => resolveModelDir('org/tiny', dir, 'v2', env), /python -m sft_studio download org\/tiny --revision v2/);
});

test('a config naming a Hub id gets its snapshot as the token-insight model folder', (t) => {
  const dir = tempDir(t);
  const cache = fakeCache(dir);
  const config = path.join(dir, 'hub.sft.yaml');
  fs.writeFileSync(config, `model_name_or_path: org/tiny\ntrain_file: ${JSON.stringify(trainFile)}\ndataset_format: alpaca\n`);
  const saved = process.env.HF_HUB_CACHE;
  process.env.HF_HUB_CACHE = cache;
  t.after(() => (saved === undefined ? delete process.env.HF_HUB_CACHE : (process.env.HF_HUB_CACHE = saved)));
  assert.equal(loadInsightConfig(config).modelDir, path.join(cache, 'models--org--tiny', 'snapshots', COMMIT));
});

class FakeSecrets implements SecretStore {
  readonly values = new Map<string, string>();
  get(key: string) {
    return Promise.resolve(this.values.get(key));
  }
  store(key: string, value: string) {
    this.values.set(key, value);
    return Promise.resolve();
  }
  delete(key: string) {
    this.values.delete(key);
    return Promise.resolve();
  }
}

test('Set / Clear Hugging Face Token: a hidden input into SecretStorage, the token never shown', async () => {
  const ui = new FakeUi();
  const secrets = new FakeSecrets();
  let asked: { password?: boolean; validate?: (v: string) => string | undefined } | undefined;
  ui.input = (options) => {
    asked = options;
    return Promise.resolve('  hf_secret_value \n');
  };
  assert.equal(await setHfToken(ui, secrets), true);
  assert.equal(secrets.values.get(HF_TOKEN_SECRET), 'hf_secret_value');
  assert.equal(asked?.password, true);
  assert.equal(asked?.validate?.('hf abc'), 'A token has no spaces or line breaks.');
  assert.match(asked?.validate?.('') ?? '', /huggingface\.co\/settings\/tokens/);
  assert.ok(ui.calls.every((c) => !c.message.includes('hf_secret_value')), 'the token appears in no message');

  ui.input = () => Promise.resolve(undefined);
  assert.equal(await setHfToken(ui, secrets), false, 'cancelled: the stored token stays');
  assert.equal(secrets.values.get(HF_TOKEN_SECRET), 'hf_secret_value');
  assert.equal(await clearHfToken(ui, secrets), true);
  assert.equal(secrets.values.has(HF_TOKEN_SECRET), false);
  assert.equal(await clearHfToken(ui, secrets), false);
  assert.deepEqual(ui.messages('info').at(-1), 'SFT Studio: no Hugging Face token is stored.');
});

test('the trainer gets the stored token as HF_TOKEN in its environment, never in argv', () => {
  assert.equal(trainerEnv({ HF_TOKEN: 'from-env' }, '/ext', 'hf_stored').HF_TOKEN, 'hf_stored');
  assert.equal(trainerEnv({ HF_TOKEN: 'from-env' }, '/ext').HF_TOKEN, 'from-env');
  assert.equal('HF_TOKEN' in trainerEnv({}, '/ext', undefined), false);
  const plan = planResume({ runDir: '/w/runs/r', python: 'python', extensionPath: '/ext', env: {}, hfToken: 'hf_stored' });
  assert.equal(plan.options.env?.HF_TOKEN, 'hf_stored');
  assert.equal(plan.options.shell, false);
  assert.ok(!plan.args.some((a) => a.includes('hf_stored')));
});

function event(seq: number, fields: Record<string, unknown>): RunEvent {
  return { v: 1, seq, time: 1000 + seq, ...fields } as RunEvent;
}

test('download progress shows in the Runs view, the status bar and the summary the dashboard gets', () => {
  const progress = { type: 'download', model: 'org/big', file: 'model-00001.safetensors', files_done: 2, files_total: 5 };
  const facts = foldEvents({}, [event(0, { ...progress, bytes_done: 1_170_000_000, bytes_total: 2_600_000_000 })]);
  const summary = summarize('/w/runs/big-1', facts, 'starting');
  assert.deepEqual(summary.download, { model: 'org/big', file: 'model-00001.safetensors', bytesDone: 1_170_000_000, bytesTotal: 2_600_000_000, filesDone: 2, filesTotal: 5 });
  assert.equal(formatDownload(summary.download!), 'downloading model 45% (1.2/2.6 GB)');
  const row = presentRun(summary);
  assert.equal(row.description, 'starting · downloading model 45% (1.2/2.6 GB)');
  assert.match(row.tooltip, /^Model: org\/big: downloading model 45% \(1\.2\/2\.6 GB\), 2 of 5 files \(model-00001\.safetensors\)$/m);
  assert.equal(statusBarText(summary), 'SFT downloading model 45% (1.2/2.6 GB)');
  assert.equal(isRunSummary(summary), true);
  assert.equal(isRunSummary({ ...summary, download: { ...summary.download, bytesDone: 'x' } }), false);
  assert.equal(formatDownload({ bytesDone: 3_600_000, bytesTotal: 7_296_982 }), 'downloading model 49% (3.6/7.3 MB)');

  // Gone when the download completes, when training starts, and on runs that are not active.
  const complete = foldEvents(facts, [event(1, { ...progress, files_done: 5, bytes_done: 2_600_000_000, bytes_total: 2_600_000_000 })]);
  assert.equal(summarize('/w/runs/big-1', complete, 'starting').download, undefined);
  const started = foldEvents(facts, [event(1, { type: 'run_started', config: {}, total_steps: 3, num_parameters: 1, trainable_parameters: 1, world_size: 1, device: 'cpu' })]);
  assert.equal(started.download, undefined);
  assert.equal(summarize('/w/runs/big-1', facts, 'failed').download, undefined);
});
