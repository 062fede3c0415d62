#!/usr/bin/env node
// Runs the project's .venv Python with the given arguments (used by npm scripts, portable across OSes).
import { spawnSync } from 'node:child_process';
import { repoRoot, venvPython, hasVenv } from './lib.mjs';

if (!hasVenv()) {
  console.error('No .venv yet: run `npm run setup` (or `npm test` / `npm run demo`, which set up first).');
  process.exit(1);
}
const result = spawnSync(venvPython, process.argv.slice(2), { stdio: 'inherit', cwd: repoRoot });
process.exit(result.status ?? 1);
