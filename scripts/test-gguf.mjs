#!/usr/bin/env node
// The optional llama.cpp suite (npm run test:gguf): GGUF exports loaded by llama.cpp must answer like PyTorch
// (trainer/tests/test_export_gguf_llamacpp.py). llama.cpp comes from node-llama-cpp's prebuilt CPU binary,
// installed once into .cache/gguf-check (not a project dependency: about 60 MB with the one platform binary,
// over 700 MB with all its optional GPU builds). Install scripts stay off, so nothing is ever compiled here.
// `npm test` covers the converter without llama.cpp (trainer/tests/test_export_gguf.py).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, venvPython, hasVenv } from './lib.mjs';

const VERSION = '3.22.1';
const BINARIES = {
  'linux-x64': 'linux-x64', 'linux-arm64': 'linux-arm64', 'darwin-arm64': 'mac-arm64-metal',
  'darwin-x64': 'mac-x64', 'win32-x64': 'win-x64', 'win32-arm64': 'win-arm64',
};

if (!hasVenv()) {
  console.error('No .venv yet: run `npm run setup` (or `npm test`, which sets up first).');
  process.exit(1);
}
const binary = BINARIES[`${process.platform}-${process.arch}`];
if (!binary) {
  console.error(`node-llama-cpp ships no prebuilt llama.cpp for ${process.platform}-${process.arch}; this suite needs one.`);
  process.exit(1);
}
const dir = path.join(repoRoot, '.cache', 'gguf-check');
const wanted = { 'node-llama-cpp': VERSION, [`@node-llama-cpp/${binary}`]: VERSION };
if (!installed(dir, wanted)) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'gguf-check', private: true }) + '\n');
  console.log(`installing node-llama-cpp ${VERSION} (${binary} binary) into ${dir}`);
  const npm = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--omit=optional',
    ...Object.entries(wanted).map(([name, v]) => `${name}@${v}`)],
  { stdio: 'inherit', cwd: dir, shell: process.platform === 'win32' });
  if (npm.status !== 0) process.exit(npm.status ?? 1);
}
const result = spawnSync(
  venvPython,
  ['-m', 'pytest', 'trainer/tests/test_export_gguf_llamacpp.py', '-q', '-s', ...process.argv.slice(2)],
  { stdio: 'inherit', cwd: repoRoot, env: { ...process.env, NODE_LLAMA_CPP_DIR: dir } },
);
process.exit(result.status ?? 1);

function installed(folder, packages) {
  return Object.entries(packages).every(([name, version]) => {
    const manifest = path.join(folder, 'node_modules', ...name.split('/'), 'package.json');
    return existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).version === version;
  });
}
