import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { configStem } from '../../src/config/configFiles';
import { createRunFolder, runFolderPath, utcTimestamp } from '../../src/runs/runFolder';
import { tempDir } from './helpers';

// 2026-03-04 05:06:07 UTC, chosen so every field has a different value and needs padding.
const when = new Date(Date.UTC(2026, 2, 4, 5, 6, 7));

test('timestamps are UTC YYYYMMDD-HHMMSS', () => {
  assert.equal(utcTimestamp(when), '20260304-050607');
  assert.equal(utcTimestamp(new Date(Date.UTC(2025, 11, 31, 23, 59, 59))), '20251231-235959');
});

test('run folder: <config dir>/<output_dir>/<run_name or config stem>-<timestamp>', () => {
  assert.equal(
    runFolderPath({ configPath: '/w/examples/tiny.sft.yaml', now: when }),
    '/w/examples/runs/tiny-20260304-050607',
  );
  assert.equal(
    runFolderPath({ configPath: '/w/examples/tiny.sft.json', runName: 'lr-sweep', outputDir: '../out', now: when }),
    '/w/out/lr-sweep-20260304-050607',
  );
  assert.equal(
    runFolderPath({ configPath: '/w/tiny.sft.yaml', outputDir: '/abs/runs', now: when }),
    '/abs/runs/tiny-20260304-050607',
  );
});

test('config stem drops the whole .sft.yaml / .sft.json suffix', () => {
  assert.equal(configStem('/a/b/my.model.sft.yaml'), 'my.model');
  assert.equal(configStem('c.SFT.JSON'), 'c');
  assert.equal(configStem('plain.yaml'), 'plain');
});

test('two runs started in the same second get distinct folders', (t) => {
  const dir = tempDir(t);
  const input = { configPath: path.join(dir, 'tiny.sft.yaml'), now: when };
  const first = createRunFolder(input);
  const second = createRunFolder(input);
  assert.equal(first, path.join(dir, 'runs', 'tiny-20260304-050607'));
  assert.equal(second, `${first}-2`);
  assert.ok(fs.statSync(second).isDirectory());
});
