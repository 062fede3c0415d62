import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { describeEnv, TrainingEnvChecker } from '../../src/python/envCheck';
import { expandSettingPath, resolveInterpreter, type InterpreterSources } from '../../src/python/interpreter';
import { selectInterpreter } from '../../src/python/selectInterpreter';
import { FakeUi, repoRoot } from './helpers';

const projectPython = path.join(repoRoot, '.venv', 'bin', 'python');

function sources(over: Partial<InterpreterSources>): InterpreterSources {
  return {
    settingPath: () => undefined,
    pythonExtensionInterpreter: async () => undefined,
    workspaceFolders: () => ['/w'],
    exists: () => false,
    platform: 'linux',
    ...over,
  };
}

test('order: setting, then the Python extension, then .venv', async () => {
  const all = sources({
    settingPath: () => '/opt/py/bin/python',
    pythonExtensionInterpreter: async () => '/conda/bin/python',
    exists: () => true,
  });
  assert.deepEqual(await resolveInterpreter(all), { path: '/opt/py/bin/python', source: 'setting' });
  assert.deepEqual(await resolveInterpreter({ ...all, settingPath: () => undefined }), { path: '/conda/bin/python', source: 'python-extension' });
  assert.deepEqual(await resolveInterpreter(sources({ exists: (f) => f === '/w/.venv/bin/python' })), {
    path: '/w/.venv/bin/python',
    source: 'workspace-venv',
  });
  assert.deepEqual(await resolveInterpreter(sources({ platform: 'win32', exists: (f) => f.endsWith('python.exe') })), {
    path: path.join('/w', '.venv', 'Scripts', 'python.exe'),
    source: 'workspace-venv',
  });
  assert.equal(await resolveInterpreter(sources({})), undefined);
});

test('a failing Python extension falls through to .venv', async () => {
  const s = sources({
    pythonExtensionInterpreter: () => Promise.reject(new Error('not activated')),
    exists: () => true,
  });
  assert.equal((await resolveInterpreter(s))?.source, 'workspace-venv');
});

test('setting paths: ~ and workspace-relative paths expand, bare names stay for PATH', () => {
  assert.equal(expandSettingPath('~/venv/bin/python', ['/w']), path.join(os.homedir(), 'venv/bin/python'));
  assert.equal(expandSettingPath('.venv/bin/python', ['/w']), '/w/.venv/bin/python');
  assert.equal(expandSettingPath('python3', ['/w']), 'python3');
});

test('the torch/transformers check runs once per interpreter; failures are re-checked', async () => {
  const calls: string[] = [];
  let installed = false;
  const checker = new TrainingEnvChecker(async (file, args) => {
    calls.push(`${file} ${args.join(' ')}`);
    if (!installed) throw Object.assign(new Error('exit 1'), { stderr: "Traceback...\nModuleNotFoundError: No module named 'torch'\n" });
  });
  assert.deepEqual(await checker.check('/py'), { ok: false, detail: "ModuleNotFoundError: No module named 'torch'" });
  installed = true;
  assert.deepEqual(await checker.check('/py'), { ok: true });
  assert.deepEqual(await checker.check('/py'), { ok: true });
  assert.equal(calls.length, 2);
  assert.ok(calls.every((c) => c.startsWith('/py -c import json, torch, transformers')));
});

test('the check reports torch version, device and GPU count from the probe line', async () => {
  const probe = new TrainingEnvChecker(async () => 'some warning\n{"torch": "2.11.0+rocm6", "device": "rocm", "gpus": 8}\n');
  const env = await probe.check('/py');
  assert.deepEqual(env, { ok: true, torchVersion: '2.11.0+rocm6', device: 'rocm', gpuCount: 8 });
  assert.equal(describeEnv(env), 'torch 2.11.0+rocm6 · ROCM × 8');
  assert.equal(describeEnv({ ok: true, torchVersion: '2.13.0', device: 'cpu', gpuCount: 0 }), 'torch 2.13.0 · CPU');
  const garbled = new TrainingEnvChecker(async () => 'not json');
  assert.deepEqual(await garbled.check('/py'), { ok: true });
});

test('the probe runs for real on the project interpreter and names the CPU device here', { skip: !fs.existsSync(projectPython) }, async () => {
  const env = await new TrainingEnvChecker().check(projectPython);
  assert.equal(env.ok, true, env.detail);
  assert.match(env.torchVersion ?? '', /^\d+\.\d+/);
  assert.ok(env.device && ['cpu', 'cuda', 'rocm', 'mps'].includes(env.device));
});

test('a missing interpreter is named in the check result', async () => {
  const checker = new TrainingEnvChecker(async () => {
    throw Object.assign(new Error('spawn ENOENT'), { code: 'ENOENT' });
  });
  assert.deepEqual(await checker.check('/nope/python'), { ok: false, detail: '/nope/python not found' });
});

test('select interpreter: discovered ones deduplicated, or a path typed in; the setting is written', async () => {
  const ui = new FakeUi();
  const written: string[] = [];
  const deps = {
    ui,
    candidates: async () => [
      { path: '/w/.venv/bin/python', origin: 'workspace .venv' },
      { path: '/w/.venv/bin/python', origin: 'Python extension' },
      { path: '/usr/bin/python3', origin: 'on PATH' },
    ],
    exists: () => true,
    setPythonPath: async (p: string) => void written.push(p),
  };
  ui.pickAnswers = [(items) => items[1]];
  assert.equal(await selectInterpreter(deps), '/usr/bin/python3');
  assert.deepEqual(ui.calls[0].buttons, ['/w/.venv/bin/python', '/usr/bin/python3', 'Enter path…']);

  ui.pickAnswers = [(items) => items[items.length - 1]];
  ui.inputAnswers = ['  /opt/py/bin/python '];
  assert.equal(await selectInterpreter(deps), '/opt/py/bin/python');
  assert.deepEqual(written, ['/usr/bin/python3', '/opt/py/bin/python']);

  ui.pickAnswers = [() => undefined];
  assert.equal(await selectInterpreter(deps), undefined);
  assert.equal(written.length, 2);
});
