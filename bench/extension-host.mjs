#!/usr/bin/env node
// `node bench/extension-host.mjs`: what the extension costs the real VS Code extension host, measured in
// code-server (the end-to-end tests' set-up) driven by Chromium.
//
//   activation  VS Code's own timings of this extension over --loads window loads, read from
//               "Developer: Startup Performance" (load code = require of dist/extension.js, call
//               activate = activate() itself). Goal: < 50 ms.
//   latency     a `train` event appended to a live run's events.jsonl (status.json heartbeat kept fresh)
//               → the Runs tree row and the status bar showing its step in the workbench's DOM, timed
//               in the page with a MutationObserver against the append's time (one clock: same
//               machine). --samples events, spaced out. Goal: < 250 ms.
//   cpu         CPU time (utime + stime, /proc/<pid>/stat) of the extension host while that run logs
//               --rate events/s (default 1,000) for --seconds (default 10), beside the same window
//               following the same run idle for as long; the rest of code-server and Chromium for
//               context. The Runs view stays visible, so rendering is part of the cost.
//   registry    the same load on the extension's own run-following code alone: src/runs/runRegistry
//               (EventReader, status polling) with the Runs view's and status bar's presentation on the
//               same 100 ms throttle, bundled from src/ and run in a plain Node process (process.cpuUsage),
//               so the extension host figure splits into our code and VS Code's (file events, tree RPC).
//
// Options: --loads N (5), --samples N (30), --rate N (1000), --seconds N (10), --out FILE
// (default bench/results/extension-cpu-<date>.json). Needs `node scripts/e2e-tools.mjs` (code-server and
// Chromium) and a built dist/. On a shared machine the numbers move with the load (recorded with them).
import { fork } from 'node:child_process';
import fs from 'node:fs';
import { cmdline, processTree, readStat } from './procTree.mjs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';
import { chromium } from 'playwright-core';
import { ensureE2eTools } from '../scripts/e2e-tools.mjs';
import { repoRoot, sleep, startCodeServer } from '../test/e2e/codeServer.mjs';
import { runCommand, selectors, showViewContainer, waitFor, waitForWorkbench } from '../test/e2e/workbench.mjs';

const EXTENSION_ID = 'sft-studio.sft-studio';
const TOTAL_STEPS = 1_000_000;
const CLK_TCK = 100; // Linux USER_HZ; /proc/<pid>/stat counts CPU time in these ticks

const require = createRequire(import.meta.url);
// out/ is git-ignored and below the repository, so the bundle resolves node_modules from there.
const registryBundle = path.join(repoRoot, 'out', 'bench', 'extension-host-registry.cjs');

const log = (message) => process.stdout.write(`[bench:extension-host] ${message}\n`);
const round = (x, digits = 1) => Number(x.toFixed(digits));
function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))];
}
const stats = (xs) => ({ median: quantile(xs, 0.5), p90: quantile(xs, 0.9), min: Math.min(...xs), max: Math.max(...xs), n: xs.length });

// ---------------------------------------------------------------------------------------------------
// Processes

function cpuTicks(pids) {
  let total = 0;
  for (const pid of pids) {
    try {
      total += readStat(pid).cpuTicks;
    } catch {
      // Exited: its time is gone with it (short-lived helpers only).
    }
  }
  return total;
}

/** The extension host of this code-server, and the rest of its process tree. */
function serverProcesses(serverPid) {
  const tree = processTree(serverPid);
  const extensionHosts = tree.filter((pid) => cmdline(pid).includes('--type=extensionHost'));
  if (extensionHosts.length !== 1) throw new Error(`expected one extension host under code-server ${serverPid}, found ${extensionHosts.length}`);
  return { extensionHost: extensionHosts[0], others: tree.filter((pid) => pid !== extensionHosts[0]) };
}

// ---------------------------------------------------------------------------------------------------
// Activation: the "Extension Activation Stats" table of Developer: Startup Performance.

async function activationRow(page) {
  await runCommand(page, 'Developer: Startup Performance');
  const editor = page.locator('.monaco-editor', { hasText: 'Extension Activation Stats' }).first();
  await editor.waitFor({ state: 'visible', timeout: 30_000 });
  await editor.click();
  // Reveal the row: the editor renders only the lines in view.
  await page.keyboard.press('Control+F');
  await page.keyboard.type(`| ${EXTENSION_ID}`);
  await page.keyboard.press('Enter');
  await page.keyboard.press('Escape');
  const line = page.locator('.monaco-editor .view-line', { hasText: EXTENSION_ID }).first();
  const text = await line.innerText({ timeout: 2000 }).catch(() => undefined);
  await runCommand(page, 'View: Close All Editors');
  if (!text) return undefined;
  // | Extension | Eager | Load Code | Call Activate | Finish Activate | Event | By |
  const cells = text.replace(/\u00a0/g, ' ').split('|').map((c) => c.trim());
  const [id, eager, load, call, finish, event] = cells.slice(1);
  if (id !== EXTENSION_ID) return undefined;
  return { eager: eager === 'true', load_code_ms: Number(load), call_activate_ms: Number(call), finish_activate_ms: Number(finish), event };
}

async function measureActivation(page, url, loads) {
  const samples = [];
  for (let i = 0; i < loads; i++) {
    if (i === 0) await page.goto(url);
    else await page.reload();
    await waitForWorkbench(page);
    const row = await waitFor(() => activationRow(page), { timeoutMs: 60_000, intervalMs: 1000, describe: `${EXTENSION_ID} in the activation table` });
    samples.push(row);
    log(`  load ${i + 1}: load code ${row.load_code_ms} ms, call activate ${row.call_activate_ms} ms, finish activate ${row.finish_activate_ms} ms`);
  }
  return samples;
}

// ---------------------------------------------------------------------------------------------------
// A live run the bench writes as a trainer would.

class LiveRun {
  constructor(runDir, configPath) {
    this.runDir = runDir;
    this.seq = 0;
    this.step = 0;
    fs.mkdirSync(runDir, { recursive: true });
    this.events = fs.openSync(path.join(runDir, 'events.jsonl'), 'a');
    this.beat();
    this.append({ type: 'run_started', step: 0, config: {}, config_path: configPath, total_steps: TOTAL_STEPS, world_size: 1, device: 'cpu' });
    // The trainer beats every few seconds; the extension calls a run without a fresh beat crashed.
    this.heartbeat = setInterval(() => this.beat(), 1000);
  }

  beat() {
    const status = { pid: process.pid, state: 'running', heartbeat: Date.now() / 1000, step: this.step, total_steps: TOTAL_STEPS };
    const tmp = path.join(this.runDir, 'status.json.tmp');
    fs.writeFileSync(tmp, JSON.stringify(status));
    fs.renameSync(tmp, path.join(this.runDir, 'status.json'));
  }

  append(fields) {
    fs.writeSync(this.events, `${JSON.stringify({ v: 1, seq: this.seq++, time: Date.now() / 1000, ...fields })}\n`);
  }

  /** One optimizer step's event; returns the step. */
  train() {
    this.step += 1;
    const loss = 2 / (1 + this.step / 1000);
    this.append({ type: 'train', step: this.step, epoch: this.step / 1000, loss, grad_norm: 1, learning_rate: 2e-4, tokens: 800, tokens_per_s: 600 });
    return this.step;
  }

  close() {
    clearInterval(this.heartbeat);
    fs.closeSync(this.events);
  }
}

/** Starts watching the DOM for the row and the status bar showing `step N/…`; the page records when. */
async function watchForStep(page, runName, step) {
  await page.evaluate(
    ({ runName, needle, rowSelector }) => {
      window.__sftSeen = {};
      const seen = window.__sftSeen;
      const check = () => {
        const now = Date.now();
        if (seen.row === undefined) {
          for (const row of document.querySelectorAll(rowSelector)) {
            if (row.textContent.includes(runName) && row.textContent.includes(needle)) seen.row = now;
          }
        }
        if (seen.statusBar === undefined) {
          for (const item of document.querySelectorAll('.statusbar-item')) {
            if (item.textContent.includes(`SFT ${needle}`)) seen.statusBar = now;
          }
        }
        if (seen.row !== undefined && seen.statusBar !== undefined) observer.disconnect();
      };
      const observer = new MutationObserver(check);
      observer.observe(document.body, { subtree: true, childList: true, characterData: true });
      check();
    },
    { runName, needle: `step ${step}/${TOTAL_STEPS}`, rowSelector: selectors.treeRow },
  );
}

async function seenAt(page, timeoutMs = 10_000) {
  const handle = await page.waitForFunction(() => window.__sftSeen.row !== undefined && window.__sftSeen.statusBar !== undefined && window.__sftSeen, null, {
    timeout: timeoutMs,
    polling: 50,
  });
  return handle.jsonValue();
}

async function measureLatency(page, run, samples) {
  const name = path.basename(run.runDir);
  const row = [];
  const statusBar = [];
  for (let i = 0; i < samples; i++) {
    // Spaced out and off any timer's beat: each sample is a fresh event, not one of a burst.
    await sleep(300 + Math.random() * 300);
    await watchForStep(page, name, run.step + 1);
    const appendedAt = Date.now();
    run.train();
    const seen = await seenAt(page);
    row.push(seen.row - appendedAt);
    statusBar.push(seen.statusBar - appendedAt);
  }
  return { tree_row_ms: row, status_bar_ms: statusBar };
}

async function cpuPhase({ label, processes, browserPids, work }) {
  const before = { ext: cpuTicks([processes.extensionHost]), others: cpuTicks(processes.others), browser: cpuTicks(browserPids()), self: process.cpuUsage() };
  const t0 = Date.now();
  const extra = await work();
  const wall = (Date.now() - t0) / 1000;
  const percent = (ticks) => round(((ticks / CLK_TCK) / wall) * 100);
  const self = process.cpuUsage(before.self);
  const result = {
    wall_s: round(wall, 2),
    extension_host_cpu_percent: percent(cpuTicks([processes.extensionHost]) - before.ext),
    code_server_other_cpu_percent: percent(cpuTicks(processes.others) - before.others),
    chromium_cpu_percent: percent(cpuTicks(browserPids()) - before.browser),
    bench_writer_cpu_percent: round(((self.user + self.system) / 1e6 / wall) * 100),
    ...extra,
  };
  log(`  ${label}: extension host ${result.extension_host_cpu_percent}% of a core, rest of code-server ${result.code_server_other_cpu_percent}%, Chromium ${result.chromium_cpu_percent}%`);
  return result;
}

/** Appends train events at `rate` per second for `seconds`, one write per event as the trainer does. */
async function writeAtRate(run, rate, seconds) {
  const start = Date.now();
  let written = 0;
  while (Date.now() - start < seconds * 1000) {
    const due = Math.floor(((Date.now() - start) / 1000) * rate);
    while (written < due) {
      run.train();
      written += 1;
    }
    await sleep(5);
  }
  return { events_written: written, achieved_rate_per_s: round(written / ((Date.now() - start) / 1000)) };
}

// ---------------------------------------------------------------------------------------------------
// The run-following code alone, in a child Node process.

async function bundleRegistry() {
  await esbuild.build({
    stdin: {
      contents: [
        "export { RunRegistry } from './src/runs/runRegistry';",
        "export { listCheckpoints } from './src/runs/checkpoints';",
        "export { presentRun, statusBarRun, statusBarPresentation } from './src/views/runPresentation';",
        "export { throttle } from './src/common/throttle';",
      ].join('\n'),
      resolveDir: repoRoot,
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    loader: { '.json': 'json' },
    outfile: registryBundle,
    logLevel: 'warning',
  });
}

/** Child: follows the runs under `root` as the extension does and answers CPU marks over IPC. */
async function childRegistry(root) {
  const lib = require(registryBundle);
  const registry = new lib.RunRegistry({ roots: async () => [root] });
  let events = 0;
  let renders = 0;
  // What the Runs view (RunsTreeProvider) and the status bar (RunStatusBar) compute per refresh.
  const render = lib.throttle(() => {
    renders += 1;
    for (const run of registry.list()) lib.presentRun(run, { checkpoints: lib.listCheckpoints(run.runDir).length });
    const active = lib.statusBarRun(registry.list());
    if (active) lib.statusBarPresentation(active);
  }, 100);
  registry.onDidChange(render);
  registry.onDidAppendEvents((appended) => {
    events += appended.events.length;
    render();
  });
  process.on('message', (message) => {
    if (message === 'mark') process.send({ usage: process.cpuUsage(), events, renders, runs: registry.list().map((r) => r.state) });
    if (message === 'exit') {
      registry.dispose();
      process.disconnect();
    }
  });
  // The run folder exists before this process starts: the first scan finds it (the extension's
  // file watcher is what triggers later scans).
  await registry.refresh();
  process.send({ ready: true });
}

async function measureRegistry(session, rate, seconds) {
  await bundleRegistry();
  const root = path.join(session, 'node-runs');
  const run = new LiveRun(path.join(root, 'bench-node'), path.join(session, 'workspace', 'demo.sft.yaml'));
  const child = fork(fileURLToPath(import.meta.url), ['--child-registry', root], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const replies = [];
  let wake = () => {};
  child.on('message', (message) => {
    replies.push(message);
    wake();
  });
  const next = () =>
    replies.length
      ? Promise.resolve(replies.shift())
      : new Promise((resolve) => {
          wake = () => {
            wake = () => {};
            resolve(replies.shift());
          };
        });
  const mark = () => (child.send('mark'), next());
  try {
    await next(); // ready
    await waitFor(async () => (await mark()).runs.includes('running'), { timeoutMs: 20_000, describe: 'the child registry to follow the run' });
    const phase = async (work) => {
      const before = await mark();
      const t0 = Date.now();
      const extra = await work();
      const after = await mark();
      const wall = (Date.now() - t0) / 1000;
      const cpu = (after.usage.user + after.usage.system - before.usage.user - before.usage.system) / 1e6;
      return { wall_s: round(wall, 2), cpu_percent: round((cpu / wall) * 100), events_read: after.events - before.events, renders: after.renders - before.renders, ...extra };
    };
    const idle = await phase(async () => (await sleep(seconds * 1000), {}));
    const following = await phase(async () => {
      const written = await writeAtRate(run, rate, seconds);
      const target = run.step;
      const lastWrite = Date.now();
      // Catch-up: until the child has read every event.
      await waitFor(async () => (await mark()).events >= target, { timeoutMs: 30_000, intervalMs: 20, describe: 'the child registry to read every event' });
      return { ...written, last_event_read_ms: Date.now() - lastWrite };
    });
    log(`  registry alone: idle ${idle.cpu_percent}% of a core, ${rate} events/s ${following.cpu_percent}% (${following.events_read} events read, ${following.renders} renders)`);
    return { idle, following, extra_cpu_percent: round(following.cpu_percent - idle.cpu_percent) };
  } finally {
    run.close();
    child.send('exit');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

// ---------------------------------------------------------------------------------------------------

async function main() {
  const { values } = parseArgs({
    options: {
      loads: { type: 'string', default: '5' },
      samples: { type: 'string', default: '30' },
      rate: { type: 'string', default: '1000' },
      seconds: { type: 'string', default: '10' },
      out: { type: 'string' },
    },
  });
  const loads = Number(values.loads);
  const samples = Number(values.samples);
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  const date = new Date().toISOString().slice(0, 10);
  const out = values.out ?? path.join(repoRoot, 'bench', 'results', `extension-cpu-${date}.json`);

  const bundle = path.join(repoRoot, 'dist', 'extension.js');
  if (!fs.existsSync(bundle)) throw new Error('dist/extension.js is missing: run `npm run build` first');
  const { chromium: chromiumPath } = ensureE2eTools();
  const loadBefore = os.loadavg();

  const session = fs.mkdtempSync(path.join(os.tmpdir(), 'sft-studio-bench-'));
  const workspace = path.join(session, 'workspace');
  const examples = path.join(repoRoot, 'examples');
  fs.cpSync(examples, workspace, { recursive: true, filter: (src) => src !== path.join(examples, 'runs') });
  fs.cpSync(path.join(repoRoot, 'test', 'fixtures', 'runs'), path.join(workspace, 'runs'), { recursive: true });

  let server;
  let browser;
  let run;
  let measured = false;
  const result = {
    date,
    machine: { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model ?? 'unknown', platform: `${process.platform}-${process.arch}`, node: process.version },
    vscode: 'code-server 4.139.1 (VS Code 1.139.1), remote extension host, headless Chromium',
    bundle_bytes: fs.statSync(bundle).size,
    goals: { activation_ms: '< 50 (load code + call activate)', event_to_view_ms: '< 250', cpu: `following a run that logs ${rate} events/s` },
  };
  try {
    server = await startCodeServer({ stateDir: path.join(session, 'code-server') });
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run'] });
    // Chromium's processes: this script's descendants outside code-server's tree.
    const browserPids = () => {
      const serverTree = new Set(processTree(server.pid));
      return processTree(process.pid).filter((pid) => pid !== process.pid && !serverTree.has(pid));
    };
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });

    log(`activation over ${loads} window loads`);
    const activation = await measureActivation(page, server.folderUrl(workspace), loads);
    const total = activation.map((a) => a.load_code_ms + a.call_activate_ms);
    result.activation = {
      load_code_plus_call_activate_ms: stats(total),
      load_code_ms: stats(activation.map((a) => a.load_code_ms)),
      call_activate_ms: stats(activation.map((a) => a.call_activate_ms)),
      samples: activation,
    };

    log(`event → view latency over ${samples} events`);
    run = new LiveRun(path.join(workspace, 'runs', 'bench-live'), path.join(workspace, 'demo.sft.yaml'));
    await showViewContainer(page, 'SFT Studio');
    // The first step shows once the registry found the new folder and started following it.
    await watchForStep(page, 'bench-live', 1);
    run.train();
    await seenAt(page, 60_000);
    const latency = await measureLatency(page, run, samples);
    result.latency = { tree_row_ms: stats(latency.tree_row_ms), status_bar_ms: stats(latency.status_bar_ms), samples: latency };
    log(`  tree row: median ${result.latency.tree_row_ms.median} ms, p90 ${result.latency.tree_row_ms.p90} ms; status bar: median ${result.latency.status_bar_ms.median} ms`);

    log(`CPU: idle, then ${rate} events/s for ${seconds} s`);
    const processes = serverProcesses(server.pid);
    const idle = await cpuPhase({ label: 'idle (live run, no events)', processes, browserPids, work: async () => (await sleep(seconds * 1000), {}) });
    const following = await cpuPhase({
      label: `${rate} events/s`,
      processes,
      browserPids,
      work: async () => {
        const written = await writeAtRate(run, rate, seconds);
        const lastStep = run.step;
        const lastWrite = Date.now();
        await watchForStep(page, 'bench-live', lastStep);
        const seen = await seenAt(page, 30_000);
        return { ...written, last_event_to_row_ms: seen.row - lastWrite };
      },
    });
    result.cpu = {
      rate_per_s: rate,
      seconds,
      idle,
      following,
      extension_host_extra_cpu_percent: round(following.extension_host_cpu_percent - idle.extension_host_cpu_percent),
      note: 'Percent of one core over the phase. "following" includes the catch-up until the row showed the last step.',
    };
    measured = true;
  } finally {
    run?.close();
    await browser?.close().catch(() => {});
    await server?.stop();
    if (!measured) fs.rmSync(session, { recursive: true, force: true });
  }
  log(`run-following code alone (Node ${process.version}): idle, then ${rate} events/s for ${seconds} s`);
  try {
    result.registry_node = await measureRegistry(session, rate, seconds);
  } finally {
    fs.rmSync(session, { recursive: true, force: true });
  }
  result.machine.load_average_before = loadBefore.map((x) => round(x, 2));
  result.machine.load_average_after = os.loadavg().map((x) => round(x, 2));
  result.note = 'Measured on a shared machine (load averages above); timings move with the load.';
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  log(`wrote ${path.relative(repoRoot, out)}`);
}

const childRoot = process.argv[2] === '--child-registry' ? process.argv[3] : undefined;
(childRoot ? childRegistry(childRoot) : main()).catch((error) => {
  console.error(`[bench:extension-host] ${error.stack ?? error}`);
  process.exit(1);
});
