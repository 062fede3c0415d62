// The editor's token insight against the Python trainer, config by config: one Python process dumps what the
// trainer builds (test/fixtures/insight/dump_training_examples.py), then the editor counts each config and
// every id, label and total must be equal. Shared by the cross-check tests.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { computeConfigTokens } from '../../src/insight/configTokenStats';
import type { TokenStats } from '../../src/insight/tokenStats';
import { repoRoot } from './helpers';

export const python = path.join(repoRoot, '.venv', 'bin', 'python');

export interface Dumped {
  examples: { input_ids: number[]; labels: number[]; truncated: boolean }[];
  totals: { examples: number; tokens: number; truncated_examples: number; trained_tokens: number; dropped_examples: number };
  sources: { path: string; weight: number; rows: number; examples: number }[];
}

export const trainerEnv = { ...process.env, PYTHONPATH: path.join(repoRoot, 'trainer'), HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1' };

/** What the trainer builds for each config, in order. */
export function dumpTrainerExamples(configs: readonly string[]): Dumped[] {
  const py = spawnSync(python, [path.join(repoRoot, 'test', 'fixtures', 'insight', 'dump_training_examples.py'), ...configs], {
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
    env: trainerEnv,
  });
  assert.equal(py.status, 0, `the Python dump failed:\n${py.stderr}`);
  return JSON.parse(py.stdout) as Dumped[];
}

/** Asserts the editor's examples and totals equal the trainer's for every config; returns both sides' figures. */
export async function assertEditorEqualsTrainer(configs: readonly string[]): Promise<{ stats: TokenStats[]; expected: Dumped[] }> {
  const expected = dumpTrainerExamples(configs);
  const all: TokenStats[] = [];
  for (const [i, config] of configs.entries()) {
    const name = path.basename(config);
    const { examples: got, stats } = await computeConfigTokens(config);
    const want = expected[i];
    assert.equal(got.length, want.examples.length, `${name}: example count`);
    got.forEach((example, k) => {
      assert.deepEqual(example.inputIds, want.examples[k].input_ids, `${name}: input ids of example ${k} (line ${example.line})`);
      assert.deepEqual(example.labels, want.examples[k].labels, `${name}: labels of example ${k} (line ${example.line})`);
      assert.equal(example.truncated, want.examples[k].truncated, `${name}: truncation of example ${k}`);
    });
    const { examples: n, tokens, truncated_examples, trained_tokens, dropped_examples } = stats;
    assert.deepEqual({ examples: n, tokens, truncated_examples, trained_tokens, dropped_examples }, want.totals, `${name}: totals`);
    all.push(stats);
  }
  return { stats: all, expected };
}

export interface TrainerIssue {
  line: number;
  column: number;
  message: string;
}

/** The trainer's validation of each config file (one Python process): {file: issues, [] when valid}. */
export function trainerConfigIssues(files: readonly string[]): Record<string, TrainerIssue[]> {
  const script = [
    'import json, sys',
    'from sft_studio.config import ConfigError, load_config',
    'out = {}',
    'for f in sys.argv[1:]:',
    '    try:',
    '        load_config(f); out[f] = []',
    '    except ConfigError as e:',
    '        out[f] = [{"line": i.line, "column": i.column, "message": i.message} for i in e.issues]',
    'print(json.dumps(out))',
  ].join('\n');
  const done = spawnSync(python, ['-c', script, ...files], { encoding: 'utf8', env: trainerEnv });
  assert.equal(done.status, 0, done.stderr);
  return JSON.parse(done.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, TrainerIssue[]>;
}
