// Set Up Training Environment: a .venv in the workspace folder with the trainer's pinned
// requirements, each step visible in a progress notification and its full output in a channel.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import type { Ui } from '../common/ui';
import { venvPython } from './interpreter';

/** Runs a program (argv, no shell), handing over each output line; resolves to its exit code. */
export type StreamFn = (command: string, args: readonly string[], options: { cwd: string; onLine(line: string): void }) => Promise<number | null>;

export const spawnStreaming: StreamFn = (command, args, options) =>
  new Promise((resolve) => {
    const child = spawn(command, [...args], { cwd: options.cwd, shell: false, windowsHide: true, env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1' } });
    let pending = '';
    const onData = (chunk: Buffer) => {
      const lines = (pending + chunk.toString('utf8')).split(/\r?\n|\r/);
      pending = lines.pop() ?? '';
      lines.forEach((line) => line && options.onLine(line));
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (error) => {
      options.onLine(String(error.message));
      resolve(null);
    });
    child.on('close', (code) => {
      if (pending) options.onLine(pending);
      resolve(code);
    });
  });

export interface SetupDeps {
  ui: Ui;
  isTrusted(): boolean;
  folder(): string | undefined;
  extensionPath: string;
  exists(file: string): boolean;
  run: StreamFn;
  /** The full output goes here (an output channel). */
  log(line: string): void;
  showLog(): void;
  setPythonPath(python: string): Promise<void>;
  platform: NodeJS.Platform;
  /** Base interpreters to create the venv with, tried in order. */
  basePythons: readonly string[];
}

const SHOW_OUTPUT = 'Show Output';

export async function setUpEnvironment(deps: SetupDeps): Promise<string | undefined> {
  const { ui } = deps;
  if (!deps.isTrusted()) {
    void ui.showError('SFT Studio: setting up the environment installs packages and runs Python; trust this workspace first.');
    return undefined;
  }
  const folder = deps.folder();
  if (!folder) {
    void ui.showError('SFT Studio: open a folder first; the environment is created as .venv inside it.');
    return undefined;
  }
  const python = venvPython(folder, deps.platform);
  const requirements = path.join(deps.extensionPath, 'trainer', 'requirements.txt');
  const constraints = path.join(deps.extensionPath, 'trainer', 'constraints.txt');
  const reuse = deps.exists(python);
  if (reuse && !(await ui.confirm(`Install the trainer's requirements into the existing ${path.join(folder, '.venv')}?`, 'Its packages are upgraded or downgraded to the pinned versions.', 'Install'))) {
    return undefined;
  }

  const fail = (what: string) => {
    void ui.showError(`SFT Studio: ${what}. The output has the details.`, SHOW_OUTPUT).then((c) => c === SHOW_OUTPUT && deps.showLog());
    return undefined;
  };

  return ui.withProgress('SFT Studio: setting up the training environment', async (progress) => {
    const step = async (title: string, command: string, args: string[]) => {
      progress.report(title);
      deps.log(`$ ${[command, ...args].join(' ')}`);
      return deps.run(command, args, {
        cwd: folder,
        onLine: (line) => {
          deps.log(line);
          // pip's "Collecting x" / "Installing collected packages" lines say where it is.
          if (/^(Collecting|Downloading|Installing|Successfully)/.test(line)) progress.report(`${title} ${line.slice(0, 80)}`);
        },
      });
    };

    if (!reuse) {
      let created = false;
      for (const base of deps.basePythons) {
        if ((await step(`creating .venv with ${base}…`, base, ['-m', 'venv', path.join(folder, '.venv')])) === 0) {
          created = true;
          break;
        }
      }
      if (!created) return fail(`could not create ${path.join(folder, '.venv')} (tried ${deps.basePythons.join(', ')}; on Debian/Ubuntu install python3-venv)`);
    }
    const pip = await step('installing the trainer requirements (torch is large; this can take minutes)…', python, [
      '-m',
      'pip',
      'install',
      '-c',
      constraints,
      '-r',
      requirements,
    ]);
    if (pip !== 0) return fail(`pip could not install the trainer's requirements into ${python}`);
    await deps.setPythonPath(python);
    void ui.showInfo(`SFT Studio: training environment ready (${python}); sftStudio.pythonPath now points to it.`);
    return python;
  });
}
