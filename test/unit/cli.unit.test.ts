import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main';
import { fixtures, repoRoot } from './helpers';

async function run(args: string[]) {
  let out = '';
  let err = '';
  const code = await main(args, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

test('validate: a valid config exits 0 and prints nothing but the JSON line', async () => {
  const r = await run(['validate', path.join(fixtures, 'configs', 'valid.sft.yaml'), '--json']);
  assert.equal(r.code, 0);
  assert.equal(r.out, '{"valid":true,"errors":[]}\n');
});

test('validate: errors as path:line:col lines, exit 2, JSON summary last', async () => {
  const file = path.join(fixtures, 'configs', 'broken.sft.yaml');
  const r = await run(['validate', file, '--json']);
  assert.equal(r.code, 2);
  const lines = r.out.trimEnd().split('\n');
  assert.equal(lines.length, 6);
  assert.equal(lines[1], `${file}:3:1: unknown field "learning_rat"; did you mean "learning_rate"?`);
  const summary = JSON.parse(lines[5]);
  assert.equal(summary.valid, false);
  assert.equal(summary.errors.length, 5);
  assert.deepEqual(summary.errors[3], { path: file, line: 5, column: 13, message: 'max_length must be >= 8; got 4', field: 'max_length' });
});

test('validate: a missing file and bad usage', async () => {
  const missing = await run(['validate', 'nope.sft.yaml']);
  assert.equal(missing.code, 2);
  assert.equal(missing.out, 'nope.sft.yaml:1:1: cannot read config: not found\n');
  assert.equal((await run(['validate'])).code, 1);
  const unknown = await run(['train']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.err, /unknown command "train"/);
});

test('dist/cli.js runs as an executable with a shebang (after npm run build)', (t) => {
  const cli = path.join(repoRoot, 'dist', 'cli.js');
  if (!fs.existsSync(cli)) {
    t.skip('dist/cli.js not built');
    return;
  }
  assert.ok(fs.readFileSync(cli, 'utf8').startsWith('#!/usr/bin/env node'));
  const ok = execFileSync(cli, ['validate', path.join(fixtures, 'configs', 'valid.sft.json'), '--json'], { encoding: 'utf8' });
  assert.equal(ok.trim().split('\n').pop(), '{"valid":true,"errors":[]}');
  const bad = spawnSync(process.execPath, [cli, 'validate', path.join(fixtures, 'configs', 'broken.sft.yaml')], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
});
