// Wiring of the run lifecycle commands: start, stop, resume, rerun, delete, reveal, logs, the queue, and the
// Runs view's refresh. Command bodies load their modules on first use, so activation stays cheap. The config's
// own commands are registerConfigActions.ts, the training environment's python/pythonEnvironment.ts.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { HF_TOKEN_SECRET } from '../common/hfToken';
import { vscodeSettings } from '../common/settings.apis';
import { vscodeUi } from '../common/ui.apis';
import { vscodeWorkspace } from '../common/workspace.apis';
import type { PythonEnvironment } from '../python/pythonEnvironment';
import { RunNotes } from '../runs/runNotes';
import { RunQueue } from '../runs/runQueue';
import type { RunRegistry } from '../runs/runRegistry';
import { SlurmFollower } from '../runs/slurmFollower';
import { nodeSlurmApi } from '../runs/slurmLauncher';
import { isActiveState, type RunSummary } from '../protocol/runSummary';
import { RunLogChannels } from '../views/runLogChannels';
import { queuedIdOf, runDirOf } from '../views/runsTree';
import { configPathOf } from './registerConfigActions';
import { ResumeGuard } from './resumeGuard';
import type { LaunchDeps } from './startRun';

export class RunLifecycle implements vscode.Disposable {
  readonly notes = new RunNotes();
  readonly queue: RunQueue;
  /** Polls the Slurm jobs of every Slurm run this window sees (queued label, ends Slurm decided). */
  private readonly slurm: SlurmFollower;
  private readonly resumes: ResumeGuard;
  private readonly logs: RunLogChannels;
  private readonly subscriptions: { dispose(): void }[];

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly registry: RunRegistry,
    private readonly environment: PythonEnvironment,
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

  /** `refresh`: rescan the run roots (the Runs view's Refresh). */
  registerCommands(refresh: () => void): vscode.Disposable[] {
    const command = (id: string, body: (arg?: unknown) => unknown) => vscode.commands.registerCommand(id, body);
    return [
      command('sftStudio.startRun', (arg) => this.startRun(configPathOf(arg))),
      command('sftStudio.stopRun', (arg) => this.stopRun(runDirOf(arg))),
      command('sftStudio.refreshRuns', refresh),
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
    ];
  }

  dispose(): void {
    this.subscriptions.forEach((s) => s.dispose());
    this.slurm.dispose();
    this.queue.dispose();
    this.notes.dispose();
    this.logs.dispose();
  }

  /** The Hugging Face token from SecretStorage, for the trainer's HF_TOKEN (gated and private Hub models). */
  private hfToken(): Promise<string | undefined> {
    return Promise.resolve(this.context.secrets.get(HF_TOKEN_SECRET));
  }

  /** What starting a trainer process needs (also the sweeps': src/sweeps/registerSweep.ts). */
  async launchDeps(): Promise<LaunchDeps> {
    const [manager, { resolveInterpreter }, { vscodeInterpreterSources }, checker, hfToken] = await Promise.all([
      import('../runs/runManager'),
      import('../python/interpreter'),
      import('../python/python.apis'),
      this.environment.checker(),
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
        planInFolder: (request, runDir) => manager.planInFolder({ ...request, hfToken }, runDir),
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
}
