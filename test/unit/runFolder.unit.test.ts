import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { configStem, isRunConfigPath } from '../../src/config/configFiles';
import { createRunFolder, runFolderName, runFolderPath, utcTimestamp } from '../../src/runs/runFolder';
import { fixtures, tempDir } from './helpers';

// The cases the trainer is tested on too (trainer/tests/test_run_folder.py): one rule, schema/run-folder-naming.json.
const cases = JSON.parse(fs.readFileSync(path.join(fixtures, 'run-folder-naming.cases.json'), 'utf8')) as {
  configs: { file: string; is_config: boolean; stem: string }[];
  folders: { name: string; utc: string; folder: string }[];
  taken: { folder: string; existing: string[]; chosen: string }[];
};

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

test('run configs and their stems, as the trainer has them (shared cases)', () => {
  for (const { file, is_config, stem } of cases.configs) {
    assert.equal(isRunConfigPath(file), is_config, file);
    assert.equal(configStem(file), stem, file);
  }
});

test('run folder names, as the trainer makes them (shared cases)', () => {
  for (const { name, utc, folder } of cases.folders) assert.equal(runFolderName(name, new Date(utc)), folder);
});

test('a folder that exists is not reused: -2, -3, … (shared cases)', (t) => {
  for (const [i, { folder, existing, chosen }] of cases.taken.entries()) {
    const parent = path.join(tempDir(t), String(i));
    for (const name of existing) fs.mkdirSync(path.join(parent, 'runs', name), { recursive: true });
    const when = new Date(Date.UTC(2026, 2, 4, 5, 6, 7));
    assert.equal(runFolderName('tiny', when), folder);
    assert.equal(createRunFolder({ configPath: path.join(parent, 'tiny.sft.yaml'), now: when }), path.join(parent, 'runs', chosen));
  }
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
