// Wires "Compare Runs": resolved configs in the diff editor (read-only virtual documents) and the
// comparison report. The logic is in compareRuns.ts; this file only talks to VS Code.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { vscodeUi } from '../common/ui.apis';
import type { RunSummary } from '../protocol/runSummary';
import { runDirOf } from '../views/runsTree';
import { comparisonMarkdown, configText, readOutcome, readResolvedConfig } from './compareRuns';

const SCHEME = 'sftstudio-config';
const DIFF_DOCUMENT = 'config.resolved.yaml';

export function registerCompare(runs: () => readonly RunSummary[]): vscode.Disposable[] {
  const provider: vscode.TextDocumentContentProvider = {
    provideTextDocumentContent: async (uri) => configText(await readResolvedConfig(path.dirname(uri.fsPath))),
  };
  return [
    vscode.workspace.registerTextDocumentContentProvider(SCHEME, provider),
    vscode.commands.registerCommand('sftStudio.compareRuns', async (clicked?: unknown, selected?: unknown) => {
      const chosen = await chooseRuns(runs(), clicked, selected);
      if (!chosen) return;
      try {
        const outcomes = await Promise.all(chosen.map((runDir) => readOutcome(runDir, path.basename(runDir))));
        if (outcomes.length === 2) {
          const [a, b] = outcomes;
          // `key: value` lines are YAML (each value is JSON, which YAML reads), not JSON: named .yaml so the diff
          // editor does not report JSON errors on them. The provider reads the run's config.resolved.json.
          const uri = (runDir: string) => vscode.Uri.file(path.join(runDir, DIFF_DOCUMENT)).with({ scheme: SCHEME });
          await vscode.commands.executeCommand('vscode.diff', uri(a.runDir), uri(b.runDir), `Config: ${a.name} ↔ ${b.name}`, { preview: false });
        }
        await vscodeUi.showMarkdown(`Compare ${outcomes.map((o) => o.name).join(', ')}`, comparisonMarkdown(outcomes));
      } catch (error) {
        void vscodeUi.showError(`SFT Studio: cannot compare: ${(error as Error).message}`);
      }
    }),
  ];
}

/** The runs selected in the Runs view (two or more), else two picked from the palette. */
async function chooseRuns(all: readonly RunSummary[], clicked: unknown, selected: unknown): Promise<string[] | undefined> {
  const fromTree = (Array.isArray(selected) ? selected : [clicked]).map(runDirOf).filter((d): d is string => !!d);
  const unique = [...new Set(fromTree)];
  if (unique.length >= 2) return unique;
  if (all.length < 2) {
    void vscodeUi.showInfo('SFT Studio: comparing needs two runs; start another run first.');
    return undefined;
  }
  const items = (runs: readonly RunSummary[]) => runs.map((run) => ({ label: run.name, description: run.state, runDir: run.runDir }));
  const first = unique[0] ?? (await vscodeUi.pick(items(all), 'First run to compare'))?.runDir;
  if (!first) return undefined;
  const second = await vscodeUi.pick(items(all.filter((r) => r.runDir !== first)), `Compare ${path.basename(first)} with`);
  return second ? [first, second.runDir] : undefined;
}
