// Remote development (Remote-SSH, Dev Containers, WSL, Codespaces): the extension runs where the workspace and its
// GPUs are, writes nothing into its own install folder, and reaches the user's browser only through asExternalUri.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { revealCommand } from '../../src/common/ui';
import { venvPython } from '../../src/python/interpreter';
import { setUpEnvironment } from '../../src/python/setupEnvironment';
import { trainerEnv } from '../../src/runs/trainerCommand';
import { FakeUi, repoRoot, tempDir } from './helpers';

const projectPython = path.join(repoRoot, '.venv', 'bin', 'python');

test('the extension is a workspace extension: in a remote window it runs on the remote, beside the trainer and the GPUs', () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
  assert.deepEqual(manifest.extensionKind, ['workspace']);
  // No browser entry point: the trainer is a local process of the extension host, which a web worker cannot start.
  assert.equal(manifest.browser, undefined);
});

test('Set Up Training Environment puts the venv in the workspace folder and only reads from the extension folder', async () => {
  const extension = '/home/u/.vscode-server/extensions/sft-studio.sft-studio-0.1.0';
  const workspace = '/home/u/project';
  const runs: { command: string; args: readonly string[]; cwd: string }[] = [];
  let pythonPath: string | undefined;
  const python = await setUpEnvironment({
    ui: new FakeUi(),
    isTrusted: () => true,
    folder: () => workspace,
    extensionPath: extension,
    exists: () => false,
    run: async (command, args, options) => {
      runs.push({ command, args, cwd: options.cwd });
      return 0;
    },
    log: () => undefined,
    showLog: () => undefined,
    setPythonPath: async (value) => void (pythonPath = value),
    platform: 'linux',
    basePythons: ['python3'],
  });
  assert.equal(python, path.join(workspace, '.venv', 'bin', 'python'));
  assert.equal(pythonPath, python);
  assert.deepEqual(runs[0], { command: 'python3', args: ['-m', 'venv', path.join(workspace, '.venv')], cwd: workspace });
  assert.equal(runs[1].command, python, 'pip installs into the workspace venv');
  for (const run of runs) {
    assert.ok(!run.cwd.startsWith(extension));
    // The only extension paths are pip's -c and -r inputs.
    const inside = run.args.filter((a) => a.startsWith(extension));
    const read = inside.map((a) => run.args[run.args.indexOf(a) - 1]);
    assert.ok(read.every((flag) => flag === '-c' || flag === '-r'), `${run.command} ${run.args.join(' ')}`);
  }
  assert.equal(venvPython(workspace, 'win32'), path.join(workspace, '.venv', 'Scripts', 'python.exe'));
});

/** A copy of the bundled trainer where an installed extension keeps it: <extension>/trainer/sft_studio. */
function installedTrainer(root: string): string {
  const extension = path.join(root, 'extension');
  fs.cpSync(path.join(repoRoot, 'trainer', 'sft_studio'), path.join(extension, 'trainer', 'sft_studio'), {
    recursive: true,
    filter: (source) => path.basename(source) !== '__pycache__',
  });
  fs.cpSync(path.join(repoRoot, 'schema'), path.join(extension, 'schema'), { recursive: true });
  return extension;
}

function pycacheUnder(folder: string): string[] {
  return (fs.readdirSync(folder, { recursive: true }) as string[]).filter((entry) => path.basename(entry) === '__pycache__');
}

test('a trainer started by the extension writes no bytecode into the extension folder', { skip: !fs.existsSync(projectPython) }, (t) => {
  const root = tempDir(t);
  const imports = ['-c', 'import sft_studio, sft_studio.cli; print(sft_studio.__file__)'];
  // The probe works: Python left to itself writes __pycache__ beside the sources it imports.
  const control = installedTrainer(path.join(root, 'control'));
  const withBytecode = { ...trainerEnv(process.env, control) };
  delete withBytecode.PYTHONDONTWRITEBYTECODE;
  execFileSync(projectPython, imports, { env: withBytecode, cwd: root });
  assert.notDeepEqual(pycacheUnder(control), []);

  const extension = installedTrainer(path.join(root, 'installed'));
  const loaded = execFileSync(projectPython, imports, { env: trainerEnv(process.env, extension), cwd: root, encoding: 'utf8' }).trim();
  assert.equal(loaded, path.join(extension, 'trainer', 'sft_studio', '__init__.py'), 'the bundled trainer is the one imported');
  assert.deepEqual(pycacheUnder(extension), []);
});

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(full) : entry.name.endsWith('.ts') ? [full] : [];
  });
}

test('the extension host opens URLs through asExternalUri, serves no ports and writes nothing under its own folder', () => {
  const sources = sourceFiles(path.join(repoRoot, 'src')).map((file) => ({ file: path.relative(repoRoot, file), text: fs.readFileSync(file, 'utf8') }));
  assert.ok(sources.length > 50);
  const opened = sources.flatMap(({ file, text }) => [...text.matchAll(/env\.openExternal\(([^\n]*)/g)].map((m) => ({ file, argument: m[1] })));
  assert.ok(opened.length > 0, 'the Hub link after an export is opened somewhere');
  for (const { file, argument } of opened) assert.match(argument, /^await vscode\.env\.asExternalUri\(/, `${file}: openExternal(${argument}`);
  for (const { file, text } of sources) {
    assert.doesNotMatch(text, /\bcreateServer\(|\.listen\(/, `${file} serves a port, which a remote window would have to forward`);
    const write = /\b(writeFile|appendFile|mkdir|mkdtemp|createWriteStream|rm|rename|copyFile|cp|symlink|unlink)(Sync)?\([^;]*\b(extensionPath|extensionUri|__dirname)\b/;
    assert.doesNotMatch(text, write, `${file} writes under the extension's install folder`);
  }
});

test('a run folder outside the workspace is shown in the OS file manager only when the files are on this machine', () => {
  assert.equal(revealCommand(true, 'ssh-remote'), 'revealInExplorer');
  assert.equal(revealCommand(false, undefined), 'revealFileInOS');
  for (const remote of ['ssh-remote', 'dev-container', 'wsl', 'codespaces']) assert.equal(revealCommand(false, remote), undefined, remote);
});
