#!/usr/bin/env node
// The long fault-injection sweep (npm run test:faults): every checkpoint phase of every save, torn events all
// through the run and seeded outside kills, each followed by a resume that must match an uninterrupted run.
// `npm test` runs the same file with its short default selection.
import { spawnSync } from 'node:child_process';
import { repoRoot, venvPython, hasVenv } from './lib.mjs';

if (!hasVenv()) {
  console.error('No .venv yet: run `npm run setup` (or `npm test`, which sets up first).');
  process.exit(1);
}
const result = spawnSync(
  venvPython,
  ['-m', 'pytest', 'trainer/tests/test_fault_injection.py', '-q', ...process.argv.slice(2)],
  { stdio: 'inherit', cwd: repoRoot, env: { ...process.env, SFT_STUDIO_FAULTS: 'long' } },
);
process.exit(result.status ?? 1);
