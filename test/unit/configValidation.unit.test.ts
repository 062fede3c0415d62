import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { didYouMean, editDistance } from '../../src/config/didYouMean';
import { formatProblem, validateConfigFile, validateConfigText, type ConfigProblem } from '../../src/config/validateConfig';
import { fixtures } from './helpers';

const configs = path.join(fixtures, 'configs');
const at = (p: ConfigProblem) => `${p.line}:${p.column}`;
const allExist = () => true;

function problemsOf(text: string, exists: (p: string) => boolean = allExist) {
  return validateConfigText(text, { configPath: path.join(configs, 'inline.sft.yaml'), exists }).problems;
}

test('a complete config has no problems', () => {
  assert.deepEqual(validateConfigFile(path.join(configs, 'valid.sft.yaml')).problems, []);
  assert.deepEqual(validateConfigFile(path.join(configs, 'valid.sft.json')).problems, []);
});

test('each problem in broken.sft.yaml points at its key or value with a fix', () => {
  const { problems } = validateConfigFile(path.join(configs, 'broken.sft.yaml'));
  const expected = [
    [
      '2:13',
      `train_file: file "data/trian.jsonl" not found (looked for ${path.join(configs, 'data', 'trian.jsonl')}; relative paths start at the config file's folder)`,
    ],
    ['3:1', 'unknown field "learning_rat"; did you mean "learning_rate"?'],
    ['4:30', 'per_device_train_batch_size must be an integer; got "eight"'],
    ['5:13', 'max_length must be >= 8; got 4'],
    ['6:20', 'lr_scheduler_type must be one of linear, cosine, constant, constant_with_warmup; got "cosin"; did you mean "cosine"?'],
  ];
  assert.deepEqual(
    problems.map((p) => [at(p), p.message]),
    expected,
  );
  assert.ok(problems.every((p) => p.severity === 'error'));
});

test('the unknown key is underlined exactly, not the whole line', () => {
  const [problem] = problemsOf('model_name_or_path: m\ntrain_file: t\n  \nlearnign_rate: 1\n');
  assert.deepEqual(
    { line: problem.line, column: problem.column, endLine: problem.endLine, endColumn: problem.endColumn },
    { line: 4, column: 1, endLine: 4, endColumn: 14 },
  );
  assert.equal(problem.message, 'unknown field "learnign_rate"; did you mean "learning_rate"?');
});

test('exclusive bounds and numbers written as YAML floats', () => {
  const problems = problemsOf('model_name_or_path: m\ntrain_file: t\nlearning_rate: 0\nadam_beta1: 1.0\nwarmup_ratio: 1e-1\n');
  assert.deepEqual(
    problems.map((p) => [at(p), p.message]),
    [
      ['3:16', 'learning_rate must be > 0; got 0'],
      ['4:13', 'adam_beta1 must be < 1; got 1'],
    ],
  );
});

test('booleans written as yes/no get a hint (YAML 1.2 reads them as strings)', () => {
  const [problem] = problemsOf('model_name_or_path: m\ntrain_file: t\npadding_free: yes\n');
  assert.equal(at(problem), '3:15');
  assert.equal(problem.message, 'padding_free must be a boolean; got "yes" (write true or false)');
});

test('a missing required field is reported at the first key with what it is for', () => {
  const problems = problemsOf('# comment\ntrain_file: t.jsonl\n');
  assert.equal(problems.length, 1);
  assert.equal(at(problems[0]), '2:1');
  assert.equal(
    problems[0].message,
    'missing required field "model_name_or_path" (The model to fine-tune: a local Hugging Face model folder (config.json, safetensors weights, tokenizer files), relative to the config file\'s folder, or a Hugging Face Hub id such as Qwen/Qwen2.5-0.5B-Instruct)',
  );
  const [data] = problemsOf('# comment\nmodel_name_or_path: m\n');
  assert.equal(at(data), '2:1');
  assert.match(data.message, /^missing training data: add "train_file" \(a data file, or hf:\/\/datasets\/ORG\/NAME for a Hub dataset\), or "train_files"/);
});

test('missing files are checked relative to the config folder, each at its value', () => {
  const seen: string[] = [];
  const problems = problemsOf(
    'model_name_or_path: ./base\ntrain_file: t.jsonl\nvalidation_file: v.jsonl\ngeneration_prompts_file: /abs/p.jsonl\n',
    (p) => {
      seen.push(p);
      return p.endsWith('t.jsonl');
    },
  );
  assert.deepEqual(seen, [
    path.join(configs, 'base'),
    path.join(configs, 't.jsonl'),
    path.join(configs, 'v.jsonl'),
    '/abs/p.jsonl',
  ]);
  assert.deepEqual(
    problems.map((p) => [at(p), p.field]),
    [
      ['1:21', 'model_name_or_path'],
      ['3:18', 'validation_file'],
      ['4:26', 'generation_prompts_file'],
    ],
  );
  assert.match(problems[0].message, /^model_name_or_path: "\.\/base" is not a folder and not a Hub id \(no folder /);
});

test('JSON configs (tab-indented) get the same positions', () => {
  const problems = validateConfigText('{\n\t"model_name_or_path": "m",\n\t"train_file": "t",\n\t"max_step": 10\n}\n', {
    configPath: path.join(configs, 'x.sft.json'),
    exists: allExist,
  }).problems;
  assert.deepEqual(
    problems.map((p) => [at(p), p.message]),
    [['4:2', 'unknown field "max_step"; did you mean "max_steps"?']],
  );
});

test('syntax errors and duplicate keys stop validation with a position', () => {
  const dup = problemsOf('model_name_or_path: m\ntrain_file: t\ntrain_file: u\n');
  assert.deepEqual(dup.map((p) => [at(p), p.code, p.message]), [['3:1', 'syntax', 'duplicate field: each field may appear only once']]);
  const broken = problemsOf('model_name_or_path: [m\ntrain_file: t\n');
  assert.equal(broken[0].code, 'syntax');
  assert.ok(broken.length >= 1);
});

test('empty and non-mapping configs', () => {
  assert.equal(problemsOf('')[0].message, 'config is empty: write at least model_name_or_path and train_file');
  assert.equal(problemsOf('- a\n- b\n')[0].message, 'a run config must be a mapping of field: value, got a list');
});

test('pattern errors say which characters are allowed', () => {
  const [problem] = problemsOf('model_name_or_path: m\ntrain_file: t\nrun_name: my run\n');
  assert.equal(at(problem), '3:11');
  assert.match(problem.message, /^run_name may contain only letters, digits, "\.", "_" and "-" .*got "my run"$/);
});

test('formatProblem is path:line:col: message', () => {
  const [problem] = problemsOf('model_name_or_path: m\ntrain_file: t\nmax_length: 1\n');
  assert.equal(formatProblem('a.sft.yaml', problem), 'a.sft.yaml:3:13: max_length must be >= 8; got 1');
});

test('did-you-mean: transpositions, aliases, and no wild guesses', () => {
  assert.equal(editDistance('learnign', 'learning'), 1);
  assert.equal(editDistance('kitten', 'sitting'), 3);
  const fields = ['learning_rate', 'max_steps', 'per_device_train_batch_size', 'eval_strategy'];
  assert.equal(didYouMean('leanring_rate', fields), 'learning_rate');
  assert.equal(didYouMean('lr', fields), 'learning_rate');
  assert.equal(didYouMean('evaluation_strategy', fields), 'eval_strategy');
  assert.equal(didYouMean('batch_size', fields), 'per_device_train_batch_size');
  assert.equal(didYouMean('colour', fields), undefined);
});
