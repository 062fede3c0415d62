// Builds the extension host bundle, the headless CLI, one browser bundle per webview panel and,
// with --tests, the unit tests. Flags: --production (minify), --watch, --tests.
import * as esbuild from 'esbuild';
import { chmod, readdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';

const args = new Set(process.argv.slice(2));
const production = args.has('--production');
const watch = args.has('--watch');
const tests = args.has('--tests');

const common = {
  bundle: true,
  sourcemap: true,
  minify: production,
  logLevel: 'info',
  // JSON schemas are imported from schema/ so the bundle and the trainer read one file.
  loader: { '.json': 'json' },
};

const nodeTarget = { platform: 'node', format: 'cjs', target: 'node20' };

// Required from node_modules at run time: transformers.js loads onnxruntime-node's native binary
// (which cannot be bundled) and is itself only loaded when token insight or chat is first used.
const runtimeLoaded = ['@huggingface/transformers', 'onnxruntime-node'];

async function webviewEntries() {
  const dir = 'webview';
  const panels = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory() && existsSync(path.join(dir, entry.name, 'main.ts'))) {
      panels.push(entry.name);
    }
  }
  return Object.fromEntries(panels.map((p) => [p, path.join(dir, p, 'main.ts')]));
}

async function findTests(dir) {
  const found = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await findTests(full)));
    else if (entry.name.endsWith('.test.ts')) found.push(full);
  }
  return found;
}

function buildOptions() {
  return [
    {
      ...common,
      ...nodeTarget,
      entryPoints: { extension: 'src/extension.ts' },
      outdir: 'dist',
      external: ['vscode', ...runtimeLoaded],
    },
    {
      ...common,
      ...nodeTarget,
      entryPoints: { cli: 'src/cli.ts' },
      outdir: 'dist',
      external: runtimeLoaded,
      banner: { js: '#!/usr/bin/env node' },
    },
  ];
}

async function webviewOptions() {
  return {
    ...common,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    entryPoints: await webviewEntries(),
    outdir: 'dist/webview',
  };
}

async function testOptions() {
  // Flat output (out/test/unit/<name>.test.js) so `node --test out/test/unit/` finds every file.
  const entries = await findTests('test/unit');
  return {
    ...common,
    ...nodeTarget,
    entryPoints: Object.fromEntries(entries.map((f) => [path.basename(f, '.ts'), f])),
    outdir: 'out/test/unit',
    // Dependencies load from node_modules at run time; bundling them would only slow the tests.
    packages: 'external',
  };
}

if (tests) {
  await rm('out/test/unit', { recursive: true, force: true });
  await esbuild.build(await testOptions());
} else {
  const options = [...buildOptions(), await webviewOptions()];
  if (watch) {
    for (const o of options) await (await esbuild.context(o)).watch();
  } else {
    await Promise.all(options.map((o) => esbuild.build(o)));
    await chmod('dist/cli.js', 0o755);
  }
}
