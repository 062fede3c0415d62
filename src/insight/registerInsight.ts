// Wiring of token insight and checkpoint chat: a code lens provider of its own, two commands and the
// reload serializers of both panels. Everything heavy (transformers.js, onnxruntime-node, panels)
// loads on first use, a restored panel included.
import * as vscode from 'vscode';
import { lazy } from '../common/lazy';
import { vscodeUi } from '../common/ui.apis';
import { CONFIG_SELECTOR } from '../config/configCodeLens';
import { CHAT_VIEW_TYPE } from '../protocol/chat';
import { TOKENS_VIEW_TYPE } from '../protocol/tokens';
import { checkpointPathOf } from '../views/checkpointTarget';
import { InsightCodeLensProvider, PREVIEW_TOKENS_COMMAND } from './insightCodeLens';

export const CHAT_COMMAND = 'sftStudio.chatWithCheckpoint';

export interface InsightDeps {
  /** The Python that runs the trainer, or undefined when none is found (the caller has said why). */
  resolvePython(): Promise<string | undefined>;
  /** A run folder from a Runs tree item. */
  runDirOf(arg: unknown): string | undefined;
  /** The workspace folders: where a restored tokens panel's config may lie. */
  workspaceFolders(): readonly string[];
  /** Where runs are looked for: with the workspace folders, where a restored chat's checkpoint may lie. */
  runRoots(): Promise<readonly string[]>;
}

export function registerInsight(context: vscode.ExtensionContext, deps: InsightDeps): void {
  const lenses = new InsightCodeLensProvider(() => cache.get());
  const cache = lazy(async () => {
    const [{ TokenStatsCache, inputsStamp }, { countStatsInWorker }] = await Promise.all([import('./tokenStatsCache'), import('./tokenStatsWorker')]);
    return new TokenStatsCache(countStatsInWorker, inputsStamp, () => lenses.refresh());
  });
  const tokens = lazy(async () => new (await import('./tokensPanel')).TokensPanels(context.extensionUri, deps.workspaceFolders));
  const chats = lazy(
    async () => new (await import('./chatPanel')).ChatPanels(context.extensionUri, async () => [...deps.workspaceFolders(), ...(await deps.runRoots())]),
  );

  const previewTokens = async (arg?: unknown) => {
    const configPath = arg instanceof vscode.Uri ? arg.fsPath : vscode.window.activeTextEditor?.document.uri.fsPath;
    if (!configPath || !/\.sft\.(yaml|json)$/.test(configPath)) {
      await vscodeUi.showError('Open a *.sft.yaml run config first, then run Preview Tokens.');
      return;
    }
    await (await tokens.get()).open(configPath);
  };

  const chat = async (arg?: unknown) => {
    let target = checkpointPathOf(arg) ?? deps.runDirOf(arg) ?? (arg instanceof vscode.Uri ? arg.fsPath : undefined);
    if (!target) {
      const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Chat with this checkpoint' });
      target = picked?.[0]?.fsPath;
    }
    if (!target) return;
    const [{ chatWithCheckpoint }, { runOnnxExport }] = await Promise.all([import('./chatCommand'), import('../python/exportRunner')]);
    await chatWithCheckpoint(
      {
        ui: vscodeUi,
        exportOnnx: async (checkpoint) => {
          if (!vscode.workspace.isTrusted) return 'exporting runs Python from the workspace; trust the workspace first';
          const python = await deps.resolvePython();
          if (!python) return 'no Python interpreter found (set sftStudio.pythonPath or run SFT Studio: Select Python Interpreter)';
          return vscodeUi.withProgress(`Exporting ${checkpoint} to ONNX`, () => runOnnxExport(python, checkpoint, context.extensionPath));
        },
        openChat: async (checkpoint) => (await chats.get()).open(checkpoint),
      },
      target,
    );
  };

  context.subscriptions.push(
    vscode.languages.registerCodeLensProvider(CONFIG_SELECTOR, lenses),
    lenses,
    vscode.commands.registerCommand(PREVIEW_TOKENS_COMMAND, previewTokens),
    vscode.commands.registerCommand(CHAT_COMMAND, chat),
    vscode.window.registerWebviewPanelSerializer(TOKENS_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state) => (await tokens.get()).restore(panel, state),
    }),
    vscode.window.registerWebviewPanelSerializer(CHAT_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state) => (await chats.get()).restore(panel, state),
    }),
    { dispose: () => (tokens.current()?.dispose(), chats.current()?.dispose(), cache.current()?.dispose()) },
  );
}
