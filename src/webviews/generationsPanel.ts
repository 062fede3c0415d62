import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { isObject, isStep, isString } from '../protocol/bridge';
import {
  GENERATIONS_VIEW_TYPE,
  isGenerationsWebviewState,
  type CellRef,
  type GenerationsHostMessage,
  type GenerationsRequests,
  type GenerationsWebviewState,
} from '../protocol/generations';
import type { RunRegistry } from '../runs/runRegistry';
import { generationTable, GenerationsSession, type GenerationsActions } from './generationsSession';
import { RunPanels } from './runPanels';

/** Read-only documents holding one completion each, so vscode.diff can compare two of them. */
export const GENERATION_SCHEME = 'sft-studio-generation';

/** One generations panel per run, plus the read-only documents its diffs open. */
export class GenerationsPanels extends RunPanels<GenerationsWebviewState, GenerationsRequests, GenerationsHostMessage> {
  private readonly provider: vscode.Disposable;

  constructor(extensionUri: vscode.Uri, registry: RunRegistry) {
    const actions: GenerationsActions = {
      openDiff: async (runDir, left, right, title) => {
        await vscode.commands.executeCommand('vscode.diff', uriOf(runDir, left), uriOf(runDir, right), title, { preview: true });
      },
      saveAs: async (defaultPath, format, text) => {
        const target = await vscode.window.showSaveDialog({
          defaultUri: vscode.Uri.file(defaultPath),
          filters: format === 'csv' ? { CSV: ['csv'] } : { 'JSON Lines': ['jsonl'] },
          title: 'Export generations',
        });
        if (!target) return undefined;
        await fs.promises.writeFile(target.fsPath, text, 'utf8');
        return target.fsPath;
      },
    };
    super(extensionUri, registry, {
      viewType: GENERATIONS_VIEW_TYPE,
      entry: 'generations',
      titlePrefix: 'Generations',
      isState: isGenerationsWebviewState,
      session: (runDir) => new GenerationsSession(registry, runDir, actions),
    });
    this.provider = vscode.workspace.registerTextDocumentContentProvider(GENERATION_SCHEME, {
      provideTextDocumentContent: (uri) => completionOf(registry, uri),
    });
  }

  override dispose(): void {
    super.dispose();
    this.provider.dispose();
  }
}

function uriOf(runDir: string, ref: CellRef): vscode.Uri {
  const query = JSON.stringify({ runDir, step: ref.step, promptId: ref.promptId });
  const safeId = ref.promptId.replace(/[^A-Za-z0-9._-]+/g, '_');
  return vscode.Uri.from({ scheme: GENERATION_SCHEME, path: `/${path.basename(runDir)}/step-${ref.step}/${safeId}.txt`, query });
}

function completionOf(registry: RunRegistry, uri: vscode.Uri): string {
  let ref: unknown;
  try {
    ref = JSON.parse(uri.query);
  } catch {
    return '';
  }
  if (!isObject(ref) || !isString(ref.runDir) || !isStep(ref.step) || !isString(ref.promptId)) return '';
  return generationTable(registry, ref.runDir).cell({ step: ref.step, promptId: ref.promptId })?.completion ?? '';
}
