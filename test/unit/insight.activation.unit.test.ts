// Activation stays cheap with the insight wiring: what src/extension.ts imports statically (what VS
// Code evaluates when it activates the extension) holds only the insight's wiring, lens and command
// argument helper. The counting code, the config validator it uses (ajv), the panels, transformers.js
// and onnxruntime-node load on first use. bench/insight.mjs measures the time; this guards the cause:
// a static import of configTokenStats from the lens once put ajv and the counting modules into
// activation (+13 ms CPU of about 46 ms).
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import * as esbuild from 'esbuild';
import { repoRoot } from './helpers';

const ALLOWED_INSIGHT = ['src/insight/registerInsight.ts', 'src/insight/insightCodeLens.ts'];
const LAZY_ONLY = [/^src\/insight\/(?!registerInsight|insightCodeLens)/, /node_modules\/ajv\//, /^src\/config\/validateConfig\.ts$/, /^src\/webviews\/(dashboardPanel|generationsPanel|judgePanel)\.ts$/];
const RUNTIME_LOADED = ['@huggingface/transformers', 'onnxruntime-node'];

test('the static import graph of activate() holds no insight counting, chat or validator code', async () => {
  // Split ESM build: the entry chunk and the chunks it imports statically are what activation evaluates.
  const result = await esbuild.build({
    absWorkingDir: repoRoot,
    entryPoints: ['src/extension.ts'],
    bundle: true,
    platform: 'node',
    format: 'esm',
    splitting: true,
    outdir: path.join(repoRoot, 'out', 'activation-graph'),
    write: false,
    metafile: true,
    external: ['vscode', ...RUNTIME_LOADED],
    loader: { '.json': 'json' },
    logLevel: 'silent',
  });
  const outputs = result.metafile.outputs;
  const entry = Object.keys(outputs).find((file) => outputs[file].entryPoint === 'src/extension.ts');
  assert.ok(entry, 'the build has an entry chunk for src/extension.ts');
  const reached = new Set<string>();
  const pending = [entry];
  const staticExternals = new Set<string>();
  while (pending.length > 0) {
    const file = pending.pop() as string;
    if (reached.has(file)) continue;
    reached.add(file);
    for (const imported of outputs[file].imports) {
      if (imported.kind !== 'import-statement') continue;
      if (imported.external) staticExternals.add(imported.path);
      else pending.push(imported.path);
    }
  }
  const inputs = [...reached].flatMap((file) => Object.keys(outputs[file].inputs));
  const insight = inputs.filter((input) => input.startsWith('src/insight/')).sort();
  assert.deepEqual(insight, [...ALLOWED_INSIGHT].sort(), 'insight modules evaluated at activation');
  const eager = inputs.filter((input) => LAZY_ONLY.some((pattern) => pattern.test(input)));
  assert.deepEqual(eager, [], 'modules that must load on first use only');
  assert.deepEqual([...staticExternals].filter((name) => RUNTIME_LOADED.includes(name)), []);
  // The lazy parts really are in the build (the check above is not vacuous).
  const all = Object.values(outputs).flatMap((output) => Object.keys(output.inputs));
  for (const lazy of ['src/insight/configTokenStats.ts', 'src/insight/onnxChat.ts', 'src/insight/tokensPanel.ts', 'src/insight/chatPanel.ts', 'src/config/validateConfig.ts']) {
    assert.ok(all.includes(lazy), `${lazy} is in a lazily loaded chunk`);
  }
});
