#!/usr/bin/env node
// Integration tests inside the real VS Code extension host: code-server with its smoke-test driver
// accepts an extension development path and an extension tests path in the URL payload, as desktop
// VS Code does on its command line. The workbench loads this repo as the extension under
// development, the extension host runs out/test/index.js (mocha over out/test/integration/), and the
// page reports the output through window.codeAutomationLog and the exit code through
// window.codeAutomationExit, both exposed here with Playwright.
//
// The workspace is a temporary copy of examples/ (without its runs) with test/fixtures/runs/ as runs/.
//
// Usage: node test/integration/run.mjs [--keep] [--headed] [--timeout SECONDS]
//   --keep     keep the temporary session folder (workspace, code-server logs) even after a pass
//   --headed   show the browser (needs a display)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { ensureE2eTools } from '../../scripts/e2e-tools.mjs';
import { repoRoot, startCodeServer } from '../e2e/codeServer.mjs';

/** Must equal OUTPUT_MARK in helpers.ts: the prefix of the lines the tests print. */
const OUTPUT_MARK = '[integration] ';

function log(message) {
  process.stdout.write(`[integration] ${message}\n`);
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, fs.statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

function node(args) {
  const result = spawnSync(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} failed:\n${result.stdout}${result.stderr}`);
}

/** The extension bundle when it is missing or older than its sources; the tests every time (< 1 s). */
function build() {
  const bundle = path.join(repoRoot, 'dist', 'extension.js');
  const sources = ['src', 'webview', 'schema'].map((d) => path.join(repoRoot, d));
  const built = fs.existsSync(bundle) ? fs.statSync(bundle).mtimeMs : 0;
  if (built === 0 || sources.some((d) => newestMtime(d) > built)) {
    log('building the extension (dist/ is missing or older than the sources)');
    node(['scripts/gen-types.mjs']);
    node(['esbuild.mjs']);
  }
  node(['esbuild.mjs', '--tests']);
}

function prepareWorkspace(session) {
  const workspace = path.join(session, 'workspace');
  const examples = path.join(repoRoot, 'examples');
  const examplesRuns = path.join(examples, 'runs');
  fs.cpSync(examples, workspace, { recursive: true, filter: (src) => src !== examplesRuns });
  fs.cpSync(path.join(repoRoot, 'test', 'fixtures', 'runs'), path.join(workspace, 'runs'), { recursive: true });
  return workspace;
}

/** The workbench URL that opens `workspace` with this repo under development and the tests to run. */
function testUrl(server, workspace) {
  // The remote authority of these URIs is not looked at: the server maps vscode-remote URIs to its files.
  const remote = (file) => `vscode-remote://remote${path.resolve(file)}`;
  const payload = [
    ['extensionDevelopmentPath', remote(repoRoot)],
    ['extensionTestsPath', remote(path.join(repoRoot, 'out', 'test', 'index.js'))],
  ];
  return `${server.folderUrl(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

async function main() {
  const { values } = parseArgs({
    options: {
      keep: { type: 'boolean', default: false },
      headed: { type: 'boolean', default: false },
      timeout: { type: 'string', default: '120' },
    },
  });
  const timeoutMs = Number(values.timeout) * 1000;
  const t0 = Date.now();
  const { chromium: chromiumPath } = ensureE2eTools();
  build();
  const session = fs.mkdtempSync(path.join(os.tmpdir(), 'sft-studio-integration-'));
  const workspace = prepareWorkspace(session);

  let server;
  let browser;
  const workbenchLog = [];
  let exitCode;
  try {
    server = await startCodeServer({ stateDir: path.join(session, 'code-server'), vscodeOptions: ['enable-smoke-test-driver'] });
    log(`code-server on ${server.url} after ${((Date.now() - t0) / 1000).toFixed(1)} s; workspace ${workspace}`);
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: !values.headed,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking'],
    });
    const page = await browser.newPage();
    let resolveExit;
    const exited = new Promise((resolve) => (resolveExit = resolve));
    await page.exposeFunction('codeAutomationLog', (level, args) => {
      const first = Array.isArray(args) ? args[0] : args;
      if (typeof first === 'string' && first.startsWith(OUTPUT_MARK)) {
        process.stdout.write(`${first.slice(OUTPUT_MARK.length)}\n`);
      } else {
        workbenchLog.push(`${level}: ${(Array.isArray(args) ? args : [args]).map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}`);
      }
    });
    await page.exposeFunction('codeAutomationExit', (code) => resolveExit(code));
    await page.goto(testUrl(server, workspace));
    let timer;
    exitCode = await Promise.race([
      exited,
      new Promise((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (exitCode === 'timeout') {
      log(`the extension host did not finish the tests within ${timeoutMs / 1000} s`);
      exitCode = 1;
    }
  } finally {
    await browser?.close().catch(() => {});
    await server?.stop();
  }

  const seconds = ((Date.now() - t0) / 1000).toFixed(1);
  if (exitCode === 0) {
    log(`passed in ${seconds} s (code-server start, workbench load and tests)`);
    if (!values.keep) fs.rmSync(session, { recursive: true, force: true });
  } else {
    log(`failed (extension host exit code ${exitCode}) after ${seconds} s`);
    log(`workbench log tail:\n  ${workbenchLog.slice(-40).join('\n  ')}`);
    log(`extension host log tail:\n${server?.extensionHostLogTail(40) ?? '(no server)'}`);
  }
  if (exitCode !== 0 || values.keep) log(`kept ${session} for inspection`);
  return exitCode === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`[integration] ${error.stack ?? error}`);
    process.exit(1);
  },
);
