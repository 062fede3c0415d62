// Where training rows come from, in the editor as in the trainer: train_file or train_files (both validators
// place the same problems at the same line:col), the weights drawn as data/dataset.py weight_rows draws them, Hub
// dataset references, and Arrow files and Hub datasets left to the trainer with a message that says so.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { hubReferenceProblem } from '../../src/config/dataSource';
import { validateConfigText } from '../../src/config/validateConfig';
import { DataError, Row, readRows } from '../../src/insight/datasetRows';
import { loadInsightConfig } from '../../src/insight/insightConfig';
import { trainingRows } from '../../src/insight/tokenStats';
import { weightRows } from '../../src/insight/trainingSplit';
import { repoRoot, tempDir } from './helpers';
import { trainerConfigIssues } from './trainerParity';

const python = path.join(repoRoot, '.venv', 'bin', 'python');
const model = path.join(repoRoot, 'examples', 'tiny-llama');
const data = path.join(repoRoot, 'examples', 'data');
const chat = path.join(data, 'chat_train.jsonl');
const instruct = path.join(data, 'instruct_train.jsonl');

function pythonSays(script: string, args: string[]): unknown {
  const done = spawnSync(python, ['-c', script, ...args], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: path.join(repoRoot, 'trainer') } });
  assert.equal(done.status, 0, done.stderr);
  return JSON.parse(done.stdout.trim().split('\n').at(-1) ?? 'null');
}

// Config text (after the model line), and the problems both validators must report, as line:col.
const CASES: [name: string, text: string, at: string[]][] = [
  ['neither', '', ['1:1']],
  ['both', `train_file: ${instruct}\ntrain_files:\n  - path: ${chat}\n`, ['4:3']],
  ['bad weight', `train_files:\n  - path: ${chat}\n    weight: 0\n`, ['4:13']],
  ['weight not a number', `train_files:\n  - path: ${chat}\n    weight: twice\n`, ['4:13']],
  ['no path', `train_files:\n  - path: ${chat}\n  - weight: 2\n`, ['4:5']],
  ['missing file', `train_files:\n  - path: ${chat}\n  - path: nowhere/x.jsonl\n    weight: 2\n`, ['4:11']],
  ['unknown key', `train_files:\n  - path: ${chat}\n    wieght: 2\n`, ['4:5']],
  ['bad Hub reference', 'train_files:\n  - path: hf://datasets/org\n  - path: hf://models/org/name\n', ['3:11', '4:11']],
  ['Hub validation_file', `train_file: ${instruct}\nvalidation_file: hf://datasets/org/name/sub[test]\n`, []],
  ['good mix', `train_files:\n  - path: ${chat}\n    weight: 0.5\n  - path: hf://datasets/org/name@v1[train_sft]\n    dataset_format: messages\n`, []],
];

test('train_file or train_files: both validators report each problem at the same line:col', (t) => {
  if (!fs.existsSync(python)) {
    t.skip('.venv not set up');
    return;
  }
  const dir = tempDir(t);
  const files = CASES.map(([, text], i) => {
    const file = path.join(dir, `c${i}.sft.yaml`);
    fs.writeFileSync(file, `model_name_or_path: ${model}\n${text}`);
    return file;
  });
  const issues = trainerConfigIssues(files);
  const trainer = Object.fromEntries(files.map((f) => [f, issues[f].map((i) => `${i.line}:${i.column}`)]));
  CASES.forEach(([name, , at], i) => {
    const editor = validateConfigText(fs.readFileSync(files[i], 'utf8'), { configPath: files[i] }).problems.map((p) => `${p.line}:${p.column}`);
    assert.deepEqual(editor, at, `editor, ${name}`);
    assert.deepEqual(trainer[files[i]], at, `trainer, ${name}`);
  });
});

test('the editor names train_files problems as the trainer does', () => {
  const messages = (text: string) =>
    validateConfigText(`model_name_or_path: m\n${text}`, { configPath: '/w/c.sft.yaml', exists: (p) => p !== '/w/gone.jsonl' }).problems.map((p) => p.message);
  assert.deepEqual(messages(''), [
    'missing training data: add "train_file" (a data file, or hf://datasets/ORG/NAME for a Hub dataset), or "train_files" with entries {path, weight} to mix several',
  ]);
  assert.deepEqual(messages('train_file: a.jsonl\ntrain_files: [{path: b.jsonl}]\n'), [
    'train_files: set either "train_file" or "train_files", not both; move the file into train_files as "- path: ..."',
  ]);
  assert.deepEqual(messages('train_files:\n  - path: a.jsonl\n    weight: -1\n  - {weight: 2}\n  - {path: gone.jsonl, wieght: 1}\n'), [
    "train_files[0].weight must be a number greater than 0 (how many times the file's rows are used: 0.5 = a seeded half, 2 = every row twice); got -1",
    'train_files[1] has no "path": add path: data/train.jsonl (a data file, or hf://datasets/ORG/NAME for a Hub dataset)',
    'train_files[2].path: file "gone.jsonl" not found (looked for /w/gone.jsonl; relative paths start at the config file\'s folder)',
    'unknown field "wieght"; did you mean "weight"?',
  ]);
  assert.deepEqual(messages('train_file: hf://datasets/a/b[x y]\n'), [
    'train_file: not a Hub dataset reference: write hf://datasets/ORG/NAME, optionally followed by @REVISION, /SUBSET and [SPLIT], e.g. hf://datasets/HuggingFaceH4/ultrachat_200k[train_sft]',
  ]);
});

test('Hub dataset references: the grammar the trainer parses', () => {
  for (const ok of ['hf://datasets/org/name', 'hf://datasets/org/name[test]', 'hf://datasets/org/name@v1.0/sub[train_sft]', 'hf://datasets/org/name@refs%2Fconvert%2Fparquet']) {
    assert.equal(hubReferenceProblem(ok), undefined, ok);
  }
  for (const bad of ['hf://datasets/org', 'hf://datasets/org/name/a/b', 'hf://datasets/org/name[]', 'hf://datasets/../name', 'hf://models/org/name']) {
    assert.ok(hubReferenceProblem(bad), bad);
  }
});

test('weights repeat rows and draw the fraction exactly as the trainer (weight_rows)', (t) => {
  if (!fs.existsSync(python)) {
    t.skip('.venv not set up');
    return;
  }
  const counts = [10, 7, 3, 50];
  const weights = [2, 0.5, 1.5, 0.3];
  const rows = counts.flatMap((n, source) => Array.from({ length: n }, (_, i) => new Row(`f${source}:${i + 1}`, {}, {}, source)));
  const script = [
    'import json, sys',
    'from sft_studio.data.dataset import weight_rows',
    'from sft_studio.data.readers import Row',
    'counts, weights, seed = json.loads(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3])',
    'rows = [Row(f"f{s}:{i + 1}", {}, {}, s) for s, n in enumerate(counts) for i in range(n)]',
    'print(json.dumps([r.where for r in weight_rows(rows, weights, seed)]))',
  ].join('\n');
  for (const seed of [0, 5, 42]) {
    const trainer = pythonSays(script, [JSON.stringify(counts), JSON.stringify(weights), String(seed)]);
    assert.deepEqual(weightRows(rows, weights, seed).map((r) => r.where), trainer, `seed ${seed}`);
  }
  assert.equal(weightRows(rows, weights, 5).filter((r) => r.source === 0).length, 20);
  assert.equal(weightRows(rows, [1, 1, 1, 1], 5).length, rows.length);
});

test('a train_files config loads each source with its own format, mapping and weight', (t) => {
  const dir = tempDir(t);
  const config = path.join(dir, 'c.sft.yaml');
  fs.writeFileSync(
    config,
    `model_name_or_path: ${model}\ncolumn_mapping: {text: body}\ntrain_files:\n  - path: ${chat}\n    weight: 0.5\n` +
      `  - path: ${instruct}\n    dataset_format: alpaca\n    column_mapping: {}\n    weight: 0.01\n`,
  );
  const loaded = loadInsightConfig(config);
  assert.deepEqual(loaded.trainFiles, [
    { path: chat, datasetFormat: 'auto', weight: 0.5, columnMapping: { text: 'body' } },
    { path: instruct, datasetFormat: 'alpaca', weight: 0.01, columnMapping: {} },
  ]);
  const { rows, config: resolved } = trainingRows(loaded);
  assert.deepEqual(resolved.trainFiles.map((s) => s.datasetFormat), ['messages', 'alpaca']);
  assert.equal(rows.filter((r) => r.source === 0).length, 1000);
  assert.equal(rows.filter((r) => r.source === 1).length, 30);
});

test('Arrow files and Hub datasets are left to the trainer with a message that says how to get their counts', () => {
  for (const [file, what] of [
    ['/data/data-00000-of-00001.arrow', 'Arrow files are'],
    ['hf://datasets/org/name[train]', 'Hub datasets are'],
  ]) {
    assert.throws(
      () => readRows(file),
      (error: unknown) =>
        error instanceof DataError &&
        error.message === `${file}: ${what} read by the trainer only; token insight reads .jsonl, .json and .csv` &&
        /python -m sft_studio train CONFIG --dry-run --json/.test(error.hint),
    );
  }
  assert.throws(() => readRows('/data/x.txt'), (error: unknown) => error instanceof DataError && /\.arrow, or a Hub dataset hf:\/\/datasets\/ORG\/NAME/.test(error.hint));
});
