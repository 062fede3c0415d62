#!/usr/bin/env node
// The Sweep panel in real Chromium: the built bundle (dist/webview/sweep.js) in the page shell the host renders
// (CSP with a per-load nonce), fed the view the host builds (src/sweeps/sweepFile.ts sweepView) from a sweep.json
// as the trainer writes it and trial events. Checks sorting by headers, the best trial's highlight, the pruned
// mark, the scatter, an openRun request, and that values with HTML stay text. Screenshot in artifacts/.
//
// Usage: node test/webview/sweep.mjs
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { chromium } from 'playwright-core';
import { themeVariables } from './themes.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const artifacts = path.join(repoRoot, 'test', 'webview', 'artifacts');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ORIGIN = 'https://webview.test';

let browser;
let host;
let work;

function ensureBundle() {
  const bundle = path.join(repoRoot, 'dist', 'webview', 'sweep.js');
  const built = fs.existsSync(bundle) ? fs.statSync(bundle).mtimeMs : 0;
  const sources = ['webview/sweep', 'src/protocol'].flatMap((d) => fs.readdirSync(path.join(repoRoot, d)).map((f) => fs.statSync(path.join(repoRoot, d, f)).mtimeMs));
  if (built > 0 && sources.every((m) => m <= built)) return;
  const result = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: repoRoot, stdio: 'inherit' });
  if (result.status !== 0) throw new Error('building the webview bundles failed');
}

/** The host's own page shell and view builder, bundled for Node. */
async function loadHost(outDir) {
  const outfile = path.join(outDir, 'sweepHost.cjs');
  await esbuild.build({
    stdin: {
      contents: "export { makeNonce, renderWebviewHtml } from './src/webviews/webviewHtml'; export { parseSweepDoc, sweepView } from './src/sweeps/sweepFile';",
      resolveDir: repoRoot,
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    packages: 'external',
    outfile,
    logLevel: 'warning',
  });
  return import(outfile);
}

const HTML = `<img src=x onerror="window.__sftInjected='img'">`;

function writeSweep(root) {
  const dir = path.join(root, 'runs', 'demo-sweep-20260101-000000');
  const grid = [
    [3e-4, 0.0],
    [3e-4, 0.1],
    [1e-3, 0.0],
    [1e-3, 0.1],
  ];
  const trials = grid.map(([lr, warmup], k) => ({
    index: k,
    params: { learning_rate: lr, warmup_ratio: warmup, chat_template: k === 3 ? HTML : 'chatml' },
    overrides: [`learning_rate=${lr}`, `warmup_ratio=${warmup}`, `sweep_trial=${k}`],
    run_dir: path.join(dir, `trial-${k}`),
    status: 'pending',
    objective: null,
    final_objective: null,
    best_step: null,
    reason: null,
  }));
  const doc = {
    version: 1, id: path.basename(dir), config_path: path.join(root, 'demo.sft.yaml'), method: 'grid', seed: 42, max_trials: null,
    parameters: { learning_rate: { values: [3e-4, 1e-3] }, warmup_ratio: { values: [0, 0.1] }, chat_template: { values: ['chatml', HTML] } },
    objective: { metric: 'loss', greater_is_better: false }, overrides: [], trials, best_trial: null,
  };
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'sweep.json'), JSON.stringify(doc));
  // Trial events as the registry would hold them: evals (loss), and trial 1 ended by early stopping.
  const evals = { 0: [2.4, 2.39], 1: [2.5, 2.38, 2.45], 2: [1.4, 1.18], 3: [1.5, 1.21] };
  const events = {};
  for (const [k, losses] of Object.entries(evals)) {
    const runDir = path.join(dir, `trial-${k}`);
    events[runDir] = losses.map((loss, i) => ({ v: 1, seq: i, time: i, type: 'eval', step: 10 * (i + 1), loss }));
    if (k === '1') events[runDir].push({ v: 1, seq: 9, time: 9, type: 'run_finished', status: 'completed', reason: 'early_stopped' });
  }
  return { dir, doc, events };
}

before(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium or set CHROMIUM_PATH`);
  ensureBundle();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'sft-sweep-webview-'));
  fs.mkdirSync(artifacts, { recursive: true });
  host = await loadHost(path.join(repoRoot, 'out', 'test', 'webview'));
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
});

after(async () => {
  await browser?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('sweep panel: sortable trial table, best trial highlighted, pruned trial marked, scatter, text only', async () => {
  const { dir, events } = writeSweep(work);
  const doc = host.parseSweepDoc(JSON.parse(fs.readFileSync(path.join(dir, 'sweep.json'), 'utf8')), dir);
  const view = host.sweepView(doc, {
    get: (runDir) => (events[runDir] ? { runDir, name: path.basename(runDir), state: runDir.endsWith('3') ? 'running' : 'completed' } : undefined),
    events: (runDir) => events[runDir] ?? [],
  });
  const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  const requests = [];
  await page.exposeFunction('__sftToHost', async (message) => {
    if (message?.type === 'ready') await page.evaluate((m) => window.postMessage(m, '*'), { type: 'sweep', view });
    if (message?.type === 'request') {
      requests.push(message);
      await page.evaluate((m) => window.postMessage(m, '*'), { type: 'reply', seq: message.seq, ok: true, result: true });
    }
  });
  await page.addInitScript(({ variables }) => {
    window.__cspViolations = [];
    window.__sftState = undefined;
    document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
    window.acquireVsCodeApi = () => ({ postMessage: (m) => window.__sftToHost(m), getState: () => window.__sftState, setState: (s) => (window.__sftState = s) });
    new MutationObserver((_, observer) => {
      if (!document.body) return;
      for (const [k, v] of Object.entries(variables)) document.documentElement.style.setProperty(k, v);
      document.body.classList.add('vscode-dark');
      observer.disconnect();
    }).observe(document, { childList: true, subtree: true });
  }, { variables: themeVariables('dark') });
  const html = host.renderWebviewHtml({ title: 'sweep', cspSource: ORIGIN, nonce: host.makeNonce(), scriptUri: `${ORIGIN}/dist/webview/sweep.js`, styleUri: `${ORIGIN}/dist/webview/sweep.css` });
  await page.route(`${ORIGIN}/**`, (route) => {
    const url = new URL(route.request().url());
    if (url.pathname === '/index.html') return route.fulfill({ contentType: 'text/html', body: html });
    const file = path.join(repoRoot, url.pathname);
    if (!file.startsWith(path.join(repoRoot, 'dist')) || !fs.existsSync(file)) return route.fulfill({ status: 404 });
    return route.fulfill({ contentType: file.endsWith('.css') ? 'text/css' : 'text/javascript', body: fs.readFileSync(file) });
  });
  await page.goto(`${ORIGIN}/index.html`);
  await page.waitForSelector('#sweep-trials tbody tr');

  const order = () => page.$$eval('#sweep-trials tbody tr', (rows) => rows.map((r) => Number(r.dataset.trial)));
  const heads = await page.$$eval('#sweep-trials thead th', (els) => els.map((e) => e.textContent));
  assert.deepEqual(heads, ['Trial', 'learning_rate', 'warmup_ratio', 'chat_template', 'Status', 'Best loss', 'Final loss']);
  assert.deepEqual(await order(), [0, 1, 2, 3]);

  // Best: trial 2 (1.18), highlighted, one row only.
  assert.deepEqual(await page.$$eval('#sweep-trials tr.best', (rows) => rows.map((r) => r.dataset.trial)), ['2']);
  assert.equal(await page.textContent('#sweep-trials tr.best .badge.best'), 'best');
  assert.match(await page.textContent('#sweep-summary'), /best #2: 1\.18/);
  // Pruned: trial 1, marked; objective is its best (2.38), final its last (2.45).
  assert.deepEqual(await page.$$eval('#sweep-trials tr.early-stopped', (rows) => rows.map((r) => r.dataset.trial)), ['1']);
  assert.equal(await page.textContent('tr[data-trial="1"] .badge.pruned'), 'early stopped');
  assert.equal(await page.textContent('tr[data-trial="1"] td.objective'), '2.38');
  assert.equal(await page.textContent('tr[data-trial="1"] td.final'), '2.45');

  // Sort by best loss: ascending, then a second click descending; aria-sort follows.
  await page.click('#sweep-trials th[data-key="objective"] button');
  assert.deepEqual(await order(), [2, 3, 1, 0]);
  assert.equal(await page.getAttribute('#sweep-trials th[data-key="objective"]', 'aria-sort'), 'ascending');
  await page.click('#sweep-trials th[data-key="objective"] button');
  assert.deepEqual(await order(), [0, 1, 3, 2]);
  assert.equal(await page.getAttribute('#sweep-trials th[data-key="objective"]', 'aria-sort'), 'descending');
  await page.click('#sweep-trials th[data-key="final"] button');
  assert.deepEqual(await order(), [2, 3, 0, 1]);
  await page.click('#sweep-trials th[data-key="param:warmup_ratio"] button');
  assert.deepEqual(await order(), [0, 2, 1, 3]);
  assert.deepEqual(await page.evaluate(() => window.__sftState), { sweepDir: dir, sortKey: 'param:warmup_ratio', sortDescending: false });
  // The best row stays highlighted whatever the order.
  assert.deepEqual(await page.$$eval('#sweep-trials tr.best', (rows) => rows.map((r) => r.dataset.trial)), ['2']);

  // The scatter: one canvas, and its label names the field and the trials drawn.
  assert.equal(await page.$$eval('#sweep-chart canvas', (els) => els.length), 1);
  assert.equal(await page.getAttribute('#sweep-chart', 'aria-label'), 'eval loss against learning_rate, 4 trials');

  // A value holding HTML is shown as text.
  assert.equal(await page.textContent('tr[data-trial="3"] td:nth-child(4)'), HTML);
  assert.equal(await page.$$eval('#sweep-trials img', (els) => els.length), 0);

  await page.click('tr[data-trial="2"] button.link');
  await page.waitForFunction(() => true);
  for (let i = 0; i < 50 && requests.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(requests.map((r) => [r.method, r.params.runDir]), [['openRun', path.join(dir, 'trial-2')]]);

  await page.screenshot({ path: path.join(artifacts, 'sweep-dark.png') });
  assert.equal(await page.evaluate(() => window.__sftInjected), undefined, 'no injected code ran');
  assert.deepEqual(await page.evaluate(() => window.__cspViolations), [], 'no CSP violation');
  assert.deepEqual(errors, [], 'no page errors');
  await page.close();
});
