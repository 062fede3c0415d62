#!/usr/bin/env node
// Rewrites the case table of test/bad-input/README.md from what the cases actually produce: runs the TypeScript
// half (test/unit/badInput.unit.test.ts, bundled here on its own so the shared out/test/unit is left alone) and
// the Python half (trainer/tests/test_bad_input_corpus.py) with BAD_INPUT_REPORT set, then writes one row per case.
// Both halves have a test that fails when a row no longer says what its case produces.
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hasVenv, repoRoot, venvPython } from '../../scripts/lib.mjs';

const corpus = path.join(repoRoot, 'test', 'bad-input');
const categories = ['config', 'dataset', 'events', 'judge', 'tokenizer', 'webview'];
const START = '<!-- cases:start (written by update-readme.mjs) -->';
const END = '<!-- cases:end -->';

function runHalves(reports) {
  // Three levels below the repository root, as the unit tests expect (out/<folder>/unit).
  const outdir = path.join(repoRoot, 'out', 'bad-input', 'unit');
  esbuild.buildSync({
    entryPoints: [path.join(repoRoot, 'test', 'unit', 'badInput.unit.test.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    loader: { '.json': 'json' },
    outdir,
    logLevel: 'warning',
  });
  const env = (file) => ({ ...process.env, BAD_INPUT_REPORT: file });
  // Failing cases still report what they produced; the exit codes are the tests' business, not this script's.
  spawnSync(process.execPath, ['--test', outdir], { cwd: repoRoot, env: env(reports.ts), stdio: 'ignore' });
  if (!hasVenv()) throw new Error('No .venv: run `npm run setup` first (the Python cases need the trainer).');
  spawnSync(venvPython, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'trainer/tests/test_bad_input_corpus.py'], {
    cwd: repoRoot,
    env: env(reports.py),
    stdio: 'ignore',
  });
  return { ...JSON.parse(readFileSync(reports.ts, 'utf8')), ...JSON.parse(readFileSync(reports.py, 'utf8')) };
}

const code = (text) => (text ? `\`\` ${text.replace(/\|/g, '\\|')} \`\`` : '');

function table(cases, outcomes) {
  const lines = [
    '| # | case | entry point | input | result | message | note |',
    '|---|------|-------------|-------|--------|---------|------|',
  ];
  cases.forEach((c, i) => {
    const outcome = outcomes[c.id];
    if (!outcome) throw new Error(`no outcome for ${c.id}: did its half run?`);
    const input = c.generate || c.tokenizer ? `${c.input} (made by the runner)` : `[${c.input}](inputs/${c.input})`;
    const note = c.xfail ? `**xfail**: ${c.xfail.replace(/\|/g, '\\|')}` : '';
    lines.push(`| ${i + 1} | \`${c.id}\` | ${c.entry} | ${input} | ${outcome.kind} | ${code(outcome.message)} | ${note} |`);
  });
  return lines.join('\n');
}

function counts(cases) {
  const lines = ['| category | cases | TypeScript | Python | xfail |', '|----------|------:|-----------:|-------:|------:|'];
  for (const category of categories) {
    const of = cases.filter((c) => c.category === category);
    const ts = of.filter((c) => c.entry.startsWith('ts-')).length;
    lines.push(`| ${category} | ${of.length} | ${ts} | ${of.length - ts} | ${of.filter((c) => c.xfail).length} |`);
  }
  lines.push(`| **all** | **${cases.length}** | | | **${cases.filter((c) => c.xfail).length}** |`);
  return lines.join('\n');
}

const cases = categories.flatMap((category) =>
  JSON.parse(readFileSync(path.join(corpus, 'cases', `${category}.json`), 'utf8')).map((c) => ({ ...c, category })),
);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'sft-bad-input-report-'));
try {
  const outcomes = runHalves({ ts: path.join(tmp, 'ts.json'), py: path.join(tmp, 'py.json') });
  const readmePath = path.join(corpus, 'README.md');
  const readme = readFileSync(readmePath, 'utf8');
  const [before, rest] = readme.split(START);
  const after = rest?.split(END)[1];
  if (after === undefined) throw new Error(`README.md has no ${START} … ${END} block`);
  writeFileSync(readmePath, `${before}${START}\n${counts(cases)}\n\n${table(cases, outcomes)}\n${END}${after}`);
  console.log(`README.md: ${cases.length} cases`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
