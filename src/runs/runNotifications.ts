// Tells the user when a run ends or stalls, with the actions that follow (dashboard, log, resume, stop).
// What has been announced is remembered per workspace, so a run that ended while the window was closed
// or reloading is announced once when the window comes back, and nothing is announced twice.
import type { Ui } from '../common/ui';
import type { RunState } from '../protocol/runSummary';

/** The parts of a run summary a notification needs. */
export interface NotifiableRun {
  runDir: string;
  name: string;
  state: RunState;
  step?: number;
  evalLoss?: number;
  /** run_finished's reason, e.g. early_stopped. */
  endReason?: string;
  bestStep?: number;
  bestMetric?: number;
  metricForBestModel?: string;
  /** Minutes without a training step while the process lives (the stall detector). */
  stalledMinutes?: number;
  error?: { message: string };
}

export type NotifyLevel = 'all' | 'failures' | 'off';

/** Per run folder, what was last seen: `active`, or the end already announced. Kept in workspace state. */
export interface NoticeStore {
  get(): Record<string, string> | undefined;
  set(value: Record<string, string>): PromiseLike<void> | void;
}

export const ACTIONS = {
  dashboard: 'Open Dashboard',
  log: 'Show Log',
  resume: 'Resume',
  stop: 'Stop Run',
} as const;

const COMMAND_OF: Record<string, string> = {
  [ACTIONS.dashboard]: 'sftStudio.openDashboard',
  [ACTIONS.log]: 'sftStudio.showRunLog',
  [ACTIONS.resume]: 'sftStudio.resumeRun',
  [ACTIONS.stop]: 'sftStudio.stopRun',
};

/** Ended runs announced at once when the window comes back; the rest are counted in one line. */
const MAX_AWAY_NOTICES = 3;

interface Notice {
  kind: 'info' | 'warning' | 'error';
  message: string;
  actions: string[];
  failure: boolean;
}

export class RunNotifier {
  private seen: Record<string, string>;
  private ready = false;

  constructor(
    private readonly ui: Ui,
    private readonly store: NoticeStore,
    private readonly level: () => NotifyLevel,
  ) {
    this.seen = { ...(store.get() ?? {}) };
  }

  /**
   * The first full listing after the window opened. Runs this workspace saw active and that have ended
   * since are announced; runs never seen before (a cloned repo's folders, the first activation) are only
   * recorded, so opening a folder never floods the user with old news.
   */
  baseline(runs: readonly NotifiableRun[]): void {
    const known = new Set(runs.map((r) => r.runDir));
    for (const runDir of Object.keys(this.seen)) if (!known.has(runDir)) delete this.seen[runDir];
    const away: NotifiableRun[] = [];
    for (const run of runs) {
      if (this.seen[run.runDir] === 'active' && noticeKey(run) !== 'active') away.push(run);
      else this.seen[run.runDir] = noticeKey(run);
    }
    this.ready = true;
    away.slice(0, MAX_AWAY_NOTICES).forEach((run) => this.update(run, true));
    const rest = away.slice(MAX_AWAY_NOTICES);
    for (const run of rest) this.seen[run.runDir] = noticeKey(run);
    if (rest.length > 0 && this.level() !== 'off') {
      void this.ui.showInfo(`SFT Studio: ${rest.length} more run(s) ended while this window was closed; see the Runs view.`);
    }
    void this.store.set({ ...this.seen });
  }

  /** A run's summary changed. `away`: it ended while the window was closed. */
  update(run: NotifiableRun, away = false): void {
    if (!this.ready) return; // before the baseline, a change may be a run being loaded, not one ending
    const key = noticeKey(run);
    if (this.seen[run.runDir] === key) return;
    this.seen[run.runDir] = key;
    void this.store.set({ ...this.seen });
    const notice = noticeFor(run, away);
    const level = this.level();
    if (!notice || level === 'off' || (level === 'failures' && !notice.failure)) return;
    const show = notice.kind === 'error' ? this.ui.showError : notice.kind === 'warning' ? this.ui.showWarning : this.ui.showInfo;
    void show.call(this.ui, notice.message, ...notice.actions).then((choice) => {
      const command = choice ? COMMAND_OF[choice] : undefined;
      if (command) void this.ui.executeCommand(command, run.runDir);
    });
  }
}

/** What is worth announcing about a run's current state: `active` while it trains normally. */
export function noticeKey(run: NotifiableRun): string {
  if (run.state === 'starting' || run.state === 'running') return run.stalledMinutes ? 'stalled' : 'active';
  return run.endReason ? `${run.state}:${run.endReason}` : run.state;
}

export function noticeFor(run: NotifiableRun, away: boolean): Notice | undefined {
  const when = away ? ' while this window was closed' : '';
  const name = `SFT Studio: run ${run.name}`;
  switch (run.state) {
    case 'starting':
    case 'running':
      if (!run.stalledMinutes) return undefined;
      return {
        kind: 'warning',
        message: `${name} has made no training step for ${run.stalledMinutes} min; its process is still alive.`,
        actions: [ACTIONS.log, ACTIONS.stop],
        failure: true,
      };
    case 'completed': {
      if (run.endReason === 'early_stopped') {
        const best = bestText(run);
        return { kind: 'info', message: `${name} stopped early at step ${run.step ?? '?'}${when}${best}.`, actions: [ACTIONS.dashboard, ACTIONS.log], failure: false };
      }
      const loss = run.evalLoss !== undefined ? `, eval loss ${run.evalLoss.toFixed(4)}` : '';
      return { kind: 'info', message: `${name} completed${when} (step ${run.step ?? '?'}${loss}).`, actions: [ACTIONS.dashboard, ACTIONS.log], failure: false };
    }
    case 'stopped':
      // A stop the user asked for in this window needs no news; one that happened while away does.
      if (!away) return undefined;
      return { kind: 'info', message: `${name} stopped${when} at step ${run.step ?? '?'}.`, actions: [ACTIONS.resume, ACTIONS.dashboard], failure: false };
    case 'failed':
    case 'crashed': {
      const why = run.error?.message ? `: ${firstLine(run.error.message)}` : '';
      return {
        kind: 'error',
        message: `${name} ${run.state}${when} at step ${run.step ?? '?'}${why}`,
        actions: [ACTIONS.log, ACTIONS.resume, ACTIONS.dashboard],
        failure: true,
      };
    }
  }
  return undefined;
}

function bestText(run: NotifiableRun): string {
  if (run.bestStep === undefined || run.bestMetric === undefined) return '';
  return `; best ${run.metricForBestModel ?? 'metric'} ${run.bestMetric.toFixed(4)} at step ${run.bestStep}`;
}

function firstLine(text: string): string {
  const line = text.split('\n')[0];
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}
