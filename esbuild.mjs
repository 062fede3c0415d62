// Builds the extension host bundle, the headless CLI, one browser bundle per webview panel and,
// with --tests, the unit tests and the integration tests (run inside VS Code by test/integration/run.mjs).
// Flags: --production (minify), --watch, --tests.
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
// openai (about 1 MB) and ajv (about 270 KB with fast-uri) are plain JavaScript, but bundled, V8 would
// parse them at every activation (~40 ms of the ~90 ms measured in code-server), while only a judge run
// against an OpenAI-compatible endpoint and a config's validation need them: modules that load on first use.
const runtimeLoaded = ['@huggingface/transformers', 'onnxruntime-node', 'openai', 'ajv'];

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
    insightWorkerOptions('dist'),
  ];
}

// Token statistics run in a worker_threads Worker started from dist/insightWorker.js (src/insight/
// tokenStatsWorker.ts), so the extension host's event loop never waits on a dataset.
function insightWorkerOptions(outdir) {
  return { ...common, ...nodeTarget, entryPoints: { insightWorker: 'src/insight/insightWorker.ts' }, outdir, external: runtimeLoaded };
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

async function integrationTestOptions() {
  // out/test/index.js is the extensionTestsPath; it runs every out/test/integration/*.integration.test.js.
  // 'vscode' and mocha stay external: the extension host provides the first, node_modules the second
  // (one mocha instance, so the tests' `import { suite, test } from 'mocha'` bind to the runner's).
  const entries = (await findTests('test/integration')).filter((f) => f.endsWith('.integration.test.ts'));
  return {
    ...common,
    ...nodeTarget,
    entryPoints: {
      index: 'test/integration/index.ts',
      ...Object.fromEntries(entries.map((f) => [`integration/${path.basename(f, '.ts')}`, f])),
    },
    outdir: 'out/test',
    packages: 'external',
  };
}

if (tests) {
  for (const stale of ['out/test/unit', 'out/test/integration', 'out/test/index.js', 'out/test/index.js.map']) {
    await rm(stale, { recursive: true, force: true });
  }
  // The worker lands in out/, outside the folder `node --test` scans; unit tests start it from there.
  await Promise.all([esbuild.build(await testOptions()), esbuild.build(await integrationTestOptions()), esbuild.build(insightWorkerOptions('out'))]);
} else {
  const options = [...buildOptions(), await webviewOptions()];
  if (watch) {
    for (const o of options) await (await esbuild.context(o)).watch();
  } else {
    await Promise.all(options.map((o) => esbuild.build(o)));
    await chmod('dist/cli.js', 0o755);
  }
}
