// Only checkpoints the trainer marked complete (complete.json, written last) are offered for chat, export and
// resume: a step-N folder without its marker may lack files.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { latestCheckpoint, listCheckpoints } from '../../src/runs/checkpoints';
import { tempDir } from './helpers';

function checkpoint(runDir: string, name: string, marker?: string): void {
  const folder = path.join(runDir, 'checkpoints', name);
  fs.mkdirSync(folder, { recursive: true });
  fs.writeFileSync(path.join(folder, 'model.safetensors'), 'weights');
  if (marker !== undefined) fs.writeFileSync(path.join(folder, 'complete.json'), marker);
}

test('a checkpoint folder without its completeness marker is not listed', (t) => {
  const runDir = tempDir(t);
  const marker = (step: number) => JSON.stringify({ format: 1, step, files: { 'model.safetensors': { size: 7, sha256: 'x' } } });
  checkpoint(runDir, 'step-10', marker(10));
  checkpoint(runDir, 'step-20', marker(20));
  checkpoint(runDir, 'step-30'); // copied in part, or cut off before its marker
  checkpoint(runDir, 'step-40', ''); // a marker that was never written out
  checkpoint(runDir, '.tmp-step-50-123', marker(50));
  fs.mkdirSync(path.join(runDir, 'checkpoints', 'step-60', 'complete.json'), { recursive: true });
  assert.deepEqual(listCheckpoints(runDir).map((c) => c.step), [10, 20]);
  assert.equal(latestCheckpoint(runDir)?.path, path.join(runDir, 'checkpoints', 'step-20'));
});
