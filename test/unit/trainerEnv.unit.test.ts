// The trainer runs workspace code: it gets the variables training needs, not the editor's whole environment.
import assert from 'node:assert/strict';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { EventEmitter } from 'node:events';
import * as path from 'node:path';
import { test } from 'node:test';
import { launch, planLaunch } from '../../src/runs/runManager';
import { trainerEnv } from '../../src/runs/trainerCommand';
import { tempDir } from './helpers';

const host = {
  PATH: '/usr/bin',
  HOME: '/home/u',
  LANG: 'en_US.UTF-8',
  LC_ALL: 'C.UTF-8',
  TMPDIR: '/tmp/u',
  PYTHONHASHSEED: '0',
  CUDA_VISIBLE_DEVICES: '0,1',
  NCCL_DEBUG: 'INFO',
  TORCH_HOME: '/cache/torch',
  TORCHINDUCTOR_CACHE_DIR: '/cache/inductor',
  PYTORCH_CUDA_ALLOC_CONF: 'expandable_segments:True',
  OMP_NUM_THREADS: '4',
  MKL_NUM_THREADS: '4',
  HF_HOME: '/cache/hf',
  HF_TOKEN: 'hf_from_the_shell',
  VIRTUAL_ENV: '/w/.venv',
  CONDA_PREFIX: '/opt/conda',
  SLURM_JOB_ID: '42',
  WANDB_PROJECT: 'p',
  https_proxy: 'http://proxy:3128',
  // Not for the trainer:
  OPENAI_API_KEY: 'sk-secret',
  ANTHROPIC_API_KEY: 'sk-ant-secret',
  AWS_SECRET_ACCESS_KEY: 'aws-secret',
  GITHUB_TOKEN: 'ghp_secret',
  DATABASE_URL: 'postgres://u:pw@db/x',
  VSCODE_IPC_HOOK: '/run/vscode.sock',
  ELECTRON_RUN_AS_NODE: '1',
  NODE_OPTIONS: '--require /w/evil.js',
};

test('the trainer gets an allow-list of the host environment; secrets and editor variables stay behind', () => {
  const env = trainerEnv(host, '/ext');
  for (const name of ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'AWS_SECRET_ACCESS_KEY', 'GITHUB_TOKEN', 'DATABASE_URL', 'VSCODE_IPC_HOOK', 'ELECTRON_RUN_AS_NODE', 'NODE_OPTIONS']) {
    assert.equal(env[name], undefined, `${name} must not reach the trainer`);
  }
  const kept = Object.keys(host).filter((name) => env[name] !== undefined);
  assert.deepEqual(kept, Object.keys(host).slice(0, 20));
  assert.equal(env.PYTHONPATH, '/ext/trainer');
  assert.equal(env.PYTHONUNBUFFERED, '1');
  assert.equal(env.HF_TOKEN, 'hf_from_the_shell');
  assert.equal(trainerEnv(host, '/ext', 'hf_from_secret_storage').HF_TOKEN, 'hf_from_secret_storage');
  assert.equal(trainerEnv({ Path: 'C:\\Windows', SystemRoot: 'C:\\Windows' }, '/ext').Path, 'C:\\Windows', 'Windows spells names its own way');
});

test('a launched run is spawned with the filtered environment', (t) => {
  const dir = tempDir(t);
  const plan = planLaunch({ configPath: path.join(dir, 'a.sft.yaml'), python: 'python', overrides: [], extensionPath: '/ext', env: host, hfToken: 'hf_x' });
  let options: SpawnOptions | undefined;
  launch(plan, (_command, _args, spawnOptions) => {
    options = spawnOptions;
    const fake = new EventEmitter() as ChildProcess;
    fake.unref = () => undefined;
    return fake;
  });
  assert.equal(options?.env?.OPENAI_API_KEY, undefined);
  assert.equal(options?.env?.HF_TOKEN, 'hf_x');
  assert.equal(options?.env?.CUDA_VISIBLE_DEVICES, '0,1');
});
