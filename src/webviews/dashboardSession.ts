// What a dashboard panel does for one run, without vscode: the full state, the control and compare
// requests, and the deltas it forwards from the registry. dashboardPanel.ts wires it to a real
// webview; the webview tests wire it to Chromium.
import * as path from 'node:path';
import { HostMessageType, dashboardGuards, type ControlAction, type DashboardRequests, type HostToWebview, type RunData } from '../protocol/dashboard';
import type { RunRegistry } from '../runs/runRegistry';
import type { BridgeOptions, Disposable, PanelBridge } from './panelBridge';

export interface DashboardActions {
  stopRun(runDir: string): Promise<unknown> | void;
  /** Appends `{"type": action, "time": …}` to the run's control.jsonl. */
  requestControl(runDir: string, action: 'save' | 'generate'): void;
}

export type RegistryView = Pick<RunRegistry, 'get' | 'list' | 'events' | 'ensure' | 'refresh' | 'onDidAppendEvents' | 'onDidChange'>;

export class DashboardSession {
  private compare: Set<string>;

  constructor(
    private readonly registry: RegistryView,
    readonly runDir: string,
    private readonly actions: DashboardActions,
    compare: readonly string[] = [],
  ) {
    this.compare = new Set(compare.filter((d) => d !== runDir));
  }

  options(): BridgeOptions<DashboardRequests, HostToWebview> {
    return {
      guards: dashboardGuards,
      handlers: {
        control: ({ action }) => this.control(action),
        compare: async ({ runDirs }) => {
          await this.ensureAll(runDirs);
          this.compare = new Set(runDirs.filter((d) => d !== this.runDir && this.registry.get(d)));
          return { runs: [...this.compare].flatMap((d) => this.runData(d) ?? []) };
        },
      },
      fullState: async () => {
        await this.ensureAll([this.runDir, ...this.compare]);
        const own = this.runData(this.runDir) ?? { run: { runDir: this.runDir, name: path.basename(this.runDir), state: 'crashed' as const }, events: [] };
        return {
          type: HostMessageType.state,
          ...own,
          compare: [...this.compare].flatMap((d) => this.runData(d) ?? []),
          available: this.registry.list(),
        };
      },
    };
  }

  /** Forwards new events of the shown runs, and changes of the run list, as deltas. */
  follow(bridge: Pick<PanelBridge<DashboardRequests, HostToWebview>, 'post'>): Disposable[] {
    const shows = (dir: string) => dir === this.runDir || this.compare.has(dir);
    return [
      this.registry.onDidAppendEvents(({ runDir, events, summary }) => {
        if (shows(runDir)) bridge.post({ type: HostMessageType.events, run: summary, events });
      }),
      this.registry.onDidChange((summary) => {
        if (!summary) bridge.post({ type: HostMessageType.runs, available: this.registry.list() });
        else if (shows(summary.runDir)) bridge.post({ type: HostMessageType.events, run: summary, events: [] });
      }),
    ];
  }

  private async ensureAll(dirs: Iterable<string>): Promise<void> {
    for (const dir of dirs) await this.registry.ensure(dir);
  }

  private runData(runDir: string): RunData | undefined {
    const run = this.registry.get(runDir);
    return run ? { run, events: [...this.registry.events(runDir)] } : undefined;
  }

  private async control(action: ControlAction): Promise<{ message: string }> {
    if (action === 'stop') {
      await this.actions.stopRun(this.runDir);
      return { message: 'Stop requested: the run saves a checkpoint and ends after its current step.' };
    }
    this.actions.requestControl(this.runDir, action);
    return {
      message:
        action === 'save'
          ? 'Checkpoint requested: it is written after the current step.'
          : 'Generation requested: samples appear in Generations after the current step.',
    };
  }
}
