#!/usr/bin/env node
// `npm run demo:ui`: the SFT Studio extension in a real VS Code (code-server) in your browser, opened
// on examples/ itself so the runs you start there persist in examples/runs/ (git-ignored).
// Runs until Ctrl+C; then stops code-server and asks the runs started in this session to stop after
// saving a checkpoint (they can be resumed later).
//
// Usage: node scripts/demo-ui.mjs [--port N]   (default 8080, or a free port when 8080 is taken)
// The server listens on 127.0.0.1 only: it runs without a password.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, repoRoot, startCodeServer } from '../test/e2e/codeServer.mjs';
import { runFolders, signalTrainers } from '../test/e2e/trainers.mjs';

const workspace = path.join(repoRoot, 'examples');
const runsRoot = path.join(workspace, 'runs');
const stateDir = path.join(repoRoot, '.cache', 'demo-ui');
const venvPython = path.join(repoRoot, '.venv', 'bin', 'python');

function portIsFree(port) {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

async function main() {
  const { values } = parseArgs({ options: { port: { type: 'string' } } });
  for (const [file, fix] of [
    [path.join(repoRoot, 'dist', 'extension.js'), 'npm run build'],
    [venvPython, 'npm run setup'],
    [path.join(workspace, 'demo.sft.yaml'), 'restore examples/demo.sft.yaml'],
  ]) {
    if (!fs.existsSync(file)) throw new Error(`${path.relative(repoRoot, file)} is missing: run \`${fix}\` first`);
  }
  const wanted = values.port ? Number(values.port) : 8080;
  if (!Number.isInteger(wanted) || wanted <= 0 || wanted > 65535) throw new Error(`--port must be a port number, got ${values.port}`);
  const port = (await portIsFree(wanted)) ? wanted : values.port ? undefined : await freePort();
  if (port === undefined) throw new Error(`port ${wanted} is in use; pick another with --port`);

  // A fresh server state each time, so a changed extension manifest is always picked up.
  fs.rmSync(stateDir, { recursive: true, force: true });
  const runsBefore = new Set(runFolders(runsRoot));
  const server = await startCodeServer({
    stateDir,
    port,
    settings: { 'sftStudio.pythonPath': venvPython },
  });
  // code-server's own hooks kill its process group on Ctrl+C and exit; this one runs during that exit.
  process.on('exit', () => {
    const started = runFolders(runsRoot).filter((d) => !runsBefore.has(d));
    signalTrainers(started, (m) => console.log(`[demo:ui] ${m} (resume it later from the Runs view)`));
    console.log('[demo:ui] stopped code-server');
  });

  console.log('\n  SFT Studio in VS Code (code-server), open:\n');
  console.log(`    ${server.folderUrl(workspace)}\n`);
  console.log('  Open demo.sft.yaml and click "▶ Run". Runs are saved in examples/runs/.');
  console.log(`  Server log: ${path.relative(repoRoot, server.logPath)}. Press Ctrl+C to stop.\n`);

  const { code, signal } = await server.exited;
  throw new Error(`code-server exited unexpectedly (${code ?? signal}); see ${server.logPath}`);
}

main().catch((error) => {
  console.error(`[demo:ui] ${error.message}`);
  process.exit(1);
});
