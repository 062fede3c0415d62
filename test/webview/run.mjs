#!/usr/bin/env node
// Webview tests: the built panel bundles (dist/webview/*.js) in real Chromium, in the exact page
// shell the host renders (CSP with a per-load nonce), fed by the hosts' own session code running
// here in Node against fixture run folders. acquireVsCodeApi is a stub that forwards the app's
// messages to that host code. Screenshots of every panel, light and dark, go to
// test/webview/artifacts/. The 1M-point figures are printed (and written to artifacts/bench.json).
//
// Usage: node test/webview/run.mjs [--headed]
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { chromium } from 'playwright-core';
import { themeVariables } from './themes.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const artifacts = path.join(repoRoot, 'test', 'webview', 'artifacts');
const fixtureRun = path.join(repoRoot, 'test', 'fixtures', 'runs', 'demo-20260101-000000');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ORIGIN = 'https://webview.test';

/** Every string a page must show literally; any of them parsed as HTML would set the sentinel. */
const XSS = [
  `<img src=x onerror="window.__sftInjected='img'">`,
  `<script>window.__sftInjected='script'</script>`,
  `<a href="javascript:window.__sftInjected='link'">click</a>`,
  `&lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot;`,
];

function newestMtime(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, fs.statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** Rebuilds the bundles when a webview or protocol source is newer, so the test never sees stale code. */
function ensureBundles() {
  const bundle = path.join(repoRoot, 'dist', 'webview', 'dashboard.js');
  const built = fs.existsSync(bundle) ? fs.statSync(bundle).mtimeMs : 0;
  const sources = ['webview', 'src/protocol'].map((d) => newestMtime(path.join(repoRoot, d)));
  if (built > 0 && sources.every((m) => m <= built)) return;
  const result = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: repoRoot, stdio: 'inherit' });
  if (result.status !== 0) throw new Error('building the webview bundles failed');
}

async function loadHostCode(outDir) {
  const outfile = path.join(outDir, 'fixtureHost.cjs');
  await esbuild.build({
    entryPoints: [path.join(repoRoot, 'test', 'webview', 'fixtureHost.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    loader: { '.json': 'json' },
    outfile,
    logLevel: 'warning',
  });
  return import(outfile);
}

const event = (seq, time, type, fields) => JSON.stringify({ v: 1, seq, time, type, ...fields });

/** A run folder with `lines` as events.jsonl and a status. */
function writeRun(dir, lines, status) {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'events.jsonl'), lines.map((l) => `${l}\n`).join(''));
  fs.writeFileSync(path.join(dir, 'status.json'), JSON.stringify(status));
}

function makeWorkspace(root) {
  const runs = path.join(root, 'runs');
  fs.cpSync(fixtureRun, path.join(runs, 'demo-20260101-000000'), { recursive: true });
  const now = Date.now() / 1000;
  // A live run: this process's pid and a fresh heartbeat make it "running", so the controls show.
  const demo = fs.readFileSync(path.join(fixtureRun, 'events.jsonl'), 'utf8').trim().split('\n');
  const liveLines = demo.filter((l) => !l.includes('"run_finished"') && !l.includes('"checkpoint"')).slice(0, 12);
  writeRun(path.join(runs, 'live-20260101-000000'), liveLines, { pid: process.pid, state: 'running', heartbeat: now + 3600, started: now, step: 6, total_steps: 12 });
  // Generations whose completions are HTML payloads, at two steps, with references.
  const xss = [event(0, 1, 'run_started', { step: 0, config: {}, total_steps: 5, num_parameters: 10, trainable_parameters: 10, world_size: 1, device: 'cpu' })];
  let seq = 1;
  for (const step of [0, 5]) {
    XSS.forEach((payload, i) => {
      const completion = step === 0 ? `base ${i}` : payload;
      xss.push(event(seq++, 1 + seq, 'generation', { step, prompt_id: `x${i}`, prompt: `Say ${payload}`, completion, reference: i === 3 ? payload : `ref ${i}`, max_new_tokens: 16, temperature: 0, top_p: 1 }));
    });
  }
  xss.push(event(seq++, 100, 'run_finished', { step: 5, status: 'completed' }));
  writeRun(path.join(runs, 'xss-20260101-000000'), xss, { pid: 1, state: 'completed', heartbeat: 100, started: 1, step: 5, total_steps: 5 });
  // Six evaluation steps: more columns than a narrow window holds.
  const many = [event(0, 1, 'run_started', { step: 0, config: {}, total_steps: 50, num_parameters: 10, trainable_parameters: 10, world_size: 1, device: 'cpu' })];
  for (const step of [0, 10, 20, 30, 40, 50]) {
    many.push(event(many.length, 2 + step, 'generation', { step, prompt_id: 'q0', prompt: 'Count', completion: `answer at ${step}`, max_new_tokens: 8, temperature: 0.7, top_p: 0.9 }));
  }
  writeRun(path.join(runs, 'steps-20260101-000000'), many, { pid: 1, state: 'completed', heartbeat: 100, started: 1, step: 50, total_steps: 50 });
  return runs;
}

/**
 * A run that tracks its best checkpoint by eval loss: `steps` train steps (learning rate 0 at the warm-up's
 * first step), evaluations every 10 steps (best at 20), checkpoints flagged as the trainer flags them.
 */
function writeBestRun(dir, config, steps, status, finished = false) {
  const lines = [event(0, 1, 'run_started', { step: 0, config, total_steps: config.max_steps, steps_per_epoch: 10, num_parameters: 10, trainable_parameters: 10, world_size: 1, device: 'cpu' })];
  const evals = { 0: 2.5, 10: 1.5, 20: 1.2, 30: 1.3 };
  let best;
  for (let step = 0; step <= steps; step++) {
    if (step > 0) lines.push(event(lines.length, 1 + step, 'train', { step, epoch: step / 10, loss: 2 / Math.sqrt(step), grad_norm: 1, learning_rate: step === 1 ? 0 : 1e-4, tokens: step * 100, tokens_per_s: 500 }));
    if (evals[step] === undefined) continue;
    const improved = step > 0 && (best === undefined || evals[step] < best);
    if (improved) best = evals[step];
    lines.push(event(lines.length, 1.5 + step, 'eval', { step, epoch: step / 10, loss: evals[step], token_accuracy: 1 - evals[step] / 2, ...(step > 0 ? { best: improved } : {}) }));
    if (step > 0) lines.push(event(lines.length, 1.6 + step, 'checkpoint', { step, path: `checkpoints/step-${step}`, best: improved }));
  }
  if (finished) lines.push(event(lines.length, 2 + steps, 'run_finished', { step: steps, status: 'completed', best_step: 20, best_metric: 1.2, best_checkpoint: 'checkpoints/step-20', metric_for_best_model: 'loss' }));
  writeRun(dir, lines, status);
  fs.writeFileSync(path.join(dir, 'config.resolved.json'), JSON.stringify(config));
}

let browser;
let host;
let work;
let runsRoot;
let saveDir;
const bench = {};

/** Opens a panel page: stub VS Code API, CSP violation recorder, theme, then the real shell. */
async function openPage(kind, options = {}) {
  const theme = options.theme ?? 'dark';
  const page = await browser.newPage({ viewport: { width: options.width ?? 1280, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  const queue = [];
  let delivering = Promise.resolve();
  const panel = await host.openPanel(kind, {
    runsRoot,
    runDir: options.runDir,
    compare: options.compare,
    saveDir,
    deliver: (message) => {
      queue.push(message);
      delivering = delivering.then(() => page.evaluate((m) => window.postMessage(m, '*'), message).catch(() => undefined));
    },
  });
  await page.exposeFunction('__sftToHost', (message) => panel.receive(message));
  await page.addInitScript(
    ({ variables, themeClass, state }) => {
      window.__sftPosted = [];
      window.__cspViolations = [];
      // A saved state seeds a page as VS Code does when it restores a panel after a reload.
      window.__sftState = state ?? undefined;
      document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
      window.acquireVsCodeApi = () => ({
        postMessage: (m) => {
          window.__sftPosted.push(m);
          window.__sftToHost(m);
        },
        getState: () => window.__sftState,
        setState: (s) => (window.__sftState = s),
      });
      // Init scripts run before the document has elements: theme <html> and <body> as they appear.
      let themed = false;
      const observer = new MutationObserver(() => {
        if (!themed && document.documentElement) {
          for (const [k, v] of Object.entries(variables)) document.documentElement.style.setProperty(k, v);
          themed = true;
        }
        if (document.body) {
          document.body.classList.add(themeClass);
          observer.disconnect();
        }
      });
      observer.observe(document, { childList: true, subtree: true });
    },
    { variables: themeVariables(theme), themeClass: theme === 'dark' ? 'vscode-dark' : 'vscode-light', state: options.state },
  );
  await page.route(`${ORIGIN}/**`, (route) => {
    const url = new URL(route.request().url());
    if (url.pathname === '/index.html') return route.fulfill({ contentType: 'text/html', body: host.panelHtml(kind) });
    const file = path.join(repoRoot, url.pathname);
    if (!file.startsWith(path.join(repoRoot, 'dist')) || !fs.existsSync(file)) return route.fulfill({ status: 404 });
    return route.fulfill({ contentType: file.endsWith('.css') ? 'text/css' : 'text/javascript', body: fs.readFileSync(file) });
  });
  await page.goto(`${ORIGIN}/index.html`);
  const finish = async () => {
    await delivering;
    panel.dispose();
    await page.close();
  };
  return { page, panel, errors, finish, flushDeliveries: () => delivering };
}

/** Opens a toolkit dropdown and picks the option with that text. */
async function choose(page, id, text) {
  await page.locator(`#${id}`).click();
  await page.locator(`#${id} vscode-option`, { hasText: text }).click();
}

async function safetyChecks(page, errors) {
  assert.equal(await page.evaluate(() => window.__sftInjected), undefined, 'no injected code ran');
  assert.deepEqual(await page.evaluate(() => window.__cspViolations), [], 'no CSP violation');
  assert.deepEqual(errors, [], 'no page errors');
}

async function screenshot(page, name) {
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: false });
}

before(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium (npm run setup -- --e2e) or set CHROMIUM_PATH`);
  ensureBundles();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'sft-webview-'));
  runsRoot = makeWorkspace(work);
  saveDir = path.join(work, 'saved');
  fs.mkdirSync(saveDir);
  fs.mkdirSync(artifacts, { recursive: true });
  host = await loadHostCode(path.join(repoRoot, 'out', 'test', 'webview'));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: !process.argv.includes('--headed'),
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  if (Object.keys(bench).length) {
    fs.writeFileSync(path.join(artifacts, 'bench.json'), `${JSON.stringify(bench, null, 2)}\n`);
    process.stdout.write(`webview figures: ${JSON.stringify(bench)}\n`);
  }
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('dashboard', () => {
  test('draws the fixture run: header numbers, every chart with points, screenshots', async () => {
    for (const theme of ['dark', 'light']) {
      const { page, errors, finish } = await openPage('dashboard', { runDir: path.join(runsRoot, 'demo-20260101-000000'), theme });
      await page.waitForSelector('#loss-chart[data-points="12"]');
      assert.equal(await page.textContent('#run-name'), 'demo-20260101-000000');
      assert.equal(await page.textContent('#run-state'), 'completed');
      assert.equal(await page.textContent('#run-step'), 'step 12/12');
      assert.match(await page.textContent('#run-params'), /^1\.82M of 1\.82M params trainable \(100%\)$/);
      assert.match(await page.textContent('#run-config'), /learning_rate=0\.0002/);
      assert.equal(await page.getAttribute('#run-progress', 'aria-valuenow'), '100');
      for (const [id, points] of [['eval-loss-chart', '3'], ['lr-chart', '12'], ['grad-norm-chart', '12'], ['throughput-chart', '12'], ['accuracy-chart', '3']]) {
        assert.equal(await page.getAttribute(`#${id}`, 'data-points'), points, id);
      }
      assert.equal(await page.isHidden('#memory-chart'), true, 'no memory chart without mem_bytes');
      // Legend: raw and smoothed train loss after the x series.
      const legend = await page.$$eval('#loss-chart .u-legend .u-series .u-label', (els) => els.map((e) => e.textContent));
      assert.deepEqual(legend.slice(1), ['train loss', 'train loss (smoothed)']);
      const inked = await page.$eval('#loss-chart canvas', (c) => {
        const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
        return n;
      });
      assert.ok(inked > 500, `the loss canvas has ink (${inked} pixels)`);
      assert.equal(await page.isHidden('#stop-run'), true, 'no controls on a finished run');
      await screenshot(page, `dashboard-${theme}`);
      await safetyChecks(page, errors);
      await finish();
    }
  });

  test('x axis, smoothing and compare are applied and remembered', async () => {
    const { page, errors, finish } = await openPage('dashboard', { runDir: path.join(runsRoot, 'demo-20260101-000000') });
    await page.waitForSelector('#loss-chart[data-points="12"]');
    await choose(page, 'x-axis', 'x: epoch');
    await page.waitForFunction(() => document.querySelector('#loss-chart .u-legend .u-series .u-label')?.textContent === 'epoch');
    await page.locator('#smoothing').fill('0.9');
    await page.waitForFunction(() => window.__sftState?.smoothing === 0.9 && window.__sftState?.xAxis === 'epoch');
    await choose(page, 'compare-picker', 'live-20260101-000000');
    await page.locator('#compare-add').click();
    await page.waitForFunction(() => document.querySelectorAll('#compare-list li').length === 1);
    await page.waitForFunction(() => document.querySelectorAll('#loss-chart .u-legend .u-series').length === 5);
    const legend = await page.$$eval('#loss-chart .u-legend .u-series .u-label', (els) => els.map((e) => e.textContent));
    assert.ok(legend.includes('live-20260101-000000 · train loss'), legend.join(' | '));
    const evalLegend = await page.$$eval('#eval-loss-chart .u-legend .u-series .u-label', (els) => els.map((e) => e.textContent));
    assert.deepEqual(evalLegend, ['epoch', 'demo-20260101-000000 · eval loss', 'live-20260101-000000 · eval loss']);
    assert.deepEqual((await page.evaluate(() => window.__sftState)).compare, [path.join(runsRoot, 'live-20260101-000000')]);
    await screenshot(page, 'dashboard-compare-dark');
    await safetyChecks(page, errors);
    await finish();
  });

  test('a live run: buttons write control.jsonl, a new event reaches the chart', async () => {
    const runDir = path.join(runsRoot, 'live-20260101-000000');
    const { page, panel, errors, finish } = await openPage('dashboard', { runDir });
    await page.waitForSelector('#loss-chart[data-points="6"]');
    assert.equal(await page.textContent('#run-state'), 'running');
    await page.locator('#save-run').click();
    await page.waitForFunction(() => /Checkpoint requested/.test(document.querySelector('#control-feedback').textContent));
    await page.locator('#generate-run').click();
    await page.waitForFunction(() => /Generation requested/.test(document.querySelector('#control-feedback').textContent));
    await page.locator('#stop-run').click();
    await page.waitForFunction(() => /Stop requested/.test(document.querySelector('#control-feedback').textContent));
    const control = fs.readFileSync(path.join(runDir, 'control.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(control.map((c) => c.type), ['save', 'generate']);
    assert.ok(control.every((c) => Math.abs(c.time - Date.now() / 1000) < 60));
    assert.deepEqual(panel.recorded, [{ kind: 'stop', runDir }]);
    const requests = await page.evaluate(() => window.__sftPosted.filter((m) => m.type === 'request').map((m) => [m.seq, m.method, m.params.action]));
    assert.deepEqual(requests, [[0, 'control', 'save'], [1, 'control', 'generate'], [2, 'control', 'stop']]);

    // Event written → chart updated, through the registry's file follower and the bridge.
    const latencies = [];
    for (let step = 7; step <= 11; step++) {
      const written = Date.now();
      fs.appendFileSync(path.join(runDir, 'events.jsonl'), `${event(100 + step, Date.now() / 1000, 'train', { step, epoch: step / 40, loss: 1 / step, grad_norm: 0.5, learning_rate: 1e-4, tokens: step * 800, tokens_per_s: 600 })}\n`);
      await page.waitForSelector(`#loss-chart[data-points="${step}"]`);
      latencies.push(Date.now() - written);
    }
    bench.eventToChartMs = { median: latencies.sort((a, b) => a - b)[2], max: Math.max(...latencies), pollMs: 50 };
    await safetyChecks(page, errors);
    await finish();
  });

  test('a live run redraws the charts on screen only; one scrolled into view draws then', async () => {
    const runDir = path.join(runsRoot, 'scroll-20260101-000000');
    const now = Date.now() / 1000;
    const train = (seq, step) =>
      event(seq, now + step, 'train', { step, epoch: step / 100, loss: 1 / step, grad_norm: 0.5, learning_rate: 1e-4, tokens: step * 800, tokens_per_s: 600 + step, flops_per_s: 1e9, mfu: 0.1, mem_bytes: 1e8 + step });
    const start = event(0, now, 'run_started', { step: 0, config: {}, total_steps: 100, num_parameters: 10, trainable_parameters: 10, world_size: 1, device: 'cpu' });
    const evaluation = event(4, now + 3, 'eval', { step: 3, epoch: 0.03, loss: 0.5, token_accuracy: 0.4 });
    writeRun(runDir, [start, ...[1, 2, 3].map((step) => train(step, step)), evaluation], { pid: process.pid, state: 'running', heartbeat: now + 3600, started: now, step: 3, total_steps: 100 });
    const { page, errors, finish } = await openPage('dashboard', { runDir });
    await page.setViewportSize({ width: 1280, height: 500 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.waitForSelector('#loss-chart[data-points="3"]');
    // With every metric present the memory chart is the last of nine, far below a 500 px window.
    await page.waitForSelector('#memory-chart', { state: 'attached' });
    const below = await page.$eval('#memory-chart', (e) => e.getBoundingClientRect().top - window.innerHeight);
    assert.ok(below > 100, `the memory chart starts ${below} px below the window`);
    const before = await page.getAttribute('#memory-chart', 'data-points');
    for (let step = 4; step <= 8; step++) fs.appendFileSync(path.join(runDir, 'events.jsonl'), `${train(step + 1, step)}\n`);
    await page.waitForSelector('#loss-chart[data-points="8"]');
    await page.waitForTimeout(300);
    assert.equal(await page.getAttribute('#memory-chart', 'data-points'), before, 'the chart below the window was not drawn again');
    await page.locator('#memory-chart').scrollIntoViewIfNeeded();
    await page.waitForSelector('#memory-chart[data-points="8"]', { timeout: 5000 });
    await safetyChecks(page, errors);
    await finish();
  });

  test('best evaluation: marked on the eval charts while the run trains and after it ends', async () => {
    const runDir = path.join(runsRoot, 'best-20260101-000000');
    const config = { model_name_or_path: 'tiny-llama', learning_rate: 1e-4, max_steps: 40, eval_steps: 10, metric_for_best_model: 'loss' };
    writeBestRun(runDir, config, 30, { pid: process.pid, state: 'running', heartbeat: Date.now() / 1000 + 3600, started: 1, step: 30, total_steps: 40 });
    const { page, errors, finish } = await openPage('dashboard', { runDir });
    await page.waitForSelector('#eval-loss-chart[data-markers="best@20"]');
    // A line at step 20 of the eval x range [0, 30], the label, and a dot on the eval loss line (metric_for_best_model).
    const marker = await page.$eval('#eval-loss-chart .chart-marker', (m) => ({
      key: m.dataset.key,
      label: m.querySelector('.chart-marker-label')?.textContent,
      left: parseFloat(m.style.left),
      width: m.parentElement.clientWidth,
      dot: m.querySelector('.chart-marker-point') !== null,
    }));
    assert.deepEqual([marker.key, marker.label, marker.dot], ['best@20', 'best', true]);
    assert.ok(Math.abs(marker.left - (marker.width * 20) / 30) < 2, `marker at ${marker.left} of ${marker.width} px`);
    assert.match(await page.getAttribute('#eval-loss-chart', 'aria-label'), /best loss 1\.2 at step 20 so far/);
    // The accuracy chart marks the step without a dot (its lines are not the metric); train charts have no marker.
    assert.equal(await page.getAttribute('#accuracy-chart', 'data-markers'), 'best@20');
    assert.equal(await page.$$eval('#accuracy-chart .chart-marker-point', (els) => els.length), 0);
    assert.equal(await page.getAttribute('#loss-chart', 'data-markers'), '');
    assert.equal(await page.$$eval('#loss-chart .chart-marker', (els) => els.length), 0);

    // A new best arrives live, then the run ends and run_finished names it.
    const append = (lines) => fs.appendFileSync(path.join(runDir, 'events.jsonl'), lines.map((l) => `${l}\n`).join(''));
    append([event(500, 200, 'eval', { step: 40, epoch: 4, loss: 1.0, token_accuracy: 0.8, best: true })]);
    await page.waitForSelector('#eval-loss-chart[data-markers="best@40"]');
    append([
      event(501, 201, 'checkpoint', { step: 40, path: 'checkpoints/step-40', final: true, best: true }),
      event(502, 202, 'run_finished', { step: 40, status: 'completed', best_step: 40, best_metric: 1.0, best_checkpoint: 'checkpoints/step-40', metric_for_best_model: 'loss' }),
    ]);
    await page.waitForFunction(() => /best loss 1 at step 40\./.test(document.querySelector('#eval-loss-chart').getAttribute('aria-label')));
    await screenshot(page, 'dashboard-best-dark');
    await safetyChecks(page, errors);
    await finish();
  });

  test('log scale: a toggle per chart, values at or below zero left out, remembered after a reload', async () => {
    const runDir = path.join(runsRoot, 'best-20260101-000000');
    const { page, errors, finish } = await openPage('dashboard', { runDir });
    await page.waitForSelector('#lr-chart[data-scale="linear"][data-points="30"]');
    for (const id of ['loss-chart', 'eval-loss-chart', 'lr-chart', 'grad-norm-chart', 'throughput-chart', 'accuracy-chart']) {
      assert.equal(await page.$$eval(`#${id}-log`, (els) => els.map((e) => e.tagName.toLowerCase()).join()), 'vscode-checkbox', id);
    }
    assert.equal((await page.evaluate(() => window.sftDashboard.yScale('lr-chart'))).distr, 1);
    await page.locator('#lr-chart-log').click();
    await page.waitForSelector('#lr-chart[data-scale="log"]');
    // The warm-up's learning rate of 0 at step 1 has no place on a log axis.
    assert.equal(await page.getAttribute('#lr-chart', 'data-skipped'), '1');
    const log = await page.evaluate(() => window.sftDashboard.yScale('lr-chart'));
    assert.equal(log.distr, 3);
    assert.ok(log.min > 0 && log.min <= 1e-4 && log.max >= 1e-4, JSON.stringify(log));
    assert.equal(await page.getAttribute('#loss-chart', 'data-scale'), 'linear', 'only the toggled chart');
    await page.locator('#eval-loss-chart-log').click();
    await page.waitForSelector('#eval-loss-chart[data-scale="log"]');
    // The best marker and its dot stay where the value is.
    assert.equal(await page.$$eval('#eval-loss-chart .chart-marker-point', (els) => els.length), 1);
    assert.deepEqual((await page.evaluate(() => window.__sftState)).logScale, ['lr-chart', 'eval-loss-chart']);
    await screenshot(page, 'dashboard-log-dark');
    await page.locator('#eval-loss-chart-log').click();
    await page.waitForSelector('#eval-loss-chart[data-scale="linear"][data-skipped="0"]');
    const state = await page.evaluate(() => window.__sftState);
    assert.deepEqual(state.logScale, ['lr-chart']);
    await safetyChecks(page, errors);
    await finish();

    // The panel comes back with the state VS Code kept.
    const again = await openPage('dashboard', { runDir, state });
    await again.page.waitForSelector('#lr-chart[data-scale="log"][data-points="30"]');
    assert.equal(await again.page.$eval('#lr-chart-log', (e) => e.checked), true);
    assert.equal(await again.page.getAttribute('#eval-loss-chart', 'data-scale'), 'linear');
    await safetyChecks(again.page, again.errors);
    await again.finish();
  });

  test('comparison table: differing config fields, final and best metrics, sortable, file text shown as text', async () => {
    const tuned = path.join(runsRoot, 'tuned-20260101-000000');
    const demoConfig = JSON.parse(fs.readFileSync(path.join(fixtureRun, 'config.resolved.json'), 'utf8'));
    const config = { ...demoConfig, learning_rate: 5e-5, max_steps: 30, metric_for_best_model: 'loss', run_name: 'tuned', train_file: XSS[0] };
    writeBestRun(tuned, config, 30, { pid: 1, state: 'completed', heartbeat: 100, started: 1, step: 30, total_steps: 30 }, true);
    const runDir = path.join(runsRoot, 'demo-20260101-000000');
    const live = path.join(runsRoot, 'live-20260101-000000');
    const { page, errors, finish } = await openPage('dashboard', { runDir, compare: [tuned, live] });
    await page.waitForSelector('#compare-table tbody tr:nth-child(3)');
    const heads = await page.$$eval('#compare-table thead th', (els) => els.map((e) => e.textContent));
    assert.deepEqual(heads, ['run', 'learning_rate', 'max_steps', 'metric_for_best_model', 'train_file', 'final train loss', 'final eval loss', 'final token accuracy', 'final exact match', 'best loss', 'best step']);
    const rows = () => page.$$eval('#compare-table tbody tr', (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
    const demoEvents = fs.readFileSync(path.join(fixtureRun, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const demoTrainLoss = demoEvents.filter((e) => e.type === 'train').at(-1).loss;
    const [demo, tunedRow, liveRow] = await rows();
    assert.deepEqual(demo.slice(0, 5), ['demo-20260101-000000', '0.0002', '12', '–', demoConfig.train_file]);
    assert.equal(Number(demo[5]), Number(demoTrainLoss.toPrecision(4)));
    assert.deepEqual(demo.slice(6), ['0.6207', '0.861', '1', '–', '–']);
    assert.deepEqual(tunedRow, ['tuned-20260101-000000', '0.00005', '30', 'loss', XSS[0], String(Number((2 / Math.sqrt(30)).toPrecision(4))), '1.3', '0.35', '–', '1.2', '20']);
    assert.equal(liveRow[0], 'live-20260101-000000');
    assert.deepEqual(liveRow.slice(1, 5), ['–', '–', '–', '–'], 'the live run has no config.resolved.json');
    assert.match(await page.textContent('#compare-note'), /^live-20260101-000000: config\.resolved\.json: missing/);
    assert.equal(await page.$$eval('#compare-table img, #compare-table script', (els) => els.length), 0, 'config text stays text');

    // Sorting: a click sorts ascending, a second descending; empty cells stay last.
    const names = async () => (await rows()).map((r) => r[0].split('-')[0]);
    await page.click('#compare-table th[data-key="config:learning_rate"] button');
    assert.deepEqual(await names(), ['tuned', 'demo', 'live']);
    assert.equal(await page.getAttribute('#compare-table th[data-key="config:learning_rate"]', 'aria-sort'), 'ascending');
    await page.click('#compare-table th[data-key="config:learning_rate"] button');
    assert.deepEqual(await names(), ['demo', 'tuned', 'live']);
    assert.equal(await page.getAttribute('#compare-table th[data-key="config:learning_rate"]', 'aria-sort'), 'descending');
    await page.click('#compare-table th[data-key="trainLoss"] button');
    const losses = (await rows()).map((r) => Number(r[5]));
    assert.ok(losses[0] <= losses[1] && losses[1] <= losses[2], losses.join(' ≤ '));
    assert.deepEqual((await page.evaluate(() => window.__sftState)).compareSort, { key: 'trainLoss', direction: 'ascending' });
    // The eval charts mark the best run's best step in its own colour.
    assert.equal(await page.getAttribute('#eval-loss-chart', 'data-markers'), 'tuned-20260101-000000:best@20');
    await screenshot(page, 'dashboard-compare-table-dark');

    // Back to one run: no table.
    for (let i = 0; i < 2; i++) await page.click('#compare-remove-0');
    await page.waitForFunction(() => document.querySelectorAll('#compare-list li').length === 0);
    await page.waitForSelector('#compare-section', { state: 'hidden' });
    await safetyChecks(page, errors);
    await finish();
  });

  test('a 200k-step run opens from a sample of its rows and fills in: times reported, loose bound asserted', async () => {
    const runDir = path.join(runsRoot, 'long-20260101-000000');
    const steps = 200_000;
    const lines = [event(0, 1, 'run_started', { step: 0, config: {}, total_steps: steps, num_parameters: 1, trainable_parameters: 1, world_size: 1, device: 'cpu' })];
    for (let i = 1; i <= steps; i++) {
      lines.push(event(i, 1 + i * 0.01, 'train', { step: i, epoch: i / 1000, loss: 2 / Math.sqrt(i) + (i === 123_456 ? 5 : 0.05 * Math.sin(i)), grad_norm: 1, learning_rate: 1e-4, tokens: i * 100, tokens_per_s: 1000 }));
    }
    writeRun(runDir, lines, { pid: 1, state: 'completed', heartbeat: 100, started: 1, step: steps, total_steps: steps });
    const opened = Date.now();
    const { page, errors, finish } = await openPage('dashboard', { runDir });
    await page.waitForFunction(() => Number(document.querySelector('#loss-chart')?.getAttribute('data-points')) > 0, null, { timeout: 60_000 });
    const drawnMs = Date.now() - opened;

    assert.equal(await page.textContent('#run-step'), `step ${steps}/${steps}`);
    // The spike at step 123,456 survives the sampling.
    await page.waitForFunction(() => window.sftDashboard.lossRows().max > 5, null, { timeout: 60_000 });
    const filledMs = Date.now() - opened;
    const points = (await page.evaluate(() => window.sftDashboard.lossRows())).rows;
    assert.ok(points < 20_000, `the page holds a sample (${points} rows), not 200k`);
    const perChart = [];
    for (let r = 0; r < 5; r++) perChart.push(await page.evaluate(() => window.sftDashboard.measureAll()));
    const allMs = perChart.map((c) => c.reduce((sum, x) => sum + x, 0)).sort((a, b) => a - b);
    const client = await page.context().newCDPSession(page);
    await client.send('Performance.enable');
    const metrics = Object.fromEntries((await client.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
    bench.longRun = { steps, openToDrawnMs: drawnMs, openToFilledMs: filledMs, rowsHeld: points, allChartsRedrawMs: Number(allMs[2].toFixed(1)), jsHeapMiB: Number((metrics.JSHeapUsedSize / 2 ** 20).toFixed(0)) };
    assert.ok(drawnMs < 15_000, `opening took ${drawnMs} ms`);
    await safetyChecks(page, errors);
    await finish();
  });
});

describe('panel errors', () => {
  test('every panel shows a host error with a retry instead of loading forever', async () => {
    for (const entry of ['dashboard', 'generations', 'judge', 'tokens', 'chat']) {
      const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
      const errors = [];
      page.on('pageerror', (e) => errors.push(e.message));
      let readies = 0;
      await page.exposeFunction('__sftToHost', async (message) => {
        if (message?.type !== 'ready') return;
        readies += 1;
        const reply = { type: 'panel-error', message: `This panel could not load its data: EACCES <b>${entry}</b>` };
        await page.evaluate((m) => window.postMessage(m, '*'), reply);
      });
      await page.addInitScript(() => {
        window.__sftState = undefined;
        window.acquireVsCodeApi = () => ({ postMessage: (m) => window.__sftToHost(m), getState: () => window.__sftState, setState: (s) => (window.__sftState = s) });
      });
      await page.route(`${ORIGIN}/**`, (route) => {
        const url = new URL(route.request().url());
        if (url.pathname === '/index.html') return route.fulfill({ contentType: 'text/html', body: host.panelHtml(entry) });
        const file = path.join(repoRoot, url.pathname);
        if (!file.startsWith(path.join(repoRoot, 'dist')) || !fs.existsSync(file)) return route.fulfill({ status: 404 });
        return route.fulfill({ contentType: file.endsWith('.css') ? 'text/css' : 'text/javascript', body: fs.readFileSync(file) });
      });
      await page.goto(`${ORIGIN}/index.html`);
      await page.waitForSelector('#panel-error:not([hidden])');
      assert.equal(await page.textContent('#panel-error-message'), `This panel could not load its data: EACCES <b>${entry}</b>`, entry);
      assert.equal(await page.$$eval('#panel-error b', (els) => els.length), 0, 'shown as text');
      await page.click('#panel-error-retry');
      await waitUntil(() => readies === 2, `${entry}: Retry says ready again`);
      assert.deepEqual(errors, [], entry);
      await page.close();
    }
  });
});

async function waitUntil(check, what, timeoutMs = 5000) {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('generations', () => {
  test('the fixture run: step 0 first, reference, exact-match marks, screenshots', async () => {
    for (const theme of ['dark', 'light']) {
      const { page, errors, finish } = await openPage('generations', { runDir: path.join(runsRoot, 'demo-20260101-000000'), theme });
      await page.waitForSelector('#generations tbody tr');
      const heads = await page.$$eval('#generations thead th', (els) => els.map((e) => e.textContent));
      assert.deepEqual(heads, ['Prompt', 'Reference', 'step 0 (base)', 'step 12']);
      const rows = await page.$$eval('#generations tbody tr', (els) => els.map((e) => e.dataset.promptId));
      assert.deepEqual(rows, ['p0', 'p1']);
      const marks = await page.$$eval('#generations td.completion', (els) => els.map((e) => `${e.dataset.promptId}@${e.dataset.step}:${e.dataset.match}`));
      const events = fs.readFileSync(path.join(fixtureRun, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'generation');
      assert.deepEqual(
        marks.sort(),
        events.map((g) => `${g.prompt_id}@${g.step}:${g.completion.trim() === g.reference.trim()}`).sort(),
      );
      assert.match(await page.textContent('#generations tbody tr th .meta'), /greedy · max 24 new tokens/);
      await screenshot(page, `generations-${theme}`);
      await safetyChecks(page, errors);
      await finish();
    }
  });

  test('HTML in completions is shown literally, never parsed', async () => {
    const { page, errors, finish } = await openPage('generations', { runDir: path.join(runsRoot, 'xss-20260101-000000') });
    await page.waitForSelector('#generations td.completion[data-step="5"]');
    const texts = await page.$$eval('#generations td.completion[data-step="5"] .text', (els) => els.map((e) => e.textContent));
    assert.deepEqual(texts, XSS);
    assert.equal(await page.$$eval('#generations img, #generations script, #generations a', (els) => els.length), 0);
    assert.equal(await page.$eval('#generations td.completion[data-prompt-id="x3"][data-step="5"]', (e) => e.dataset.match), 'true');
    await screenshot(page, 'generations-xss-dark');
    await safetyChecks(page, errors);
    await finish();
  });

  test('two clicked cells open a diff; search filters; exports hold the rows shown', async () => {
    const { page, panel, errors, finish } = await openPage('generations', { runDir: path.join(runsRoot, 'xss-20260101-000000') });
    await page.waitForSelector('#generations td.completion[data-step="5"]');
    await page.click('td.completion[data-prompt-id="x0"][data-step="0"]');
    assert.equal(await page.getAttribute('td.completion[data-prompt-id="x0"][data-step="0"]', 'aria-selected'), 'true');
    // The second cell by keyboard: focus moves right with the arrow key, Enter chooses it.
    await page.focus('td.completion[data-prompt-id="x0"][data-step="0"]');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => /Comparing step 0/.test(document.querySelector('#status').textContent));
    assert.deepEqual(panel.recorded, [{ kind: 'diff', title: 'x0@0 ↔ x0@5', left: 'base 0', right: XSS[0] }]);

    await page.locator('#search input').fill('javascript:');
    await page.waitForFunction(() => document.querySelectorAll('#generations tbody tr').length === 1);
    assert.equal(await page.textContent('#table-counts'), '1 of 4 prompts · 2 steps');
    await page.click('#export-csv');
    await page.waitForFunction(() => /Exported 2 rows/.test(document.querySelector('#status').textContent));
    const csv = fs.readFileSync(path.join(saveDir, 'generations.csv'), 'utf8');
    assert.equal(csv.split('\r\n')[0], 'prompt_id,step,prompt,completion,reference,exact_match,max_new_tokens,temperature,top_p');
    assert.ok(csv.includes(`x2,5,"Say ${XSS[2].replace(/"/g, '""')}","${XSS[2].replace(/"/g, '""')}",ref 2,false,16,0,1`), csv);
    await page.locator('#search input').fill('');
    await page.click('#export-jsonl');
    await page.waitForFunction(() => /Exported 8 rows/.test(document.querySelector('#status').textContent));
    const jsonl = fs.readFileSync(path.join(saveDir, 'generations.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(jsonl.map((r) => `${r.prompt_id}@${r.step}`), ['x0@0', 'x0@5', 'x1@0', 'x1@5', 'x2@0', 'x2@5', 'x3@0', 'x3@5']);
    await safetyChecks(page, errors);
    await finish();
  });

  test('narrow window: step 0 stays first, the slider picks the other columns', async () => {
    const { page, errors, finish } = await openPage('generations', { runDir: path.join(runsRoot, 'steps-20260101-000000'), width: 900 });
    await page.waitForSelector('#generations tbody tr');
    const heads = () => page.$$eval('#generations thead th[data-step]', (els) => els.map((e) => e.dataset.step));
    // (900 − 360) / 260 → two step columns: the base model and the newest step.
    assert.deepEqual(await heads(), ['0', '50']);
    assert.equal(await page.isVisible('.step-slider'), true);
    assert.match(await page.textContent('#generations tbody th .meta'), /temperature 0\.7 · top_p 0\.9 · max 8 new tokens/);
    await page.locator('#step-slider').fill('2');
    await page.waitForFunction(() => document.querySelector('#generations thead th:last-child')?.dataset.step === '20');
    assert.deepEqual(await heads(), ['0', '20']);
    assert.equal(await page.textContent('td.completion[data-step="20"] .text'), 'answer at 20');
    await screenshot(page, 'generations-narrow-light');
    await safetyChecks(page, errors);
    await finish();
  });
});

describe('judge', () => {
  test('reference judge against the references: live tally, win rate with CI, per-prompt table', async () => {
    const { page, panel, errors, finish } = await openPage('judge');
    await page.waitForSelector('#side-a-run vscode-option', { state: 'attached' });
    await choose(page, 'side-a-run', 'demo-20260101-000000');
    await choose(page, 'side-b-kind', 'the reference answers');
    await choose(page, 'judge-match', 'exact text');
    await page.click('#judge-start');
    await page.waitForFunction(() => /^4 \/ 4 calls$/.test(document.querySelector('#judge-progress-text').textContent));
    await panel.judge.finished;
    // Step 12 of the fixture: p0 exact, p1 not → A (the run) ties p0 with the reference and loses p1.
    const outcomes = await page.$$eval('#judge-records tbody tr', (els) => els.map((e) => `${e.dataset.promptId}:${e.dataset.outcome}`));
    const last = fs.readFileSync(path.join(fixtureRun, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'generation' && e.step === 12);
    assert.deepEqual(outcomes, last.map((g) => `${g.prompt_id}:${g.completion.trim() === g.reference.trim() ? 'tie' : 'loss'}`));
    const ties = last.filter((g) => g.completion.trim() === g.reference.trim()).length;
    const winRate = (ties / 2 / last.length) * 100;
    assert.match(await page.textContent('[data-fact="win rate of A"]'), new RegExp(`^${winRate.toFixed(1)}%`));
    assert.equal(await page.textContent('[data-fact="consistency"]'), '100.0%  (0 prompts disagree between orders)');
    assert.equal(await page.getAttribute('#judge-tally .segment.tie', 'data-count'), String(ties));
    const summary = JSON.parse(fs.readFileSync(path.join(runsRoot, 'judge', (await page.evaluate(() => window.__sftState.id)), 'summary.json'), 'utf8'));
    assert.equal(summary.win_rate, ties / 2 / last.length);
    await screenshot(page, 'judge-dark');
    await safetyChecks(page, errors);
    await finish();
  });

  test('a chat-model judge arguing in HTML: arguments and answers stay text; history lists both', async () => {
    const { page, panel, errors, finish } = await openPage('judge', { theme: 'light' });
    await page.waitForSelector('#side-a-run vscode-option', { state: 'attached' });
    await choose(page, 'side-a-run', 'xss-20260101-000000');
    await choose(page, 'side-a-step', 'step 5');
    await choose(page, 'side-b-run', 'xss-20260101-000000');
    await choose(page, 'side-b-step', 'step 0 (base)');
    await choose(page, 'judge-kind', 'VS Code language model');
    await page.click('#judge-lm-refresh');
    await page.waitForFunction(() => document.querySelector('#judge-lm-model vscode-option')?.textContent === 'Scripted <b>judge</b>');
    await page.click('#judge-start');
    await page.waitForFunction(() => /^8 \/ 8 calls$/.test(document.querySelector('#judge-progress-text').textContent));
    await panel.judge.finished;
    const answers = await page.$$eval('#judge-records tbody td.answer:nth-of-type(1) .text', (els) => els.map((e) => e.textContent));
    assert.deepEqual(answers, XSS);
    const argumentsShown = await page.$$eval('#judge-records .argument', (els) => els.map((e) => e.textContent));
    assert.ok(argumentsShown.length === 8 && argumentsShown.every((a) => a.startsWith('<img src=x onerror=')), argumentsShown[0]);
    // The scripted judge always picks the answer shown first: every prompt is inconsistent, bias 100%.
    assert.equal(await page.textContent('[data-fact="consistency"]'), '0.0%  (4 prompts disagree between orders)');
    assert.match(await page.textContent('[data-fact="position bias"]'), /^100\.0%/);
    assert.equal(await page.$$eval('#judge-records img, #judge-records script', (els) => els.length), 0);
    await page.waitForFunction(() => document.querySelectorAll('#judge-history li').length === 2);
    await screenshot(page, 'judge-light');
    await page.click('#judge-export');
    await page.waitForFunction(() => /Exported to/.test(document.querySelector('#judge-status').textContent));
    assert.ok(fs.readFileSync(path.join(saveDir, 'records.csv'), 'utf8').startsWith('prompt_id,prompt,reference,answer_a,answer_b,outcome'));
    await safetyChecks(page, errors);
    await finish();
  });
});
