#!/usr/bin/env node
// Builds platform-specific VSIX files: each carries only its platform's onnxruntime-node binary and sharp
// build, and only what runs (the production bundle, the trainer package, schemas, media, examples).
//
// Usage: node scripts/package.mjs [--target linux-x64 ...] [--out DIR]
//   default target: this machine's platform. A target whose native packages (sharp's @img/sharp-<target>)
//   are not installed here is refused with the command that installs them.
//
// vsce is installed on first use into .cache/package-tools (git-ignored), so packaging never adds to the
// extension's own dependencies or to `npm ci`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const VSCE_VERSION = '4.1.0';
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const toolsDir = path.join(repoRoot, '.cache', 'package-tools');
const vsceBin = path.join(toolsDir, 'node_modules', '.bin', 'vsce');

/** VS Code's target names, and onnxruntime-node's folder for each. */
export const TARGETS = {
  'linux-x64': ['linux', 'x64'],
  'linux-arm64': ['linux', 'arm64'],
  'darwin-arm64': ['darwin', 'arm64'],
  'win32-x64': ['win32', 'x64'],
  'win32-arm64': ['win32', 'arm64'],
};

function log(message) {
  process.stderr.write(`[package] ${message}\n`);
}

function run(cmd, args, options = {}) {
  log(`$ ${[cmd, ...args].join(' ')}`);
  const result = spawnSync(cmd, args, { stdio: 'inherit', cwd: repoRoot, ...options });
  if (result.status !== 0) throw new Error(`${cmd} exited with ${result.status ?? result.signal}`);
}

function ensureVsce() {
  if (fs.existsSync(vsceBin)) return;
  fs.mkdirSync(toolsDir, { recursive: true });
  fs.writeFileSync(path.join(toolsDir, 'package.json'), JSON.stringify({ name: 'sft-studio-package-tools', private: true }, null, 2));
  run('npm', ['install', '--no-audit', '--no-fund', `@vscode/vsce@${VSCE_VERSION}`], { cwd: toolsDir });
}

/** What this target leaves out on top of .vscodeignore: the other platforms' native code, and onnxruntime-web
 * (transformers.js's Node build carries its own copy of it; the package is for browsers). */
export function targetIgnores(target) {
  const lines = ['node_modules/onnxruntime-web/**'];
  for (const [other, [otherOs, otherArch]] of Object.entries(TARGETS)) {
    if (other === target) continue;
    lines.push(`node_modules/onnxruntime-node/bin/napi-v*/${otherOs}/${otherArch}/**`);
    lines.push(`node_modules/@img/sharp-${otherOs}-${otherArch}/**`, `node_modules/@img/sharp-libvips-${otherOs}-${otherArch}/**`);
  }
  return lines;
}

function missingNative(target) {
  const [osName, arch] = TARGETS[target];
  const sharp = path.join(repoRoot, 'node_modules', '@img', `sharp-${osName}-${arch}`);
  const onnx = path.join(repoRoot, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', osName, arch);
  return [sharp, onnx].filter((p) => !fs.existsSync(p));
}

function main() {
  const args = process.argv.slice(2);
  const outIndex = args.indexOf('--out');
  const outDir = path.resolve(outIndex >= 0 ? args[outIndex + 1] : path.join(repoRoot, 'dist-vsix'));
  const targets = args.flatMap((a, i) => (args[i - 1] === '--target' ? [a] : []));
  if (targets.length === 0) targets.push(`${process.platform}-${process.arch}`);
  for (const target of targets) {
    if (!TARGETS[target]) throw new Error(`unknown target ${target}; use one of ${Object.keys(TARGETS).join(', ')}`);
    const missing = missingNative(target);
    if (missing.length > 0) {
      const [osName, arch] = TARGETS[target];
      throw new Error(`${target}: not installed here: ${missing.map((p) => path.relative(repoRoot, p)).join(', ')}; ` +
        `install them with \`npm install --no-save --os=${osName} --cpu=${arch}\` (or package on a ${target} machine)`);
    }
  }
  ensureVsce();
  run(process.execPath, ['esbuild.mjs', '--production']);
  fs.mkdirSync(outDir, { recursive: true });
  const version = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version;
  const base = fs.readFileSync(path.join(repoRoot, '.vscodeignore'), 'utf8');
  for (const target of targets) {
    const ignoreFile = path.join(os.tmpdir(), `sft-studio-vscodeignore-${target}-${process.pid}`);
    fs.writeFileSync(ignoreFile, `${base}\n# ${target} only\n${targetIgnores(target).join('\n')}\n`);
    const out = path.join(outDir, `sft-studio-${target}-${version}.vsix`);
    try {
      // README links stay relative: a local VSIX shows them from the installed folder, and the project
      // has no public repository URL to rewrite them against.
      run(vsceBin, ['package', '--target', target, '--ignoreFile', ignoreFile, '--no-rewrite-relative-links',
        '--allow-missing-repository', '--skip-license', '--out', out]);
    } finally {
      fs.rmSync(ignoreFile, { force: true });
    }
    log(`${target}: ${path.relative(repoRoot, out)}, ${(fs.statSync(out).size / 1e6).toFixed(1)} MB`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (error) {
    log(`error: ${error.message}`);
    process.exit(1);
  }
}
