#!/usr/bin/env node
// `node bench/editor-scale.mjs`: the editor at the scale users reach (issue 18), in code-server (the
// end-to-end set-up) driven by headless Chromium, on generated schema-valid run folders
// (bench/runFolders.mjs):
//
//   node      the run-following code alone (src/runs/runRegistry, bundled from --extension's src/,
//             in a plain Node process): time until 300 runs × 3k events are loaded (first and last
//             run announced), heap and RSS after loading. No browser, so the steadiest figures.
//   load      a window opened on the workspace: when the first run row and the oldest run's row
//             (scrolled to) show in the Runs view, whether "No runs yet" was shown meanwhile, and
//             the extension host's RSS once loaded.
//   long      Open Dashboard on the 200k-event run: time until its loss chart is drawn, and until it
//             shows the last step; the workbench page's long tasks (main-thread freezes) meanwhile.
//   live      a run writing --rate train events/s for --seconds with its dashboard open: for every
//             step written, the time until the status bar, the Runs row, the dashboard header and the
//             loss chart showed it or a later step (median, p95); messages/s the webview got;
//             CPU of the extension host and of Chromium's processes (the busiest one is the renderer
//             drawing the workbench and the webview); the backlog after the last write.
//
// Options: --extension DIR (the extension to measure, default this repository: point it at a build of
// an older tree for "before"), --label NAME (before/after; in the output name), --runs N (300),
// --events N (3000 steps per run), --long N (200000), --rate N (200), --seconds N (20),
// --phases node,load,long,live, --profile FILE (a trace of the renderer during the live run, and FILE.long.json
// of the long run's dashboard opening; each with a .cpuprofile of the renderer's JavaScript beside it; and
// FILE.load.cpuprofile: the workbench's JavaScript from the first window's page load to its oldest row),
// --data DIR (generated runs, reused when present; default .cache/editor-scale),
// --out FILE (default bench/results/editor-scale-<label>-<date>.json). KEEP_SESSION=1 keeps the session folder
// (code-server's logs: when the extension host started and what it activated, and why).
// Needs `node scripts/e2e-tools.mjs` (code-server and Chromium) and a built dist/ in --extension.
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
import { pickFromCommand, quickOpenFile, runCommand, selectors, showViewContainer, waitFor, waitForWorkbench, webviewFrame } from '../test/e2e/workbench.mjs';
import { chartStep, dashboardFrameOf, liveRecords, watchLive } from './liveWatch.mjs';
import { checkSchema, LiveRun, writeFinishedRun } from './runFolders.mjs';

const require = createRequire(import.meta.url);
const CLK_TCK = 100; // Linux USER_HZ: /proc/<pid>/stat counts CPU time in these ticks
const LIVE_TOTAL = 1_000_000;
const log = (message) => process.stdout.write(`[bench:editor-scale] ${message}\n`);
const round = (x, digits = 1) => (x === undefined || x === null || !Number.isFinite(x) ? null : Number(x.toFixed(digits)));

function quantile(xs, q) {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))];
}
const stats = (xs) => ({ median: quantile(xs, 0.5), p95: quantile(xs, 0.95), max: xs.length ? Math.max(...xs) : null, n: xs.length });

// ---------------------------------------------------------------------------------------------------
// Data

function makeData(dir, { runs, events, long }) {
  const marker = path.join(dir, `.complete-${runs}-${events}-${long}`);
  if (fs.existsSync(marker)) return;
  fs.rmSync(dir, { recursive: true, force: true });
  log(`generating ${runs} runs × ${events} steps and one run of ${long} steps in ${dir}`);
  const types = checkSchema(repoRoot);
  log(`  generated event types are schema-valid: ${types.join(', ')}`);
  const runsDir = path.join(dir, 'runs');
  const config = path.join(dir, 'demo.sft.yaml');
  const base = 1_767_225_600; // 2026-01-01
  let total = 0;
  for (let i = 0; i < runs; i++) {
    const start = base + i * 3600;
    const name = `hist-${String(i).padStart(3, '0')}-${stamp(start)}`;
    total += writeFinishedRun(path.join(runsDir, name), { steps: events, configPath: config, startTime: start, seed: i + 1 });
  }
  const longStart = base + runs * 3600;
  total += writeFinishedRun(path.join(runsDir, `long-${stamp(longStart)}`), { steps: long, configPath: config, startTime: longStart, seed: 99, stepSeconds: 0.05 });
  fs.writeFileSync(marker, `${total} events\n`);
  log(`  ${total} events written`);
}

function linkTree(from, to) {
  fs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) {
      linkTree(source, target);
      const { atime, mtime } = fs.statSync(source);
      fs.utimesSync(target, atime, mtime);
    } else fs.linkSync(source, target);
  }
}

function stamp(unixSeconds) {
  return new Date(unixSeconds * 1000).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

// ---------------------------------------------------------------------------------------------------
// Processes

const ticks = (pid) => {
  try {
    return readStat(pid).cpuTicks;
  } catch {
    return 0;
  }
};
const rssMiB = (pid) => {
  const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : null;
};

function extensionHostOf(serverPid) {
  const hosts = processTree(serverPid).filter((pid) => cmdline(pid).includes('--type=extensionHost'));
  if (hosts.length === 0) throw new Error('no extension host under code-server');
  // VS Code may still be replacing one (a window reload); the newest is the window's.
  return Math.max(...hosts);
}

/** CPU of each process over a phase, as percent of one core. */
function cpuMeter(pids) {
  const before = new Map(pids().map((pid) => [pid, ticks(pid)]));
  const t0 = Date.now();
  return () => {
    const wall = (Date.now() - t0) / 1000;
    const out = {};
    for (const pid of pids()) out[pid] = round(((ticks(pid) - (before.get(pid) ?? 0)) / CLK_TCK / wall) * 100);
    return out;
  };
}

// ---------------------------------------------------------------------------------------------------
// Phase: the registry alone in Node

async function nodePhase(extension, runsDir) {
  const bundle = path.join(repoRoot, 'out', 'bench', `editor-scale-registry-${path.basename(extension)}.cjs`);
  await esbuild.build({
    stdin: { contents: "export { RunRegistry } from './src/runs/runRegistry';", resolveDir: extension, loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    loader: { '.json': 'json' },
    outfile: bundle,
    logLevel: 'warning',
  });
  const child = fork(fileURLToPath(import.meta.url), ['--child-registry', bundle, runsDir], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const result = await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`registry child exited ${code}`)));
  });
  child.kill();
  log(`  node: ${result.runs} runs loaded in ${result.all_loaded_ms} ms (first after ${result.first_run_ms} ms); RSS ${result.rss_mib} MiB, heap ${result.heap_used_mib} MiB`);
  log(`  node: all listed from previews after ${result.all_listed_from_previews.sync_ms} ms (read synchronously), ${result.all_listed_from_previews.async_ms} ms (asynchronously, 8 at once)`);
  return result;
}

async function childRegistry(bundle, root) {
  const { RunRegistry } = require(bundle);
  // Every run listed from previews (registry.listed()), read synchronously (the default) and asynchronously, 8 at
  // once (how it reads where the first previews are slow: a network file system); the page cache is warm for both.
  // The hand-offs to the thread pool cost even in a quiet process, and more in a window's first scan, on cores
  // shared with the workbench (the load phase).
  const listedMs = async (slowPreviewMs) => {
    const registry = new RunRegistry({ roots: async () => [root], statusPollMs: 3_600_000, slowPreviewMs });
    const t0 = performance.now();
    const refreshing = registry.refresh();
    await registry.listed();
    const ms = performance.now() - t0;
    await refreshing;
    registry.dispose();
    return round(ms, 0);
  };
  await listedMs(undefined); // warms the code up for both
  const listed = { sync_ms: await listedMs(undefined), async_ms: await listedMs(0) };
  global.gc?.();
  const baseline = process.memoryUsage();
  const registry = new RunRegistry({ roots: async () => [root], statusPollMs: 3_600_000 });
  const t0 = performance.now();
  let first;
  registry.onDidChange(() => {
    if (first === undefined && registry.list().length > 0) first = performance.now() - t0;
  });
  await registry.refresh();
  const loaded = performance.now() - t0;
  global.gc?.();
  const memory = process.memoryUsage();
  process.send({
    runs: registry.list().length,
    first_run_ms: round(first ?? loaded, 0),
    all_loaded_ms: round(loaded, 0),
    all_listed_from_previews: listed,
    rss_mib: round(memory.rss / 2 ** 20),
    rss_growth_mib: round((memory.rss - baseline.rss) / 2 ** 20),
    heap_used_mib: round(memory.heapUsed / 2 ** 20),
  });
}

// ---------------------------------------------------------------------------------------------------
// Phases in the workbench

/** A file of the bench workspace that the long phase previews (the peer of a dashboard opened from the palette). */
const PEER_MARKDOWN = 'PEER-NOTES.md';

/** Installed before the workbench loads: long tasks, and what the Runs view showed when. */
function instrumentPage() {
  window.__sftLong = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__sftLong.push({ at: performance.timeOrigin + e.startTime, ms: e.duration, context: e.name });
  }).observe({ type: 'longtask', buffered: true });
  window.__sftSeen = {};
  const check = () => {
    const now = Date.now();
    const seen = window.__sftSeen;
    const welcome = [...document.querySelectorAll('.welcome-view-content')].some((w) => w.offsetParent !== null && /No runs yet/.test(w.textContent));
    if (seen.noRuns === undefined && welcome) seen.noRuns = now;
    if (seen.loading === undefined && [...document.querySelectorAll('.pane-body .monaco-list-row')].some((r) => /Loading runs/.test(r.textContent))) seen.loading = now;
    if (seen.firstRow === undefined) {
      for (const row of document.querySelectorAll('.pane-body .monaco-list-row')) if (/-\d{8}-\d{6}/.test(row.textContent)) seen.firstRow = now;
    }
  };
  new MutationObserver(check).observe(document, { subtree: true, childList: true, characterData: true });
}

async function rowVisible(page, name) {
  return page.evaluate(({ name, rowSelector }) => [...document.querySelectorAll(rowSelector)].some((r) => r.textContent.includes(name)), { name, rowSelector: selectors.treeRow });
}

/** Moves the Runs view's focus to its last (`End`) or first (`Home`) row, which scrolls it into view. */
async function revealRunsEdge(page, key) {
  const list = page.locator('.pane-body .monaco-list').first();
  if (!(await list.isVisible().catch(() => false))) return;
  await list.focus();
  await page.keyboard.press(key);
}

/** The first window on the workspace, then the same window opened again (its runs cache written by the first). */
async function loadPhase(page, url, oldest, serverPid, profile) {
  const first = await openWindow(page, url, oldest, serverPid, 'first window', profile?.replace(/(\.json)?$/, '.load.cpuprofile'));
  const reopened = await openWindow(page, url, oldest, serverPid, 'reopened');
  return { ...first, reopened };
}

/** `profile`: a file for the workbench's JavaScript samples from the page load until the oldest row shows. */
async function openWindow(page, url, oldest, serverPid, label, profile) {
  let cdp;
  if (profile) {
    cdp = await page.context().newCDPSession(page);
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 500 });
    await cdp.send('Profiler.start');
  }
  const t0 = Date.now();
  await page.goto(url);
  await waitForWorkbench(page);
  await showViewContainer(page, 'SFT Studio');
  const viewAt = Date.now();
  let allAt;
  await waitFor(
    async () => {
      if (await rowVisible(page, oldest)) return (allAt = Date.now());
      await revealRunsEdge(page, 'End');
      return false;
    },
    { timeoutMs: 180_000, intervalMs: 100, describe: `the oldest run ${oldest} in the Runs view` },
  );
  if (cdp) {
    fs.writeFileSync(profile, JSON.stringify((await cdp.send('Profiler.stop')).profile));
    await cdp.detach();
  }
  const seen = await page.evaluate(() => window.__sftSeen);
  await sleep(3000);
  // Found after the wait: a window's first connection may start a host that is gone moments later.
  const host = extensionHostOf(serverPid);
  const result = {
    view_shown_ms: viewAt - t0,
    first_row_ms: seen.firstRow ? seen.firstRow - t0 : null,
    oldest_row_ms: allAt - t0,
    first_row_after_view_ms: seen.firstRow ? seen.firstRow - viewAt : null,
    oldest_row_after_view_ms: allAt - viewAt,
    no_runs_yet_shown: seen.noRuns !== undefined,
    loading_shown: seen.loading !== undefined,
    extension_host_rss_mib: round(rssMiB(host)),
    note: 'from page navigation; includes the workbench start (the same in both versions)',
  };
  log(`  load (${label}): view shown after ${result.view_shown_ms} ms; then first row ${result.first_row_after_view_ms} ms, oldest row ${result.oldest_row_after_view_ms} ms; "No runs yet" shown: ${result.no_runs_yet_shown}, RSS ${result.extension_host_rss_mib} MiB`);
  return result;
}

async function longPhase(page, longName, steps, profile) {
  const profiling = profile ? profileRenderer(page, profile.replace(/(\.json)?$/, '.long.json'), 4) : undefined;
  const fromPalette = () => pickFromCommand(page, 'SFT Studio: Open Dashboard', longName);
  const palette = await openLongDashboard(page, longName, steps, fromPalette);
  await profiling;
  // The way most dashboards open: a click on the run's row (its command passes the run, no quick pick).
  await showViewContainer(page, 'SFT Studio');
  await revealRunsEdge(page, 'Home');
  const row = await openLongDashboard(page, longName, steps, () => page.locator(selectors.treeRow, { hasText: longName }).first().click());
  // The first webview panel of a window costs the workbench more than later ones (the peer's first and second
  // opening show it too): the palette path once more, now like the row click.
  const paletteAgain = await openLongDashboard(page, longName, steps, fromPalette);
  // Twice: the first opening also activates the Markdown extension.
  const peer = { first: await openMarkdownPreview(page), again: await openMarkdownPreview(page) };
  const result = {
    ...palette,
    from_row_click: row,
    from_palette_again: paletteAgain,
    peer_markdown_preview: peer,
    note: "from the Open Dashboard command (palette and quick pick included), the window's first webview panel; from_row_click: from a click on the run's row; from_palette_again: the palette path once more; peer_markdown_preview: VS Code's own Markdown preview (a webview panel too) opened from the palette, first (activating its extension) and again: the floor of that path",
  };
  log(`  long run from the palette: chosen after ${palette.opened_ms} ms, webview page after ${palette.webview_page_ms} ms, chart drawn after ${palette.drawn_ms} ms, last step after ${palette.last_step_drawn_ms} ms; longest workbench task ${palette.workbench_long_tasks.max_ms} ms`);
  log(`  long run from its row: webview page after ${row.webview_page_ms} ms, chart drawn after ${row.drawn_ms} ms, last step after ${row.last_step_drawn_ms} ms; longest workbench task ${row.workbench_long_tasks.max_ms} ms`);
  log(`  long run from the palette again: webview page after ${paletteAgain.webview_page_ms} ms, last step after ${paletteAgain.last_step_drawn_ms} ms; longest workbench task ${paletteAgain.workbench_long_tasks.max_ms} ms`);
  log(`  peer: Markdown preview from the palette: page after ${peer.first.webview_page_ms} ms, then ${peer.again.webview_page_ms} ms; longest workbench task ${peer.first.workbench_long_tasks.max_ms} ms, then ${peer.again.workbench_long_tasks.max_ms} ms`);
  return result;
}

/**
 * The same palette path for a webview panel the workbench ships (markdown-language-features' preview of a
 * small file): what opening any webview panel from the palette costs the workbench on this machine.
 */
async function openMarkdownPreview(page) {
  await quickOpenFile(page, PEER_MARKDOWN);
  const since = Date.now();
  await runCommand(page, 'Markdown: Open Preview');
  await webviewFrame(page, 'h1#peer-notes', { timeoutMs: 60_000 });
  const frameFound = Date.now();
  return { webview_page_ms: frameFound - since, workbench_long_tasks: await settleAndClose(page, since) };
}

/** The workbench's long tasks since `since`, a second after the panel showed; then every editor closed. */
async function settleAndClose(page, since) {
  await sleep(1000);
  const long = (await page.evaluate(() => window.__sftLong)).filter((t) => t.at >= since);
  await runCommand(page, 'View: Close All Editors');
  return longTaskSummary(long, since);
}

/** Opens the long run's dashboard with `open` and times it until its loss chart shows a first and the last step. */
async function openLongDashboard(page, longName, steps, open) {
  const since = Date.now();
  await open();
  const opened = Date.now();
  const frame = await webviewFrame(page, '#loss-chart', { timeoutMs: 120_000 });
  const frameFound = Date.now();
  let drawnAt;
  let filledAt;
  await waitFor(
    async () => {
      const step = await frame.evaluate(chartStep);
      const now = Date.now();
      if (step > 0) drawnAt ??= now;
      if (step >= steps) filledAt = now;
      return filledAt;
    },
    { timeoutMs: 180_000, intervalMs: 50, describe: `the dashboard of ${longName} drawn to step ${steps}` },
  );
  const workbenchLongTasks = await settleAndClose(page, since);
  return {
    opened_ms: opened - since,
    webview_page_ms: frameFound - since,
    drawn_ms: drawnAt - since,
    last_step_drawn_ms: filledAt - since,
    workbench_long_tasks: workbenchLongTasks,
  };
}

function longTaskSummary(long, since) {
  return {
    count: long.length,
    max_ms: round(Math.max(0, ...long.map((t) => t.ms)), 0),
    total_ms: round(long.reduce((s, t) => s + t.ms, 0), 0),
    // From the opening: when, how long, and in which frame ('self': the workbench; a descendant: the webview's page).
    tasks: long.map((t) => ({ after_ms: round(t.at - since, 0), ms: round(t.ms, 0), context: t.context })),
  };
}

/**
 * A trace of the renderer (workbench and webviews) for `seconds`, written to `file` (open it in
 * Chromium's Performance panel); the busiest event kinds are logged.
 */
async function profileRenderer(page, file, seconds) {
  const browser = page.context().browser();
  // JavaScript samples too (FILE.cpuprofile, for the Performance panel or any .cpuprofile reader): the trace says
  // which tasks are long, the samples which functions they ran.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
  await cdp.send('Profiler.start');
  await browser.startTracing(page, { categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8.execute'] });
  await sleep(seconds * 1000);
  const buffer = await browser.stopTracing();
  const { profile } = await cdp.send('Profiler.stop');
  await cdp.detach().catch(() => {});
  fs.writeFileSync(file.replace(/\.json$/, '.cpuprofile'), JSON.stringify(profile));
  fs.writeFileSync(file, buffer);
  const totals = new Map();
  for (const event of JSON.parse(buffer.toString('utf8')).traceEvents) {
    if (event.ph !== 'X' || !event.dur) continue;
    totals.set(event.name, (totals.get(event.name) ?? 0) + event.dur / 1000);
  }
  const top = [...totals].sort((a, b) => b[1] - a[1]).slice(0, 12);
  log(`  renderer trace (${file}), ms per kind over ${seconds} s: ${top.map(([name, ms]) => `${name} ${Math.round(ms)}`).join(', ')}`);
}

async function livePhase({ page, runsDir, configPath, rate, seconds, serverPid, browserPids, profile }) {
  const name = `live-${stamp(Date.now() / 1000)}`;
  const run = new LiveRun(path.join(runsDir, name), configPath, LIVE_TOTAL);
  try {
    run.train();
    await waitFor(
      async () => {
        if (await rowVisible(page, name)) return true;
        await revealRunsEdge(page, 'Home');
        return false;
      },
      { timeoutMs: 60_000, describe: `the live run ${name} in the Runs view` },
    );
    await pickFromCommand(page, 'SFT Studio: Open Dashboard', name);
    const frame = await waitFor(() => dashboardFrameOf(page, name), { timeoutMs: 60_000, describe: `the dashboard of ${name}` });
    await watchLive(page, frame, name);
    const host = extensionHostOf(serverPid);
    // The same window with the run alive but quiet, for comparison (spinners, cursor blink, timers).
    const idleMeter = cpuMeter(() => [host, ...browserPids()]);
    await sleep(5000);
    const idle = idleMeter();
    const meter = cpuMeter(() => [host, ...browserPids()]);
    const start = Date.now();
    const firstStep = run.step + 1;
    let written = 0;
    const profiling = profile ? profileRenderer(page, profile, Math.min(5, seconds / 2)) : undefined;
    while (Date.now() - start < seconds * 1000) {
      const due = Math.floor(((Date.now() - start) / 1000) * rate);
      while (written < due) {
        run.train();
        written += 1;
      }
      await sleep(5);
    }
    const writeEnd = Date.now();
    const lastStep = run.step;
    const cpu = meter();
    await profiling;
    // Backlog: until every view shows the last step.
    const caughtUp = {};
    await waitFor(
      async () => {
        const { messages: _, ...views } = await liveRecords(page, frame);
        for (const [key, records] of Object.entries(views)) {
          const hit = records.find(([, step]) => step >= lastStep);
          if (hit && caughtUp[key] === undefined) caughtUp[key] = hit[0] - writeEnd;
        }
        return Object.keys(caughtUp).length === 4;
      },
      { timeoutMs: 120_000, intervalMs: 100, describe: 'every view to show the last step' },
    ).catch((error) => log(`  ${error.message}`));
    const recorded = await liveRecords(page, frame);
    // For every step written, how long until the view showed it or a later one: what a user waits.
    const lag = (records) => {
      const out = [];
      let r = 0;
      for (let step = firstStep; step <= lastStep; step++) {
        while (r < records.length && records[r][1] < step) r++;
        if (r === records.length) break;
        out.push(records[r][0] - run.writtenAt.get(step));
      }
      return out;
    };
    const shown = (records) => records.filter(([at]) => at <= writeEnd).length;
    const browserCpu = Object.entries(cpu).filter(([pid]) => Number(pid) !== host).map(([, pct]) => pct);
    const byProcess = (measured) =>
      Object.entries(measured)
        .filter(([pid, pct]) => Number(pid) !== host && pct > 0.5)
        .map(([pid, pct]) => `${/--type=([\w-]+)/.exec(cmdline(Number(pid)))?.[1] ?? 'browser'} ${pid}: ${pct}%`);
    const result = {
      rate_per_s: rate,
      seconds,
      events_written: written,
      event_to_view_ms: {
        status_bar: stats(lag(recorded.statusBar)),
        runs_row: stats(lag(recorded.row)),
        dashboard_header: stats(lag(recorded.header)),
        chart: stats(lag(recorded.chart)),
      },
      updates_per_s: {
        status_bar: round(shown(recorded.statusBar) / seconds),
        runs_row: round(shown(recorded.row) / seconds),
        dashboard_header: round(shown(recorded.header) / seconds),
        chart: round(shown(recorded.chart) / seconds),
      },
      backlog_after_last_write_ms: caughtUp,
      webview_messages_per_s: round(recorded.messages / ((Date.now() - start) / 1000)),
      cpu_percent_of_a_core: {
        extension_host: cpu[host],
        chromium_busiest_process: round(Math.max(0, ...browserCpu)),
        chromium_all: round(browserCpu.reduce((s, x) => s + x, 0)),
        chromium_by_process: byProcess(cpu),
        quiet_run_before: { extension_host: idle[host], chromium_by_process: byProcess(idle) },
      },
      note: 'event_to_view: for every step written, the time until the DOM showed it or a later step; CPU over the writing phase',
    };
    const e = result.event_to_view_ms;
    log(`  live: status bar ${e.status_bar.median}/${e.status_bar.p95} ms, row ${e.runs_row.median}/${e.runs_row.p95} ms, header ${e.dashboard_header.median}/${e.dashboard_header.p95} ms, chart ${e.chart.median}/${e.chart.p95} ms (median/p95)`);
    log(`  live: webview ${result.webview_messages_per_s} messages/s; CPU ext host ${result.cpu_percent_of_a_core.extension_host}%, busiest Chromium process ${result.cpu_percent_of_a_core.chromium_busiest_process}%; backlog ${JSON.stringify(caughtUp)}`);
    return result;
  } finally {
    run.close();
  }
}

// ---------------------------------------------------------------------------------------------------

async function main() {
  const { values } = parseArgs({
    options: {
      extension: { type: 'string', default: repoRoot },
      label: { type: 'string', default: 'after' },
      runs: { type: 'string', default: '300' },
      events: { type: 'string', default: '3000' },
      long: { type: 'string', default: '200000' },
      rate: { type: 'string', default: '200' },
      seconds: { type: 'string', default: '20' },
      phases: { type: 'string', default: 'node,load,long,live' },
      data: { type: 'string', default: path.join(repoRoot, '.cache', 'editor-scale') },
      out: { type: 'string' },
      profile: { type: 'string' },
    },
  });
  const extension = path.resolve(values.extension);
  const phases = new Set(values.phases.split(','));
  const [runs, events, long, rate, seconds] = ['runs', 'events', 'long', 'rate', 'seconds'].map((k) => Number(values[k]));
  const date = new Date().toISOString().slice(0, 10);
  const out = values.out ?? path.join(repoRoot, 'bench', 'results', `editor-scale-${values.label}-${date}.json`);
  if (!fs.existsSync(path.join(extension, 'dist', 'extension.js'))) throw new Error(`${extension}/dist/extension.js is missing: build it first`);

  makeData(values.data, { runs, events, long });
  const runsSource = path.join(values.data, 'runs');
  const result = {
    date,
    label: values.label,
    extension,
    machine: { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model ?? 'unknown', node: process.version, load_average_before: os.loadavg().map((x) => round(x, 2)) },
    data: { runs, steps_per_run: events, long_run_steps: long },
    goals: {
      live: 'event → status bar / Runs row / chart: median < 250 ms, p95 < 500 ms; no backlog after the run ends',
      long: 'dashboard drawn < 1 s',
      load: 'all rows < 2 s; extension host RSS < 250 MiB',
      renderer: 'busiest Chromium process < 30% of a core during the live run',
    },
  };
  if (phases.has('node')) {
    log('node: the registry alone');
    result.node = await nodePhase(extension, runsSource);
  }
  if (phases.has('load') || phases.has('long') || phases.has('live')) {
    const { chromium: chromiumPath } = ensureE2eTools();
    const session = fs.mkdtempSync(path.join(os.tmpdir(), 'sft-editor-scale-'));
    const workspace = path.join(session, 'workspace');
    const examples = path.join(repoRoot, 'examples');
    fs.cpSync(examples, workspace, { recursive: true, filter: (src) => src !== path.join(examples, 'runs') });
    // The generated runs are hard-linked, not copied (300 MB per session otherwise): real folders,
    // so VS Code's file watcher sees the live run appear beside them.
    linkTree(runsSource, path.join(workspace, 'runs'));
    fs.writeFileSync(path.join(workspace, PEER_MARKDOWN), '# Peer notes\n\nA small file for the peer measurement: VS Code\'s Markdown preview.\n');
    const liveDir = path.join(workspace, 'runs');
    let server;
    let browser;
    try {
      server = await startCodeServer({
        stateDir: path.join(session, 'code-server'),
        extensionPath: extension,
      });
      browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run'] });
      const serverTree = () => new Set(processTree(server.pid));
      const browserPids = () => processTree(process.pid).filter((pid) => pid !== process.pid && !serverTree().has(pid) && cmdline(pid).includes('chrom'));
      const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
      await page.addInitScript(instrumentPage);
      const url = server.folderUrl(workspace);
      const oldest = fs.readdirSync(runsSource).filter((n) => n.startsWith('hist-')).sort()[0];
      log('load: a window on the workspace');
      result.load = await loadPhase(page, url, oldest, server.pid, values.profile);
      if (phases.has('long')) {
        log('long: Open Dashboard on the long run');
        const longName = fs.readdirSync(runsSource).find((n) => n.startsWith('long-'));
        result.long = await longPhase(page, longName, long, values.profile);
      }
      if (phases.has('live')) {
        log(`live: ${rate} events/s for ${seconds} s with the dashboard open`);
        result.live = await livePhase({ page, runsDir: liveDir, configPath: path.join(workspace, 'demo.sft.yaml'), rate, seconds, serverPid: server.pid, browserPids, profile: values.profile });
      }
    } finally {
      await browser?.close().catch(() => {});
      await server?.stop();
      if (!process.env.KEEP_SESSION) fs.rmSync(session, { recursive: true, force: true });
    }
  }
  result.machine.load_average_after = os.loadavg().map((x) => round(x, 2));
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  log(`wrote ${path.relative(repoRoot, out)}`);
}

if (process.argv[2] === '--child-registry') {
  childRegistry(process.argv[3], process.argv[4]).catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else {
  main().catch((error) => {
    console.error(`[bench:editor-scale] ${error.stack ?? error}`);
    process.exit(1);
  });
}
