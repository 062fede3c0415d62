#!/usr/bin/env node
// Idempotent set-up for a fresh clone: npm dependencies, the trainer's Python environment, the build,
// with --e2e the tooling for the real-VS-Code tests, and with --e2e or --families the model-family
// fixtures (real tokenizers and chat templates beside tiny weights, .cache/model-families/). Each part is
// skipped when its inputs are unchanged since the last successful run (a stamp holds the hash of those inputs).
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fetchModelFamilies, modelFamiliesUpToDate } from './fetch-model-families.mjs';
import { repoRoot, run, venvPython } from './lib.mjs';

const withE2e = process.argv.includes('--e2e');
const withFamilies = withE2e || process.argv.includes('--families');

function hashOf(files) {
  const h = createHash('sha256');
  for (const f of files) h.update(f).update(readFileSync(path.join(repoRoot, f)));
  return h.digest('hex');
}

function upToDate(stampFile, hash) {
  return existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === hash;
}

function step(title, fn) {
  const t0 = Date.now();
  process.stdout.write(`[setup] ${title}\n`);
  fn();
  process.stdout.write(`[setup] ${title}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
}

function npmDependencies() {
  const stamp = path.join(repoRoot, 'node_modules', '.sft-studio-stamp');
  const hash = hashOf(['package.json', 'package-lock.json', '.npmrc']);
  if (upToDate(stamp, hash)) return;
  step('npm dependencies (npm ci)', () => run('npm', ['ci', '--no-audit', '--no-fund']));
  writeFileSync(stamp, hash);
}

function findSystemPython() {
  for (const candidate of ['python3.11', 'python3.12', 'python3.13', 'python3.10', 'python3', 'python']) {
    const probe = spawnSync(candidate, ['-c', 'import sys, venv; print(sys.version_info >= (3, 10))'], {
      encoding: 'utf8',
    });
    if (probe.status === 0 && probe.stdout.trim() === 'True') return candidate;
  }
  throw new Error('SFT Studio needs Python 3.10 or newer with the venv module on PATH (python3). Install it and run again.');
}

function pythonEnvironment() {
  const stamp = path.join(repoRoot, '.venv', '.sft-studio-stamp');
  const hash = hashOf(['trainer/pyproject.toml', 'trainer/requirements.txt', 'trainer/constraints.txt']);
  if (existsSync(venvPython) && upToDate(stamp, hash)) return;
  step('Python environment (.venv with the trainer and its pinned dependencies)', () => {
    if (!existsSync(venvPython)) run(findSystemPython(), ['-m', 'venv', '.venv']);
    const pip = [
      '-m', 'pip', 'install', '--disable-pip-version-check', '-q',
      '-c', 'trainer/constraints.txt', '-r', 'trainer/requirements.txt',
    ];
    run(venvPython, pip);
    run(venvPython, ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', '--no-deps', '-e', 'trainer']);
  });
  writeFileSync(stamp, hash);
}

function build() {
  step('build (types from schemas, esbuild bundles)', () => {
    run(process.execPath, ['scripts/gen-types.mjs']);
    run(process.execPath, ['esbuild.mjs']);
  });
}

function modelFamilies() {
  if (modelFamiliesUpToDate()) return;
  step('model-family fixtures (publishers\' tokenizers and chat templates, tiny weights)', fetchModelFamilies);
}

function e2eTools() {
  step('end-to-end tooling (code-server, Chromium)', () => run(process.execPath, ['scripts/e2e-tools.mjs']));
}

try {
  npmDependencies();
  pythonEnvironment();
  build();
  if (withFamilies) modelFamilies();
  if (withE2e) e2eTools();
} catch (err) {
  console.error(`\n[setup] failed: ${err.message}`);
  process.exit(1);
}
