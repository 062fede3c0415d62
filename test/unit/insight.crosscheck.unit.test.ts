// The editor's token insight against the Python trainer: for every causal-LM config under examples/
// and for configs covering the other data paths (chat messages, loss on all tokens, truncation, plain
// text, column mapping, a .json file, validation hold-out and subsample, three train_files mixed by weight with
// their own formats and column mappings), the token ids, the labels and the four totals must be identical. One
// Python process dumps what the trainer builds for all configs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main';
import { repoRoot, tempDir } from './helpers';
import { assertEditorEqualsTrainer, python, trainerEnv } from './trainerParity';

const examples = path.join(repoRoot, 'examples');
const data = path.join(examples, 'data');
const model = path.join(examples, 'tiny-llama');


function exampleConfigs(dir: string): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'runs' && entry.name !== 'tiny-llama') found.push(...exampleConfigs(full));
    else if (/\.sft\.(yaml|json)$/.test(entry.name)) found.push(full);
  }
  return found;
}

function isCausalLm(config: string): boolean {
  return !/^task:\s*(?!causal_lm)\S+/m.test(fs.readFileSync(config, 'utf8'));
}

function writeConfig(dir: string, name: string, fields: Record<string, unknown>): string {
  const file = path.join(dir, name);
  const base = { model_name_or_path: model, train_file: path.join(data, 'chat_train.jsonl'), dataset_format: 'messages' };
  const entries = Object.entries({ ...base, ...fields }).filter(([, v]) => v !== undefined);
  fs.writeFileSync(file, entries.map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join('\n') + '\n');
  return file;
}

function syntheticConfigs(dir: string): string[] {
  // 40 alpaca rows as a .json list with renamed columns, spread over lines as people write them.
  const rows = fs.readFileSync(path.join(data, 'instruct_train.jsonl'), 'utf8').trim().split('\n').slice(0, 40).map((l) => JSON.parse(l));
  const renamed = rows.map((r) => ({ question: r.instruction, context: r.input, answer: r.output }));
  fs.writeFileSync(path.join(dir, 'renamed.json'), JSON.stringify(renamed, null, 2));
  return [
    writeConfig(dir, 'chat.sft.yaml', { max_length: 256 }),
    writeConfig(dir, 'chat-all-tokens-short.sft.yaml', { max_length: 40, completion_only_loss: false }),
    writeConfig(dir, 'chat-split-subsample.sft.yaml', { validation_split_ratio: 0.15, subsample: 0.35, seed: 7 }),
    writeConfig(dir, 'chat-overlong.sft.yaml', { max_length: 60 }),
    writeConfig(dir, 'text.sft.yaml', { dataset_format: 'text', column_mapping: { text: 'output' }, train_file: path.join(data, 'instruct_train.jsonl'), max_length: 8 }),
    writeConfig(dir, 'renamed.sft.yaml', {
      dataset_format: 'alpaca',
      train_file: path.join(dir, 'renamed.json'),
      column_mapping: { instruction: 'question', input: 'context', output: 'answer' },
    }),
    // Three sources: chat rows (auto -> messages), the renamed .json (alpaca through its own mapping) twice and
    // a half, and a sliver of the alpaca file (auto -> alpaca); held out, weighted and subsampled as the trainer does.
    writeConfig(dir, 'mixed.sft.yaml', {
      train_file: undefined,
      dataset_format: 'auto',
      max_length: 96,
      train_files: [
        { path: path.join(data, 'chat_train.jsonl'), weight: 0.3 },
        { path: path.join(dir, 'renamed.json'), dataset_format: 'alpaca', weight: 2.5, column_mapping: { instruction: 'question', input: 'context', output: 'answer' } },
        { path: path.join(data, 'instruct_train.jsonl'), weight: 0.05 },
      ],
      validation_split_ratio: 0.1,
      subsample: 0.9,
      seed: 3,
    }),
  ];
}

test('token ids, labels and totals equal the trainer for every causal-LM example config and each data path', async (t) => {
  const dir = tempDir(t);
  const configs = [...exampleConfigs(examples).filter(isCausalLm), ...syntheticConfigs(dir)];
  assert.ok(configs.some((c) => c.endsWith('demo.sft.yaml')), 'examples/demo.sft.yaml is among the checked configs');

  const { expected } = await assertEditorEqualsTrainer(configs);

  // The data paths the synthetic configs are there for were really taken.
  const byName = (suffix: string) => expected[configs.findIndex((c) => c.endsWith(suffix))];
  assert.ok(byName('chat-all-tokens-short.sft.yaml').totals.truncated_examples > 100);
  assert.ok(byName('text.sft.yaml').totals.truncated_examples > 0);
  assert.equal(byName('chat-split-subsample.sft.yaml').totals.examples, Math.round(0.35 * (2000 - 300)));
  assert.ok(byName('chat-overlong.sft.yaml').totals.dropped_examples > 0);
  assert.ok(byName('chat-overlong.sft.yaml').totals.truncated_examples > 0);
  // Every source of the mixed config was trained, the renamed file more often than it has rows.
  const mixed = byName('mixed.sft.yaml');
  assert.deepEqual(mixed.sources.map((s) => s.rows), [2000, 40, 3000]);
  assert.ok(mixed.sources.every((s) => s.examples > 0));
  assert.ok(mixed.sources[1].examples > 40);
  assert.equal(mixed.sources.reduce((n, s) => n + s.examples, 0), mixed.totals.examples);
});

test('`tokens CONFIG --json` and `train CONFIG --dry-run --json` print the same four totals for every example config', async () => {
  const four = (o: Record<string, unknown>) => ({
    examples: o.examples,
    tokens: o.tokens,
    truncated_examples: o.truncated_examples,
    trained_tokens: o.trained_tokens,
    dropped_examples: o.dropped_examples,
  });
  for (const config of exampleConfigs(examples).filter(isCausalLm)) {
    const dry = spawnSync(python, ['-m', 'sft_studio', 'train', config, '--dry-run', '--json'], {
      encoding: 'utf8',
      env: trainerEnv,
    });
    assert.equal(dry.status, 0, `dry run of ${config} failed:\n${dry.stderr}`);
    let out = '';
    const code = await main(['tokens', config, '--json'], { out: (s) => (out += s), err: (s) => (out += s) });
    assert.equal(code, 0, out);
    const ours = JSON.parse(out.trim().split('\n').at(-1) as string);
    const theirs = JSON.parse(dry.stdout.trim().split('\n').at(-1) as string);
    assert.deepEqual(four(ours), four(theirs), path.basename(config));
    assert.ok(ours.examples > 0 && ours.packing_efficiency.bfd > 0.5 && ours.packing_efficiency.bfd <= 1);
    assert.equal(ours.histogram.counts.reduce((a: number, b: number) => a + b, 0), ours.examples);
  }
});
