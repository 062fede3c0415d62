// Wiring of the run lifecycle commands (start, stop, resume, rerun, delete, reveal, logs, queue) and
// the config actions. Command bodies load their modules on first use, so activation stays cheap.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { HF_TOKEN_SECRET } from '../common/hfToken';
import { vscodeSettings } from '../common/settings.apis';
import { vscodeUi } from '../common/ui.apis';
import { vscodeWorkspace } from '../common/workspace.apis';
import type { ReportFocus } from '../config/dryRunReport';
import type { TrainingEnvChecker } from '../python/envCheck';
import type { RunCli } from '../python/trainerCli';
import { RunNotes } from '../runs/runNotes';
import { RunQueue } from '../runs/runQueue';
import type { RunRegistry } from '../runs/runRegistry';
import { SlurmFollower } from '../runs/slurmFollower';
import { nodeSlurmApi } from '../runs/slurmLauncher';
import { isActiveState, type RunSummary } from '../protocol/runSummary';
import { RunLogChannels } from '../views/runLogChannels';
import { queuedIdOf, runDirOf } from '../views/runsTree';
import { ResumeGuard } from './resumeGuard';
import type { LaunchDeps } from './startRun';

export class RunLifecycle implements vscode.Disposable {
  readonly notes = new RunNotes();
  readonly queue: RunQueue;
  /** Polls the Slurm jobs of every Slurm run this window sees (queued label, ends Slurm decided). */
  private readonly slurm: SlurmFollower;
  private readonly resumes: ResumeGuard;
  private readonly logs: RunLogChannels;
  private envChecker: TrainingEnvChecker | undefined;
  private setupOutput: vscode.OutputChannel | undefined;
  private readonly subscriptions: { dispose(): void }[];

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly registry: RunRegistry,
    private readonly openDashboard: (runDir: string) => void,
  ) {
    this.queue = new RunQueue({
      maxConcurrent: () => vscodeSettings.maxConcurrentRuns(),
      activeRunDirs: () => registry.list().filter((r) => isActiveState(r.state)).map((r) => r.runDir),
    });
    this.resumes = new ResumeGuard(() => this.queue.list());
    this.logs = new RunLogChannels(registry);
    this.slurm = new SlurmFollower({ api: nodeSlurmApi, runs: registry, notes: this.notes });
    // A run that ends frees a slot for the next queued start.
    this.subscriptions = [registry.onDidChange(() => this.queue.pump())];
  }

  async forgetInterpreter(python: string): Promise<void> {
    (await this.checker()).forget(python);
  }

  async startRun(target?: string): Promise<string | undefined> {
    const { startRun } = await import('./startRun');
    return startRun(await this.launchDeps(), target);
  }

  async stopRun(runDir?: string) {
    const [{ stopRunCommand }, manager, { slurmStopper }] = await Promise.all([import('./stopRun'), import('../runs/runManager'), import('../runs/slurmLauncher')]);
    return stopRunCommand(
      {
        ui: vscodeUi,
        runs: this.registry,
        notes: this.notes,
        stop: (dir, onStep) => manager.stopRun(dir, { graceMs: vscodeSettings.stopGraceSeconds() * 1000, onStep }),
        stopSlurm: slurmStopper(vscodeSettings),
      },
      runDir,
    );
  }

  registerCommands(): vscode.Disposable[] {
    const command = (id: string, body: (arg?: unknown) => unknown) => vscode.commands.registerCommand(id, body);
    return [
      command('sftStudio.resumeRun', async (arg) => {
        const [{ resumeRun, resumableRuns }, deps] = await Promise.all([import('./runActions'), this.resumeDeps()]);
        // The run is picked here, not in resumeRun, so the guard knows it before anything starts.
        const runDir =
          runDirOf(arg) ?? (await this.pickResumable(resumableRuns(this.registry.list(), deps.checkpoints).filter((r) => !this.resumes.isPending(r.runDir))));
        if (!runDir) return undefined;
        const outcome = await this.resumes.resume(runDir, deps.queue, (queue) => resumeRun({ ...deps, queue }, runDir));
        if (outcome.refused) {
          void vscodeUi.showInfo(`SFT Studio: ${path.basename(runDir)} is already being resumed (starting or queued); it is not started a second time.`);
          return undefined;
        }
        return outcome.value;
      }),
      command('sftStudio.rerunRun', async (arg) => {
        const [{ rerunRun }, deps] = await Promise.all([import('./runActions'), this.resumeDeps()]);
        return rerunRun(deps, runDirOf(arg));
      }),
      command('sftStudio.deleteRun', async (arg) => {
        const [{ deleteRun }, { listCheckpoints }, fs] = await Promise.all([import('./runActions'), import('../runs/checkpoints'), import('node:fs')]);
        return deleteRun(
          {
            ui: vscodeUi,
            lookup: this.registry,
            checkpoints: listCheckpoints,
            removeFolder: (dir) => fs.promises.rm(dir, { recursive: true, force: true }),
          },
          runDirOf(arg),
        );
      }),
      command('sftStudio.revealRun', async (arg) => {
        const { revealRun } = await import('./runActions');
        return revealRun({ ui: vscodeUi, lookup: this.registry }, runDirOf(arg));
      }),
      command('sftStudio.showRunLog', async (arg) => {
        const runDir = runDirOf(arg) ?? (await (await import('./pickRun')).pickRun(vscodeUi, this.registry.list(), 'Run whose trainer log to show'));
        if (runDir) this.logs.show(runDir);
      }),
      command('sftStudio.cancelQueuedRun', (arg) => {
        const id = queuedIdOf(arg);
        if (id !== undefined) this.queue.cancel(id);
      }),
      command('sftStudio.setHuggingFaceToken', async () => (await import('../common/hfToken')).setHfToken(vscodeUi, this.context.secrets)),
      command('sftStudio.clearHuggingFaceToken', async () => (await import('../common/hfToken')).clearHfToken(vscodeUi, this.context.secrets)),
      command('sftStudio.dryRun', (arg) => this.configAction(arg, 'all')),
      command('sftStudio.estimateMemory', (arg) => this.configAction(arg, 'memory')),
      command('sftStudio.validateConfig', async (arg) => {
        const configPath = configPathOf(arg) ?? vscodeWorkspace.activeConfigPath();
        if (!configPath) return void vscodeUi.showInfo('SFT Studio: open a *.sft.yaml run config to validate it.');
        const { validateConfigCommand } = await import('./configActions');
        return validateConfigCommand(await this.configActionDeps(), configPath);
      }),
      command('sftStudio.newRunConfig', async () => {
        const [{ newRunConfig }, fs] = await Promise.all([import('./newRunConfig'), import('node:fs')]);
        return newRunConfig({
          ui: vscodeUi,
          folder: () => vscodeWorkspace.folders()[0],
          exists: (file) => fs.existsSync(file),
          writeFile: (file, text) => fs.promises.writeFile(file, text, { flag: 'wx' }),
        });
      }),
      command('sftStudio.setUpEnvironment', async () => {
        const [{ setUpEnvironment, spawnStreaming }, fs] = await Promise.all([import('../python/setupEnvironment'), import('node:fs')]);
        const output = (this.setupOutput ??= vscode.window.createOutputChannel('SFT Studio: environment setup'));
        const python = await setUpEnvironment({
          ui: vscodeUi,
          isTrusted: vscodeWorkspace.isTrusted,
          folder: () => vscodeWorkspace.folders()[0],
          extensionPath: this.context.extensionPath,
          exists: (file) => fs.existsSync(file),
          run: spawnStreaming,
          log: (line) => output.appendLine(line),
          showLog: () => output.show(true),
          setPythonPath: vscodeSettings.setPythonPath,
          platform: process.platform,
          basePythons: process.platform === 'win32' ? ['py', 'python'] : ['python3', 'python'],
        });
        if (python) await this.forgetInterpreter(python);
      }),
    ];
  }

  dispose(): void {
    this.subscriptions.forEach((s) => s.dispose());
    this.slurm.dispose();
    this.queue.dispose();
    this.notes.dispose();
    this.logs.dispose();
    this.setupOutput?.dispose();
  }

  private async checker(): Promise<TrainingEnvChecker> {
    return (this.envChecker ??= new (await import('../python/envCheck')).TrainingEnvChecker());
  }

  /** The Hugging Face token from SecretStorage, for the trainer's HF_TOKEN (gated and private Hub models). */
  private hfToken(): Promise<string | undefined> {
    return Promise.resolve(this.context.secrets.get(HF_TOKEN_SECRET));
  }

  private async launchDeps(): Promise<LaunchDeps> {
    const [manager, { resolveInterpreter }, { vscodeInterpreterSources }, checker, hfToken] = await Promise.all([
      import('../runs/runManager'),
      import('../python/interpreter'),
      import('../python/python.apis'),
      this.checker(),
      this.hfToken(),
    ]);
    return {
      ui: vscodeUi,
      workspace: vscodeWorkspace,
      settings: vscodeSettings,
      python: { resolve: () => resolveInterpreter(vscodeInterpreterSources), check: (p) => checker.check(p) },
      runs: this.registry,
      launcher: {
        plan: (request) => manager.planLaunch({ ...request, hfToken }),
        planResume: (request) => manager.planResume({ ...request, hfToken }),
        launch: (plan) => manager.launch(plan),
        tailOfLog: (dir) => manager.tailOfLog(dir),
      },
      queue: this.queue,
      extensionPath: this.context.extensionPath,
      openDashboard: this.openDashboard,
      followSlurm: (runDir) => void this.slurm.follow(runDir),
    };
  }

  private async pickResumable(runs: RunSummary[]): Promise<string | undefined> {
    if (runs.length === 0) {
      void vscodeUi.showInfo('SFT Studio: no stopped or crashed run has a checkpoint to resume from.');
      return undefined;
    }
    if (runs.length === 1) return runs[0].runDir;
    return (await import('./pickRun')).pickRun(vscodeUi, runs, 'Run to resume');
  }

  private async resumeDeps() {
    const [deps, { listCheckpoints }, fs] = await Promise.all([this.launchDeps(), import('../runs/checkpoints'), import('node:fs')]);
    return { ...deps, lookup: this.registry, checkpoints: listCheckpoints, exists: (file: string) => fs.existsSync(file) };
  }

  private async configActionDeps() {
    const [{ resolveInterpreter }, { vscodeInterpreterSources }, { runTrainerCli }, hfToken] = await Promise.all([
      import('../python/interpreter'),
      import('../python/python.apis'),
      import('../python/trainerCli'),
      this.hfToken(),
    ]);
    // A dry run of a Hub model fetches its config and tokenizer, which a gated model needs the token for.
    const runCli: RunCli = (python, args, options) => runTrainerCli(python, args, { ...options, hfToken });
    return {
      ui: vscodeUi,
      workspace: vscodeWorkspace,
      settings: vscodeSettings,
      resolvePython: () => resolveInterpreter(vscodeInterpreterSources),
      runCli,
      extensionPath: this.context.extensionPath,
    };
  }

  private async configAction(arg: unknown, focus: ReportFocus) {
    const configPath = configPathOf(arg) ?? vscodeWorkspace.activeConfigPath();
    if (!configPath) return void vscodeUi.showInfo('SFT Studio: open a *.sft.yaml run config first.');
    const { dryRunConfig } = await import('./configActions');
    return dryRunConfig(await this.configActionDeps(), configPath, focus);
  }
}

/** The code lens passes a Uri, the explorer a Uri, the palette nothing. */
export function configPathOf(arg: unknown): string | undefined {
  if (arg instanceof vscode.Uri) return arg.fsPath;
  return typeof arg === 'string' ? arg : undefined;
}
