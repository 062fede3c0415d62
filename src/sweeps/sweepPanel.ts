// The Sweep panel host: one panel per sweep folder, the whole view (trials x fields x status x objectives) on
// `ready` and again, coalesced, whenever one of the sweep's runs changes (the run registry's change events) or the
// sweep grows (a bayes suggestion rewrites sweep.json, and the new trial's run folder appears in the registry).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { isSweepHostMessage, SWEEP_VIEW_TYPE, sweepParamGuards, type SweepHostMessage, type SweepRequests } from '../protocol/sweep';
import type { RunRegistry } from '../runs/runRegistry';
import { KeyedPanels, type PanelView } from '../webviews/keyedPanels';
import { PanelBridge } from '../webviews/panelBridge';
import { loadPanelPage } from '../webviews/panelShell';
import { readSweep, sweepView } from './sweepFile';

/** Redraws at most this often while trials stream events. */
const COALESCE_MS = 500;

/** One panel per sweep folder (keyedPanels); a restored panel only for a sweep whose trials the registry knows. */
export class SweepPanels extends KeyedPanels<string, PanelView> {
  constructor(extensionUri: vscode.Uri, registry: RunRegistry, openDashboard: (runDir: string) => void) {
    super(extensionUri, {
      viewType: SWEEP_VIEW_TYPE,
      title: 'Sweep',
      column: vscode.ViewColumn.Active,
      key: (sweepDir) => sweepDir,
      restoreTarget: async (saved) => {
        // The state comes from the page: a folder is taken only when it holds a sweep file whose trials are runs
        // the registry knows (found under the run roots), never any folder a page names.
        const dir = (saved as { sweepDir?: unknown } | undefined)?.sweepDir;
        if (typeof dir !== 'string' || !path.isAbsolute(dir) || path.normalize(dir) !== dir) return undefined;
        const trials = readSweep(dir)?.trials ?? [];
        for (const trial of trials) if (await registry.knows(trial.runDir)) return dir;
        return undefined;
      },
      create: (panel, sweepDir) => attachSweep(panel, sweepDir, extensionUri, registry, openDashboard),
    });
  }
}

function attachSweep(
  panel: vscode.WebviewPanel,
  sweepDir: string,
  extensionUri: vscode.Uri,
  registry: RunRegistry,
  openDashboard: (runDir: string) => void,
): PanelView {
  const message = (): SweepHostMessage => {
    const doc = readSweep(sweepDir);
    if (!doc) throw new Error(`${path.join(sweepDir, 'sweep.json')} is missing or not a sweep file`);
    const view: SweepHostMessage = { type: 'sweep', view: sweepView(doc, registry) };
    // What the app would refuse is refused here, with the reason in the panel.
    if (!isSweepHostMessage(view)) throw new Error('sweep.json holds values the panel cannot show');
    return view;
  };
  const bridge = new PanelBridge<SweepRequests, SweepHostMessage>(panel.webview, {
    guards: sweepParamGuards,
    handlers: {
      openRun: ({ runDir }) => {
        // Only a trial of this sweep: the app names a path, and a page is not trusted to name any.
        if (!readSweep(sweepDir)?.trials.some((t) => t.runDir === runDir)) return false;
        openDashboard(runDir);
        return true;
      },
    },
    fullState: message,
  });
  let timer: NodeJS.Timeout | undefined;
  const changed = registry.onDidChange((summary) => {
    if (summary && path.dirname(summary.runDir) !== sweepDir) return;
    timer ??= setTimeout(() => {
      timer = undefined;
      try {
        void bridge.post(message());
      } catch {
        // sweep.json is being rewritten; the next change sends the view.
      }
    }, COALESCE_MS);
  });
  panel.onDidChangeViewState(() => !panel.visible && bridge.unready());
  panel.onDidDispose(() => {
    clearTimeout(timer);
    changed.dispose();
    bridge.dispose();
  });
  loadPanelPage(panel, extensionUri, 'sweep', `Sweep ${path.basename(sweepDir)}`);
  return { panel };
}
