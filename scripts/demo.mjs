#!/usr/bin/env node
// `npm run demo`: trains the embedded tiny model on the bundled data on CPU, then summarises what it
// learned from the run's own events.jsonl (the same file the extension reads).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, venvPython } from './lib.mjs';

const config = path.join('examples', 'demo.sft.yaml');
const extra = process.argv.slice(2).flatMap((kv) => ['--set', kv]);

function readEvents(runDir) {
  return readFileSync(path.join(runDir, 'events.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line));
}

function fmt(x, digits = 4) {
  return typeof x === 'number' ? x.toFixed(digits) : 'n/a';
}

function summarise(runDir) {
  const events = readEvents(runDir);
  const started = events.find((e) => e.type === 'run_started');
  const finished = events.findLast((e) => e.type === 'run_finished');
  const train = events.filter((e) => e.type === 'train');
  const evals = events.filter((e) => e.type === 'eval');
  const before = evals[0];
  const after = evals.at(-1);
  const lines = [
    '',
    '──────── SFT Studio demo: summary ────────',
    `status          ${finished?.status ?? 'unknown'}`,
    `model           ${started?.config?.model_name_or_path ?? '?'} (${started?.trainable_parameters?.toLocaleString()} trainable parameters)`,
    `steps           ${train.at(-1)?.step ?? 0} on ${started?.device ?? '?'}`,
    `train loss      ${fmt(train[0]?.loss)} → ${fmt(train.at(-1)?.loss)}`,
    `eval loss       ${fmt(before?.loss)} → ${fmt(after?.loss)}`,
    `token accuracy  ${fmt(before?.token_accuracy, 3)} → ${fmt(after?.token_accuracy, 3)}`,
    `exact match     ${fmt(before?.exact_match, 3)} → ${fmt(after?.exact_match, 3)}  (held-out prompts, greedy)`,
    `training time   ${started && finished ? (finished.time - started.time).toFixed(1) : '?'} s (run_started → run_finished)`,
    `run directory   ${path.relative(process.cwd(), runDir) || runDir}`,
  ];
  const lastGenerations = events.filter((e) => e.type === 'generation' && e.step === after?.step).slice(0, 4);
  if (lastGenerations.length) {
    lines.push('', 'sample generations after training:');
    for (const g of lastGenerations) {
      const mark = g.reference === undefined ? ' ' : g.completion.trim() === g.reference.trim() ? '✓' : '✗';
      lines.push(`  ${mark} ${JSON.stringify(g.prompt)} → ${JSON.stringify(g.completion)}`);
    }
  }
  console.log(lines.join('\n'));
  return finished?.status === 'completed';
}

const child = spawn(venvPython, ['-m', 'sft_studio', 'train', config, ...extra], {
  cwd: repoRoot,
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, PYTHONUNBUFFERED: '1' },
});
let runDir = null;
let pending = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  pending += chunk.toString();
  const match = pending.match(/^run directory: (.+)$/m);
  if (match && !runDir) runDir = match[1].trim();
});
process.on('SIGINT', () => child.kill('SIGINT'));
child.on('exit', (code) => {
  if (!runDir) {
    console.error('\nThe trainer did not start a run (see the messages above).');
    process.exit(code || 1);
  }
  const ok = summarise(runDir);
  process.exit(code === 0 && ok ? 0 : code || 1);
});
