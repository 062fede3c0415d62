// What a generations panel does for one run, without vscode: the full state, the diff and export
// requests, and the deltas it forwards from the registry. generationsPanel.ts supplies the diff
// editor and the save dialog; the webview tests supply their own.
import * as path from 'node:path';
import { GenerationTable, generationsOf } from '../shared/generationTable';
import { toCsv, toJsonl } from './generationsExport';
import {
  generationsGuards,
  type CellRef,
  type ExportFormat,
  type Generation,
  type GenerationsHostMessage,
  type GenerationsRequests,
  type TableFilter,
} from '../protocol/generations';
import { Coalescer } from './coalescer';
import type { RegistryView } from './dashboardSession';
import type { BridgeOptions, Disposable, PanelBridge } from './panelBridge';

export interface GenerationsActions {
  /** Shows the two cells' completions side by side. */
  openDiff(runDir: string, left: CellRef, right: CellRef, title: string): Promise<void>;
  /** Asks where to save; resolves to the chosen path, or undefined when cancelled. */
  saveAs(defaultPath: string, format: ExportFormat, text: string): Promise<string | undefined>;
}

export function generationTable(registry: Pick<RegistryView, 'events'>, runDir: string): GenerationTable {
  const table = new GenerationTable();
  table.add(generationsOf(registry.events(runDir)));
  return table;
}

export class GenerationsSession {
  constructor(
    private readonly registry: RegistryView,
    readonly runDir: string,
    private readonly actions: GenerationsActions,
  ) {}

  options(): BridgeOptions<GenerationsRequests, GenerationsHostMessage> {
    return {
      guards: generationsGuards,
      handlers: {
        diff: ({ left, right }) => this.diff(left, right),
        export: ({ format, filter }) => this.export(format, filter),
      },
      fullState: async () => {
        const run = (await this.registry.ensure(this.runDir)) ?? { runDir: this.runDir, name: path.basename(this.runDir), state: 'crashed' as const };
        return { type: 'state', run, generations: generationsOf(this.registry.events(this.runDir)) };
      },
    };
  }

  /**
   * New generations and summary changes of the run, at most one message per PANEL_FLUSH_MS: the
   * summary changes with every step a run logs, and a fast run must not flood the page.
   */
  follow(bridge: Pick<PanelBridge<GenerationsRequests, GenerationsHostMessage>, 'post'>): Disposable[] {
    let pending: Generation[] = [];
    const coalescer = new Coalescer(async () => {
      const run = this.registry.get(this.runDir);
      const generations = pending;
      pending = [];
      if (run) await bridge.post({ type: 'generations', run, generations });
    });
    return [
      coalescer,
      this.registry.onDidAppendEvents(({ runDir, events }) => {
        if (runDir !== this.runDir) return;
        pending.push(...generationsOf(events));
        coalescer.mark();
      }),
      this.registry.onDidChange((summary) => {
        if (summary?.runDir === this.runDir) coalescer.mark();
      }),
    ];
  }

  private async diff(left: CellRef, right: CellRef): Promise<null> {
    const table = generationTable(this.registry, this.runDir);
    for (const ref of [left, right]) {
      if (!table.cell(ref)) throw new Error(`no completion for prompt ${ref.promptId} at step ${ref.step}`);
    }
    const label = (ref: CellRef) => `${ref.promptId}@${ref.step}`;
    await this.actions.openDiff(this.runDir, left, right, `${label(left)} ↔ ${label(right)}`);
    return null;
  }

  private async export(format: ExportFormat, filter: TableFilter): Promise<{ path?: string; rows: number }> {
    const table = generationTable(this.registry, this.runDir);
    const rows = table.filtered(filter);
    const text = format === 'csv' ? toCsv(rows, table.steps) : toJsonl(rows, table.steps);
    const records = rows.reduce((n, row) => n + row.cells.size, 0);
    const saved = await this.actions.saveAs(path.join(this.runDir, `generations.${format}`), format, text);
    return saved ? { path: saved, rows: records } : { rows: records };
  }
}
