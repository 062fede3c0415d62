import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { dryRunConfig, validateConfigCommand, type ConfigActionDeps } from '../../src/commands/configActions';
import { dryRunMarkdown, formatBytes, humanName } from '../../src/config/dryRunReport';
import { lastJsonLine, runTrainerCli, type CliResult } from '../../src/python/trainerCli';
import { fakeSettings, fakeWorkspace, FakeUi, fixtures, repoRoot, tempDir } from './helpers';

const valid = path.join(fixtures, 'configs', 'valid.sft.yaml');
const projectPython = path.join(repoRoot, '.venv', 'bin', 'python');

function harness(result: Partial<CliResult>, over: Partial<ConfigActionDeps> = {}) {
  const ui = new FakeUi();
  const calls: { python: string; args: readonly string[]; cwd: string }[] = [];
  const deps: ConfigActionDeps = {
    ui,
    workspace: fakeWorkspace(fixtures, [valid]),
    settings: fakeSettings({ runOverrides: () => ['max_steps=5'] }),
    resolvePython: async () => ({ path: '/venv/bin/python', source: 'setting' }),
    runCli: async (python, args, options) => {
      calls.push({ python, args, cwd: options.cwd });
      return { code: 0, stdout: '', stderr: '', ...result };
    },
    extensionPath: repoRoot,
    ...over,
  };
  return { deps, ui, calls };
}

const dryRunJson = {
  examples: 1200,
  tokens: 345678,
  truncated_examples: 12,
  truncated_fraction: 0.01,
  trainable_parameters: 1_812_480,
  steps_per_epoch: 75,
  estimated_peak_memory_bytes: 3.5 * 1024 ** 3,
  memory: { weights_bytes: 7_249_920, optimizer_bytes: 14_499_840 },
};

test('dry run: the trainer is asked with --dry-run --json and the overrides; its JSON becomes a readable table', async () => {
  const h = harness({ stdout: `loading tokenizer…\n${JSON.stringify(dryRunJson)}\n` });
  const markdown = await dryRunConfig(h.deps, valid, 'all');
  assert.deepEqual(h.calls, [
    { python: '/venv/bin/python', args: ['train', valid, '--dry-run', '--json', '--set', 'max_steps=5'], cwd: path.dirname(valid) },
  ]);
  assert.ok(markdown);
  assert.match(markdown, /^# Dry run: configs\/valid\.sft\.yaml/);
  assert.match(markdown, /\| Examples \| 1,200 \|/);
  assert.match(markdown, /\| Tokens \| 345,678 \|/);
  assert.match(markdown, /\| Truncated fraction \| 1\.0% \|/);
  assert.match(markdown, /\| Trainable parameters \| 1,812,480 \|/);
  assert.match(markdown, /\| Estimated peak memory bytes \| 3\.50 GiB \|/);
  assert.match(markdown, /## Memory\n\n\| \| \|\n\|---\|---:\|\n\| Weights bytes \| 6\.9 MiB \|/);
  assert.deepEqual(h.ui.calls.filter((c) => c.kind === 'markdown').map((c) => c.message.split('\n')[0]), ['Dry run valid.sft.yaml']);
});

test('estimate memory shows only the memory-related fields', async () => {
  const h = harness({ stdout: JSON.stringify(dryRunJson) });
  const markdown = (await dryRunConfig(h.deps, valid, 'memory')) ?? '';
  assert.match(markdown, /^# Memory estimate/);
  assert.match(markdown, /Estimated peak memory bytes \| 3\.50 GiB/);
  assert.match(markdown, /Trainable parameters/);
  assert.doesNotMatch(markdown, /Examples|Steps per epoch/);
});

test('without a JSON line (older trainer or a failure) the report shows the trainer output verbatim', async () => {
  const h = harness({ code: 2, stdout: '', stderr: 'python -m sft_studio: error: unrecognized arguments: --dry-run --json\n' });
  const markdown = (await dryRunConfig(h.deps, valid, 'all')) ?? '';
  assert.match(markdown, /The dry run failed \(exit code 2\)/);
  assert.match(markdown, /```text\npython -m sft_studio: error: unrecognized arguments: --dry-run --json\n```/);
});

test('dry run needs trust and a Python; each refusal says what to do', async () => {
  const untrusted = harness({});
  untrusted.deps.workspace.isTrusted = () => false;
  assert.equal(await dryRunConfig(untrusted.deps, valid, 'all'), undefined);
  assert.match(untrusted.ui.messages('error')[0], /needs a trusted workspace/);
  const noPython = harness({}, { resolvePython: async () => undefined });
  assert.equal(await dryRunConfig(noPython.deps, valid, 'all'), undefined);
  assert.match(noPython.ui.messages('error')[0], /needs a Python interpreter .* Set Up Training Environment/);
  assert.equal(untrusted.calls.length + noPython.calls.length, 0);
});

test('report cells cannot inject markup, and numbers read well', () => {
  const markdown = dryRunMarkdown({ configLabel: 'a|b', focus: 'all', result: { device: '<img src=x> | *x*' } });
  assert.match(markdown, /# Dry run: a\\\|b/);
  assert.match(markdown, /\| Device \| \\<img src=x\\> \\\| \\\*x\\\* \|/);
  assert.equal(humanName('steps_per_epoch'), 'Steps per epoch');
  assert.deepEqual([512, 3 * 1024 ** 2, 1.5 * 1024 ** 3].map(formatBytes), ['1 KiB', '3.0 MiB', '1.50 GiB']);
  assert.deepEqual(lastJsonLine('x\n{"a": 1}\n'), { a: 1 });
  assert.equal(lastJsonLine('{"a": 1}\nthen text'), undefined);
  assert.equal(lastJsonLine('[1, 2]'), undefined);
});

test('validate: schema problems stop before the trainer is asked', async () => {
  const h = harness({});
  const broken = path.join(fixtures, 'configs', 'broken.sft.yaml');
  assert.equal(await validateConfigCommand(h.deps, broken), false);
  assert.match(h.ui.messages('error')[0], /^SFT Studio: 5 problems in configs\/broken\.sft\.yaml; first: configs\/broken\.sft\.yaml:2:13: train_file/);
  assert.equal(h.calls.length, 0);
});

test('validate runs the real trainer on a valid config and on one the trainer rejects', { skip: !fs.existsSync(projectPython) }, async (t) => {
  const deps = { resolvePython: async () => ({ path: projectPython, source: 'setting' as const }), runCli: runTrainerCli };
  const ok = harness({}, deps);
  assert.equal(await validateConfigCommand(ok.deps, valid), true);
  assert.match(ok.ui.messages('info')[0], /valid \(schema and trainer\)/);

  // The schema allows each value alone; the trainer rejects the combination (eval without a validation set).
  const dir = tempDir(t);
  fs.cpSync(path.join(fixtures, 'configs'), dir, { recursive: true });
  const config = path.join(dir, 'combo.sft.yaml');
  fs.writeFileSync(config, 'model_name_or_path: model\ntrain_file: data/train.jsonl\neval_strategy: steps\neval_steps: 5\n');
  const rejected = harness({}, deps);
  const result = await validateConfigCommand(rejected.deps, config);
  const messages = [...rejected.ui.messages('error'), ...rejected.ui.messages('info')].join('\n');
  assert.equal(result, false, messages);
  assert.match(rejected.ui.messages('error')[0], /the trainer rejects .*combo\.sft\.yaml/);
});
