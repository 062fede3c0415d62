#!/usr/bin/env node
// `npm run bench`: set up the benchmark's own environment (bench/.venv: the trainer's dependencies plus
// the peers, HF Trainer and TRL, pinned in bench/constraints.txt), then run `python -m sft_bench`
// (bench/sft_bench) with it, bench/ and trainer/ on PYTHONPATH. Arguments after `--` go to the harness,
// e.g. `npm run bench -- --rounds 3`.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, run } from '../scripts/lib.mjs';

const venv = path.join(repoRoot, 'bench', '.venv');
const python = path.join(venv, process.platform === 'win32' ? 'Scripts/python.exe' : 'bin/python');
const stamp = path.join(venv, '.sft-studio-stamp');

function inputsHash() {
  const h = createHash('sha256');
  for (const f of ['bench/requirements.txt', 'bench/constraints.txt']) h.update(f).update(readFileSync(path.join(repoRoot, f)));
  return h.digest('hex');
}

function systemPython() {
  for (const candidate of ['python3.11', 'python3.12', 'python3.13', 'python3.10', 'python3', 'python']) {
    const probe = spawnSync(candidate, ['-c', 'import sys, venv; print(sys.version_info >= (3, 10))'], { encoding: 'utf8' });
    if (probe.status === 0 && probe.stdout.trim() === 'True') return candidate;
  }
  throw new Error('the benchmark needs Python 3.10 or newer with the venv module on PATH (python3)');
}

try {
  const hash = inputsHash();
  if (!existsSync(python) || !existsSync(stamp) || readFileSync(stamp, 'utf8').trim() !== hash) {
    process.stdout.write('[bench] setting up bench/.venv (transformers Trainer, trl, accelerate, datasets)\n');
    if (!existsSync(python)) run(systemPython(), ['-m', 'venv', venv]);
    run(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '-q',
      '-c', 'bench/constraints.txt', '-r', 'bench/requirements.txt']);
    writeFileSync(stamp, hash);
  }
  const env = { ...process.env, PYTHONPATH: [path.join(repoRoot, 'bench'), path.join(repoRoot, 'trainer'), process.env.PYTHONPATH].filter(Boolean).join(path.delimiter) };
  run(python, ['-m', 'sft_bench', '--python', python, ...process.argv.slice(2)], { env });
} catch (err) {
  console.error(`[bench] ${err.message}`);
  process.exit(1);
}
