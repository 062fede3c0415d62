// Wiring of "Export Checkpoint…": the command on a checkpoint row of the Runs view, a run row (its newest
// checkpoint) or the palette (a chosen folder). The logic and the process runner load on first use.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { HF_TOKEN_SECRET } from '../common/hfToken';
import { vscodeUi } from '../common/ui.apis';
import { checkpointPathOf } from '../views/checkpointTarget';
import { latestCheckpoint } from '../runs/checkpoints';

export const EXPORT_COMMAND = 'sftStudio.exportCheckpoint';

export interface ExportWiringDeps {
  resolvePython(): Promise<string | undefined>;
  runDirOf(arg: unknown): string | undefined;
}

export function registerExportCheckpoint(context: vscode.ExtensionContext, deps: ExportWiringDeps): vscode.Disposable {
  return vscode.commands.registerCommand(EXPORT_COMMAND, async (arg?: unknown) => {
    const runDir = deps.runDirOf(arg);
    let target = checkpointPathOf(arg) ?? (runDir ? latestCheckpoint(runDir)?.path : undefined) ?? (arg instanceof vscode.Uri ? arg.fsPath : undefined);
    if (!target) {
      const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Export this checkpoint' });
      target = picked?.[0]?.fsPath;
    }
    if (!target) return;
    const [{ exportCheckpoint }, { spawnExport }] = await Promise.all([import('./exportCheckpoint'), import('../python/exportRunner')]);
    await exportCheckpoint(
      {
        ui: vscodeUi,
        isTrusted: () => vscode.workspace.isTrusted,
        resolvePython: deps.resolvePython,
        hfToken: () => Promise.resolve(context.secrets.get(HF_TOKEN_SECRET)),
        isAdapter: (checkpoint) => fs.existsSync(path.join(checkpoint, 'adapter_config.json')),
        start: (python, args, options) => spawnExport(python, args, { ...options, extensionPath: context.extensionPath }),
        // Through asExternalUri, as every URL this extension opens: in a remote window the browser is on the
        // user's machine, and a URL on the remote's localhost only reaches it through a forwarded port.
        openExternal: async (url) => {
          await vscode.env.openExternal(await vscode.env.asExternalUri(vscode.Uri.parse(url)));
        },
      },
      target,
    );
  });
}
