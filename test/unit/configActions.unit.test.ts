import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { configLauncher, dryRunConfig, validateConfigCommand, type ConfigActionDeps } from '../../src/commands/configActions';
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

const slurmScript = '#!/bin/bash\n#SBATCH --job-name=tiny\n#SBATCH --nodes=2\n#SBATCH --partition=gpu\nsrun --nodes=2 bash -c \'exec "$0" -m torch.distributed.run "$@"\' /venv/bin/python -m sft_studio train c.sft.yaml\n';

/** A trainer whose `train --dry-run` and `submit --dry-run` answer differently, recording both. */
function slurmHarness(configText: string, submit: Partial<CliResult>, overrides: string[] = []) {
  const h = harness({}, {
    settings: fakeSettings({ runOverrides: () => overrides }),
    runCli: async (python, args, options) => {
      h.calls.push({ python, args, cwd: options.cwd });
      return args[0] === 'submit'
        ? { code: 0, stdout: '', stderr: '', ...submit }
        : { code: 0, stdout: `${JSON.stringify(dryRunJson)}\n`, stderr: '' };
    },
  });
  h.deps.workspace.saveAndRead = async () => configText;
  return h;
}

const slurmConfig = 'model_name_or_path: model\ntrain_file: data/train.jsonl\nlauncher: slurm\nslurm:\n  nodes: 2\n  partition: gpu\n';

test('dry run of a `launcher: slurm` config shows the memory estimate and the sbatch script that would be submitted', async () => {
  const submitJson = { script: slurmScript, run_dir: '/shared/runs/tiny-20260101-000000' };
  const h = slurmHarness(slurmConfig, { stdout: `${slurmScript}${JSON.stringify(submitJson)}\n` }, ['max_steps=5']);
  const markdown = (await dryRunConfig(h.deps, valid, 'all')) ?? '';
  assert.deepEqual(h.calls.map((c) => c.args), [
    ['train', valid, '--dry-run', '--json', '--set', 'max_steps=5'],
    ['submit', valid, '--dry-run', '--json', '--set', 'max_steps=5'],
  ]);
  // Today's report first (the memory estimate among it), then the script, verbatim in a bash fence.
  assert.match(markdown, /\| Estimated peak memory bytes \| 3\.50 GiB \|/);
  const slurmAt = markdown.indexOf('## Slurm job');
  assert.ok(slurmAt > markdown.indexOf('Estimated peak memory'), markdown);
  assert.ok(markdown.includes(`\`\`\`bash\n${slurmScript}\`\`\`\n`), markdown);
  assert.match(markdown.slice(slurmAt), /nothing was submitted now.*\/shared\/runs\/tiny-20260101-000000/);
  assert.equal(h.ui.messages('progress-report').at(-1), 'writing the sbatch script (submit --dry-run)…');
});

test('only a slurm launcher gets the script: a local config, Estimate memory, and an override that switches either way', async () => {
  const local = slurmHarness('model_name_or_path: model\ntrain_file: data/train.jsonl\n', {});
  assert.doesNotMatch((await dryRunConfig(local.deps, valid, 'all')) ?? '', /Slurm/);
  assert.deepEqual(local.calls.map((c) => c.args[0]), ['train']);

  const memory = slurmHarness(slurmConfig, { stdout: JSON.stringify({ script: slurmScript }) });
  assert.doesNotMatch((await dryRunConfig(memory.deps, valid, 'memory')) ?? '', /sbatch/);
  assert.deepEqual(memory.calls.map((c) => c.args[0]), ['train']);

  const switched = slurmHarness('model_name_or_path: model\n', { stdout: JSON.stringify({ script: slurmScript }) }, ['launcher="slurm"']);
  assert.match((await dryRunConfig(switched.deps, valid, 'all')) ?? '', /## Slurm job/);
  const back = slurmHarness(slurmConfig, {}, ['launcher=slurm', 'launcher=local']);
  await dryRunConfig(back.deps, valid, 'all');
  assert.deepEqual(back.calls.map((c) => c.args[0]), ['train'], 'the later override wins');
  assert.deepEqual(
    [configLauncher('launcher: slurm\n', []), configLauncher('{"launcher": "local"}', ['launcher=\'slurm\'']), configLauncher(':\n- [', [])],
    ['slurm', 'slurm', 'local'],
  );
});

test('a script the trainer cannot write is reported with its words, below the dry run', async () => {
  const h = slurmHarness(slurmConfig, { code: 2, stderr: "error (config): `slurm.partition` cannot be written into an #SBATCH line: 'g pu'\n" });
  const markdown = (await dryRunConfig(h.deps, valid, 'all')) ?? '';
  assert.match(markdown, /\| Examples \| 1,200 \|/);
  assert.match(markdown, /## Slurm job\n\n`launcher: slurm`, but the sbatch script could not be written \(`submit --dry-run` exit code 2\)/);
  assert.match(markdown, /```text\nerror \(config\): `slurm\.partition` cannot be written/);
});

test('the real trainer\'s `submit --dry-run --json` fills the report (its JSON contract), and creates no run folder', { skip: !fs.existsSync(projectPython) }, async (t) => {
  const examples = path.join(repoRoot, 'examples');
  const dir = tempDir(t);
  const config = path.join(dir, 'cluster.sft.yaml');
  fs.writeFileSync(
    config,
    `model_name_or_path: ${path.join(examples, 'tiny-llama')}\ntrain_file: ${path.join(examples, 'data', 'instruct_train.jsonl')}\n` +
      'run_name: cluster\nlauncher: slurm\nslurm:\n  nodes: 2\n  gpus_per_node: 4\n  partition: gpu\n',
  );
  const h = harness({}, {
    resolvePython: async () => ({ path: projectPython, source: 'setting' }),
    settings: fakeSettings(),
    // The training dry run (tokenizer, data) is another test's; here only the script is the trainer's.
    runCli: async (python, args, options) =>
      args[0] === 'submit' ? runTrainerCli(python, args, options) : { code: 0, stdout: JSON.stringify(dryRunJson), stderr: '' },
  });
  const markdown = (await dryRunConfig(h.deps, config, 'all')) ?? '';
  assert.match(markdown, /```bash\n#!\/bin\/bash\n#SBATCH --job-name=cluster\n#SBATCH --nodes=2\n#SBATCH --ntasks-per-node=1\n#SBATCH --gpus-per-node=4\n/, markdown);
  assert.match(markdown, /#SBATCH --partition=gpu/);
  assert.match(markdown, /--nproc_per_node=4 --rdzv_backend=c10d/);
  assert.deepEqual(fs.readdirSync(dir), ['cluster.sft.yaml'], 'a dry run creates no run folder');
});
