import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { comparisonMarkdown, configText, differingFields, readOutcome } from '../../src/commands/compareRuns';
import { tempDir } from './helpers';

function writeRun(root: string, name: string, config: Record<string, unknown>, events: object[], tail = ''): string {
  const runDir = path.join(root, name);
  fs.mkdirSync(runDir, { recursive: true });
  fs.writeFileSync(path.join(runDir, 'config.resolved.json'), JSON.stringify(config));
  fs.writeFileSync(path.join(runDir, 'events.jsonl'), events.map((e) => JSON.stringify(e)).join('\n') + '\n' + tail);
  return runDir;
}

test('only the fields that differ are listed; names and folders never count', () => {
  const a = { learning_rate: 1e-4, lora_r: 8, output_dir: '/a', run_name: 'a', seed: 1 };
  const b = { learning_rate: 3e-4, lora_r: 8, output_dir: '/b', run_name: 'b', seed: 1, warmup_ratio: 0.1 };
  assert.deepEqual(differingFields([a, b]), ['learning_rate', 'warmup_ratio']);
  assert.equal(configText({ b: 1, a: { x: [1, 2] } }), 'a: {"x":[1,2]}\nb: 1\n');
});

test('outcomes come from the events, a torn last line is skipped, and the best eval loss is bold', async (t) => {
  const root = tempDir(t);
  const one = writeRun(root, 'one', { learning_rate: 1e-4, lora_r: 8 }, [
    { type: 'train', step: 10, loss: 1.5 },
    { type: 'eval', step: 10, loss: 1.25 },
    { type: 'train', step: 20, loss: 1.0 },
    { type: 'eval', step: 20, loss: 0.9 },
    { type: 'run_finished', step: 20, status: 'completed', reason: 'early_stopped', best_metric: 0.9, best_step: 20, metric_for_best_model: 'loss', train_runtime_s: 61.4 },
  ]);
  const two = writeRun(root, 'two', { learning_rate: 3e-4, lora_r: 8 }, [{ type: 'train', step: 5, loss: 2.0 }, { type: 'eval', step: 5, loss: 1.7 }], '{"type": "eval", "step": 9, "lo');
  const outcomes = [await readOutcome(one, 'one'), await readOutcome(two, 'two')];
  assert.equal(outcomes[0].evalLoss, 0.9);
  assert.equal(outcomes[0].endReason, 'early_stopped');
  assert.equal(outcomes[1].step, 5, 'the torn line is not read');
  const report = comparisonMarkdown(outcomes);
  assert.match(report, /## 1 field differ/);
  assert.match(report, /\| `learning_rate` \| 0\.0001 \| 0\.0003 \|/);
  assert.match(report, /\| last eval loss \| \*\*0\.9000\*\* \| 1\.7000 \|/);
  assert.match(report, /\| state \| completed \(early stop\) \| running \|/);
  assert.match(report, /\| best \(metric @ step\) \| loss 0\.9000 @ 20 \| – \|/);
  assert.match(report, /\| training time \| 61 s \| – \|/);
});

test('a run without a resolved config is named in the error', async (t) => {
  const root = tempDir(t);
  await assert.rejects(readOutcome(path.join(root, 'ghost'), 'ghost'), /ghost[/\\]config\.resolved\.json: missing \(the run never started\)/);
});
