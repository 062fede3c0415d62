#!/usr/bin/env node
// End-to-end tests: the real VS Code workbench (code-server) with this extension, driven by Chromium
// through playwright-core. One code-server serves all scenarios; the demo workspace is copied into
// test/e2e/.work/ so runs never dirty examples/.
//
// Usage: node test/e2e/run.mjs [--scenario TEXT] [--keep] [--headed]
//   --scenario TEXT  only scenarios whose name contains TEXT
//   --keep           keep test/e2e/.work/<session> even when everything passed
//   --headed         show the browser (needs a display)
//   --vsix FILE      install this packaged extension (scripts/package.mjs) instead of linking the repo
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { ensureE2eTools } from '../../scripts/e2e-tools.mjs';
import { repoRoot, startCodeServer, tail } from './codeServer.mjs';
import demoRun from './scenarios/demoRun.mjs';
import configLanguage from './scenarios/configLanguage.mjs';
import stopResumeReload from './scenarios/stopResumeReload.mjs';
import insight from './scenarios/insight.mjs';
import untrusted from './scenarios/untrusted.mjs';
import fastLiveRun from './scenarios/fastLiveRun.mjs';
import sweepQueue from './scenarios/sweepQueue.mjs';
import compareTrials from './scenarios/compareTrials.mjs';
import { runFolders, signalTrainers, stopTrainers } from './trainers.mjs';

// In the order they run. sweepQueue (6 trials through the queue) runs only with --scenario, for the suite's
// time budget; fastLiveRun (a 200 events/s run followed live, about 20 s) runs by default.
// compareTrials reuses sweepQueue's trials when both run (`--scenario sweep`), else trains a 2-trial sweep itself.
const ordered = [demoRun, configLanguage, stopResumeReload, insight, untrusted, sweepQueue, compareTrials, fastLiveRun];
const optional = new Set([sweepQueue]);
const scenarios = ordered.filter((s) => !optional.has(s));

const e2eDir = path.join(repoRoot, 'test', 'e2e');
const workRoot = path.join(e2eDir, '.work');
const artifactsDir = path.join(e2eDir, 'artifacts');
const examplesDir = path.join(repoRoot, 'examples');
const venvPython = path.join(repoRoot, '.venv', 'bin', 'python');
// Short runs keep the suite within its time budget; the demo config's own values are for people.
const runOverrides = ['max_steps=30', 'eval_steps=15'];

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function log(message) {
  process.stdout.write(`[e2e] ${message}\n`);
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    newest = Math.max(newest, fs.statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** Rebuilds dist/ when it is missing or older than the sources, so the test never runs stale code. */
function ensureBuilt() {
  const bundle = path.join(repoRoot, 'dist', 'extension.js');
  const sources = ['src', 'webview', 'schema'].map((d) => path.join(repoRoot, d)).filter((d) => fs.existsSync(d));
  const built = fs.existsSync(bundle) ? fs.statSync(bundle).mtimeMs : 0;
  if (built > 0 && sources.every((d) => newestMtime(d) <= built)) return;
  log('building the extension (dist/ is missing or older than the sources)');
  for (const script of ['scripts/gen-types.mjs', 'esbuild.mjs']) {
    const result = spawnSync(process.execPath, [script], { cwd: repoRoot, stdio: 'inherit' });
    if (result.status !== 0) throw new Error(`node ${script} failed; fix the build before running the e2e tests`);
  }
}

/** Copies examples/ (without its runs) into a fresh session folder. */
function prepareSession() {
  // Sessions are unique (time + pid), so two runs at once never share a folder; a failed run's session
  // is kept for inspection and removed by a later run once it is a day old.
  const dayAgo = Date.now() - 24 * 3600_000;
  for (const old of fs.existsSync(workRoot) ? fs.readdirSync(workRoot) : []) {
    const dir = path.join(workRoot, old);
    if (fs.statSync(dir).mtimeMs < dayAgo) fs.rmSync(dir, { recursive: true, force: true });
  }
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  const session = path.join(workRoot, `${stamp}-${process.pid}`);
  const workspace = path.join(session, 'workspace');
  const skip = new Set([path.join(examplesDir, 'runs')]);
  fs.cpSync(examplesDir, workspace, { recursive: true, filter: (src) => !skip.has(src) });
  fs.mkdirSync(artifactsDir, { recursive: true });
  return { session, workspace };
}

function newestFile(dir, name) {
  let best;
  try {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
      if (!entry.isFile() || entry.name !== name) continue;
      const full = path.join(entry.parentPath, entry.name);
      const mtime = fs.statSync(full).mtimeMs;
      if (!best || mtime > best.mtime) best = { full, mtime };
    }
  } catch {
    return undefined;
  }
  return best?.full;
}

function withTimeout(promise, ms, onTimeout) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`scenario timed out after ${ms / 1000} s`));
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function slug(name) {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

async function runScenario(scenario, { context, server, workspace }) {
  const started = Date.now();
  const page = await context.newPage();
  let currentStep = 'start';
  const t = {
    page,
    server,
    workspace,
    step(text) {
      currentStep = text;
      log(`  [${((Date.now() - started) / 1000).toFixed(1)} s] ${text}`);
    },
    async screenshot(name) {
      await page.screenshot({ path: path.join(artifactsDir, name) });
      log(`  screenshot ${path.relative(repoRoot, path.join(artifactsDir, name))}`);
    },
  };
  log(`▶ ${scenario.name}`);
  try {
    await withTimeout(scenario.run(t), scenario.timeoutMs, () => {});
    log(`✔ ${scenario.name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    return true;
  } catch (error) {
    log(`✘ ${scenario.name} failed at "${currentStep}" after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    log(`  ${error.stack ?? error}`);
    const shot = path.join(artifactsDir, `${slug(scenario.name)}-failure.png`);
    await page
      .screenshot({ path: shot, timeout: 10_000 })
      .then(() => log(`  failure screenshot ${path.relative(repoRoot, shot)}`))
      .catch((e) => log(`  (no failure screenshot: ${e.message})`));
    const toasts = await page.locator('.notifications-toasts .notification-list-item-message').allInnerTexts().catch(() => []);
    if (toasts.length) log(`  notifications:\n    ${toasts.join('\n    ')}`);
    const trainerLog = newestFile(path.join(workspace, 'runs'), 'trainer.log');
    log(`  trainer.log tail (${trainerLog ? path.relative(workspace, trainerLog) : 'none found'}):\n${trainerLog ? tail(trainerLog, 30) : ''}`);
    log(`  extension host log tail:\n${server.extensionHostLogTail(30)}`);
    log(`  code-server log tail:\n${server.logTail(30)}`);
    return false;
  } finally {
    // Closing the page also aborts whatever a timed-out scenario is still waiting for.
    await page.close().catch(() => {});
  }
}

/** A VSIX file, or the one for this platform in a folder of them (what scripts/package.mjs wrote). */
function resolveVsix(given) {
  if (!fs.existsSync(given)) throw new Error(`${given} is missing: run \`npm run package\` first`);
  if (!fs.statSync(given).isDirectory()) return given;
  const prefix = `sft-studio-${process.platform}-${process.arch}-`;
  const found = fs.readdirSync(given).filter((f) => f.startsWith(prefix) && f.endsWith('.vsix'))
    .map((f) => path.join(given, f))
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  if (found.length === 0) throw new Error(`no ${prefix}*.vsix in ${given}: run \`npm run package\` first`);
  return found[0];
}

async function main() {
  const { values } = parseArgs({
    options: {
      scenario: { type: 'string' },
      keep: { type: 'boolean', default: false },
      headed: { type: 'boolean', default: false },
      vsix: { type: 'string' },
    },
  });
  if (values.vsix) values.vsix = resolveVsix(values.vsix);
  const selected = values.scenario ? ordered.filter((s) => s.name.includes(values.scenario)) : scenarios;
  if (selected.length === 0) throw new Error(`no scenario matches "${values.scenario}"`);

  const t0 = Date.now();
  const { chromium: chromiumPath } = ensureE2eTools();
  ensureBuilt();
  if (!fs.existsSync(venvPython)) throw new Error(`${venvPython} is missing: run \`npm run setup\` first`);
  if (!fs.existsSync(path.join(examplesDir, 'demo.sft.yaml'))) throw new Error('examples/demo.sft.yaml is missing');

  const { session, workspace } = prepareSession();
  log(`workspace copy: ${path.relative(repoRoot, workspace)}`);
  // On Ctrl+C the finally below never runs; still ask this session's trainers to stop.
  process.on('exit', () => signalTrainers(runFolders(path.join(workspace, 'runs')), log));
  let server;
  let context;
  const results = [];
  try {
    server = await startCodeServer({
      stateDir: path.join(session, 'code-server'),
      settings: { 'sftStudio.pythonPath': venvPython, 'sftStudio.runOverrides': runOverrides },
      vsix: values.vsix,
    });
    if (values.vsix) log(`installed ${path.relative(repoRoot, values.vsix)} with --install-extension`);
    log(`code-server on ${server.url} (pid ${server.pid}) after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    context = await chromium.launchPersistentContext(path.join(session, 'chromium'), {
      executablePath: chromiumPath,
      headless: !values.headed,
      args: CHROMIUM_ARGS,
      viewport: { width: 1440, height: 900 },
    });
    for (const scenario of selected) results.push(await runScenario(scenario, { context, server, workspace }));
  } finally {
    await context?.close().catch(() => {});
    await server?.stop();
    await stopTrainers(runFolders(path.join(workspace, 'runs')), { log });
  }
  const passed = results.filter(Boolean).length;
  const failed = selected.length - passed;
  if (failed === 0 && !values.keep) fs.rmSync(session, { recursive: true, force: true });
  else log(`kept ${path.relative(repoRoot, session)} for inspection`);
  log(`total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`[e2e] ${error.message}`);
    console.log(`0 passed, ${scenarios.length} failed`);
    process.exit(1);
  },
);
