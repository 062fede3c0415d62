import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './helpers';

test('checked-in generated types match the schemas (run `npm run gen:types` if this fails)', async () => {
  // A computed specifier keeps esbuild from bundling the script: the test runs the real generator.
  const script = pathToFileURL(path.join(repoRoot, 'scripts', 'gen-types.mjs')).href;
  const { generateTypes } = (await import(script)) as { generateTypes(): Promise<Record<string, string>> };
  const files = await generateTypes();
  assert.deepEqual(Object.keys(files).sort(), [
    'src/protocol/generated/events.ts',
    'src/protocol/generated/runConfig.ts',
    'src/protocol/generated/runDirectory.ts',
  ]);
  for (const [file, text] of Object.entries(files)) {
    assert.ok(text.startsWith('// generated, do not edit'), `${file} has the banner`);
    assert.equal(fs.readFileSync(path.join(repoRoot, file), 'utf8'), text, `${file} is stale`);
  }
});
