// Starts code-server (real VS Code in the browser) with this extension installed, for the end-to-end
// tests and `npm run demo:ui`. Every start gets fresh config/data folders so nothing from the user's
// own VS Code or an earlier run leaks in, and the server runs in its own process group so stopping it
// also ends its extension host and file watchers.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureE2eTools } from '../../scripts/e2e-tools.mjs';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Settings that keep welcome pages, tips and notifications from covering what the tests click. */
export const quietSettings = {
  'workbench.startupEditor': 'none',
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.tips.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'workbench.enableExperiments': false,
  'workbench.settings.enableNaturalLanguageSearch': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'git.enabled': false,
  'git.openRepositoryInParentFolders': 'never',
  'github.copilot.enable': { '*': false },
  'chat.disableAIFeatures': true,
  'chat.commandCenter.enabled': false,
  'editor.minimap.enabled': false,
  'window.commandCenter': false,
  'files.hotExit': 'off',
  'workbench.editor.enablePreview': false,
};

const running = new Set();
let exitHooksInstalled = false;

function installExitHooks() {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  // 'exit' handlers must be synchronous: SIGKILL the groups, nothing to wait for.
  process.on('exit', () => {
    for (const server of running) killGroup(server.pid, 'SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(signal, () => {
      for (const server of running) killGroup(server.pid, 'SIGTERM');
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

function groupAlive(pid) {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function httpStatus(url) {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

export function tail(file, lines = 40) {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.split('\n').slice(-lines - 1).join('\n').trimEnd();
  } catch {
    return `(no ${file})`;
  }
}

/** Installs a VSIX the way a user does (code-server's --install-extension), failing loudly if it is refused. */
function installVsix(codeServerBin, vsix, extensionsDir, userDataDir, stateDir) {
  const result = spawnSync(
    codeServerBin,
    ['--extensions-dir', extensionsDir, '--user-data-dir', userDataDir, '--install-extension', path.resolve(vsix), '--force'],
    { cwd: stateDir, env: serverEnv(stateDir), encoding: 'utf8', timeout: 180_000 },
  );
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  if (result.status !== 0 || !/successfully installed/i.test(output)) {
    throw new Error(`code-server --install-extension ${vsix} failed (exit ${result.status ?? result.signal}):\n${output}`);
  }
}

function extensionFolderName(extensionPath) {
  const pkg = JSON.parse(fs.readFileSync(path.join(extensionPath, 'package.json'), 'utf8'));
  for (const field of ['publisher', 'name', 'version']) {
    if (!pkg[field]) throw new Error(`${extensionPath}/package.json has no "${field}"`);
  }
  return `${pkg.publisher}.${pkg.name}-${pkg.version}`;
}

/** Environment for code-server: no settings from a VS Code terminal this may be started from. */
function serverEnv(dir) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('VSCODE_') || key === 'ELECTRON_RUN_AS_NODE' || key.startsWith('CODE_SERVER_')) continue;
    env[key] = value;
  }
  return {
    ...env,
    XDG_CONFIG_HOME: path.join(dir, 'xdg-config'),
    XDG_DATA_HOME: path.join(dir, 'xdg-data'),
    XDG_CACHE_HOME: path.join(dir, 'xdg-cache'),
    EXTENSIONS_GALLERY: '{}',
  };
}

/**
 * Starts code-server and resolves once it answers HTTP.
 * @param {object} options
 * @param {string} options.stateDir  empty-or-new folder for this server's config, data, logs
 * @param {string} [options.extensionPath]  extension to install (linked, not copied); default the repo
 * @param {object} [options.settings]  user settings, merged over `quietSettings`
 * @param {number} [options.port]  default: a free port
 * @param {number} [options.startTimeoutMs]
 * @param {boolean} [options.workspaceTrust]  keep workspace trust on (default off, so tests are not asked)
 * @param {string[]} [options.vscodeOptions]  passed as `--vscode-option X` each, e.g. 'enable-smoke-test-driver'
 * @param {string} [options.vsix]  install this packaged extension (`--install-extension`) instead of linking extensionPath
 */
export async function startCodeServer({
  stateDir,
  extensionPath = repoRoot,
  settings = {},
  port,
  startTimeoutMs = 90_000,
  workspaceTrust = false,
  vscodeOptions = [],
  vsix,
} = {}) {
  if (!stateDir) throw new Error('startCodeServer needs a stateDir');
  const { codeServerBin } = ensureE2eTools();
  const userDataDir = path.join(stateDir, 'user-data');
  const extensionsDir = path.join(stateDir, 'extensions');
  const logPath = path.join(stateDir, 'code-server.log');
  fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  fs.mkdirSync(extensionsDir, { recursive: true });
  fs.writeFileSync(
    path.join(userDataDir, 'User', 'settings.json'),
    `${JSON.stringify({ ...quietSettings, ...settings }, null, 2)}\n`,
  );
  if (vsix) installVsix(codeServerBin, vsix, extensionsDir, userDataDir, stateDir);
  else {
    const link = path.join(extensionsDir, extensionFolderName(extensionPath));
    fs.rmSync(link, { force: true, recursive: true });
    fs.symlinkSync(path.resolve(extensionPath), link, 'dir');
  }

  port ??= await freePort();
  const args = [
    '--auth', 'none',
    '--bind-addr', `127.0.0.1:${port}`,
    '--disable-telemetry',
    '--disable-update-check',
    ...(workspaceTrust ? [] : ['--disable-workspace-trust']),
    '--disable-getting-started-override',
    '--ignore-last-opened',
    '--user-data-dir', userDataDir,
    '--extensions-dir', extensionsDir,
    ...vscodeOptions.flatMap((option) => ['--vscode-option', option]),
  ];
  const logFd = fs.openSync(logPath, 'a');
  installExitHooks();
  const child = spawn(codeServerBin, args, {
    cwd: stateDir,
    env: serverEnv(stateDir),
    detached: true,
    stdio: ['ignore', logFd, logFd],
  });
  fs.closeSync(logFd);
  let exited = null;
  const exitedPromise = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    });
    child.once('error', (error) => {
      exited = { code: null, signal: null, error };
      resolve(exited);
    });
  });
  const server = {
    pid: child.pid,
    port,
    url: `http://127.0.0.1:${port}`,
    stateDir,
    userDataDir,
    extensionsDir,
    logPath,
    /** Resolves with { code, signal } when the code-server process exits. */
    exited: exitedPromise,
    /** URL that opens `folder` in the workbench. */
    folderUrl(folder) {
      return `http://127.0.0.1:${port}/?folder=${encodeURIComponent(path.resolve(folder)).replace(/%2F/g, '/')}`;
    },
    logTail(lines = 40) {
      return tail(logPath, lines);
    },
    /** The newest extension host log (console output of extensions), if any. */
    extensionHostLogTail(lines = 40) {
      const found = findFiles(path.join(userDataDir, 'logs'), (f) => /exthost\d*\.log$/.test(f));
      if (found.length === 0) return '(no extension host log)';
      const newest = found.sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
      return `${newest}:\n${tail(newest, lines)}`;
    },
    async stop() {
      running.delete(server);
      if (child.pid === undefined) return;
      if (exited === null || groupAlive(child.pid)) {
        killGroup(child.pid, 'SIGTERM');
        const deadline = Date.now() + 5000;
        while (groupAlive(child.pid) && Date.now() < deadline) await sleep(100);
        if (groupAlive(child.pid)) killGroup(child.pid, 'SIGKILL');
      }
      await Promise.race([exitedPromise, sleep(2000)]);
    },
  };
  if (child.pid === undefined) {
    const { error } = await exitedPromise;
    throw new Error(`could not start ${codeServerBin}: ${error?.message ?? 'unknown error'}`);
  }
  running.add(server);

  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (exited) {
      running.delete(server);
      throw new Error(`code-server exited during start-up (${exited.code ?? exited.signal}):\n${tail(logPath)}`);
    }
    if ((await httpStatus(`${server.url}/healthz`)) === 200) return server;
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`code-server did not answer on ${server.url} within ${startTimeoutMs / 1000} s:\n${tail(logPath)}`);
    }
    await sleep(250);
  }
}

function findFiles(dir, match, found = []) {
  let entries = [];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return found;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) findFiles(full, match, found);
    else if (match(full)) found.push(full);
  }
  return found;
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
