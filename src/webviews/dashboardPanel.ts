import type * as vscode from 'vscode';
import { DASHBOARD_VIEW_TYPE, isDashboardWebviewState, type DashboardRequests, type DashboardWebviewState, type HostToWebview } from '../protocol/dashboard';
import type { RunRegistry } from '../runs/runRegistry';
import { DashboardSession, type DashboardActions } from './dashboardSession';
import { RunPanels } from './runPanels';

/** One dashboard per run; a restored one brings back the runs it overlaid. */
export class DashboardPanels extends RunPanels<DashboardWebviewState, DashboardRequests, HostToWebview> {
  constructor(extensionUri: vscode.Uri, registry: RunRegistry, actions: DashboardActions) {
    super(extensionUri, registry, {
      viewType: DASHBOARD_VIEW_TYPE,
      entry: 'dashboard',
      titlePrefix: 'SFT',
      isState: isDashboardWebviewState,
      session: (runDir, restored) => new DashboardSession(registry, runDir, actions, restored?.compare ?? []),
    });
  }
}
