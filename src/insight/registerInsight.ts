// Wiring of token insight and checkpoint chat: a code lens provider of its own, two commands and the
// reload serializers of both panels. Everything heavy (transformers.js, onnxruntime-node, panels)
// loads on first use, a restored panel included.
import * as vscode from 'vscode';
import { registerExportCheckpoint } from '../commands/registerExport';
import { vscodeUi } from '../common/ui.apis';
import { CONFIG_SELECTOR } from '../config/configCodeLens';
import { CHAT_VIEW_TYPE } from '../protocol/chat';
import { TOKENS_VIEW_TYPE } from '../protocol/tokens';
import type { ChatPanels } from './chatPanel';
import { checkpointPathOf } from './chatTarget';
import { InsightCodeLensProvider, PREVIEW_TOKENS_COMMAND } from './insightCodeLens';
import type { TokenStatsCache } from './tokenStatsCache';
import type { TokensPanels } from './tokensPanel';

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
  let cache: TokenStatsCache | undefined;
  const lenses = new InsightCodeLensProvider(() => getCache());
  const getCache = async () => {
    if (!cache) {
      const [{ TokenStatsCache, inputsStamp }, { countStatsInWorker }] = await Promise.all([import('./tokenStatsCache'), import('./tokenStatsWorker')]);
      cache ??= new TokenStatsCache(countStatsInWorker, inputsStamp, () => lenses.refresh());
    }
    return cache;
  };
  // One promise each, so serializers restoring several panels at once share one host object.
  let tokens: TokensPanels | undefined;
  let tokensLoading: Promise<TokensPanels> | undefined;
  const getTokens = () => (tokensLoading ??= import('./tokensPanel').then(({ TokensPanels }) => (tokens = new TokensPanels(context.extensionUri))));
  let chats: ChatPanels | undefined;
  let chatsLoading: Promise<ChatPanels> | undefined;
  const getChats = () => (chatsLoading ??= import('./chatPanel').then(({ ChatPanels }) => (chats = new ChatPanels(context.extensionUri))));

  const previewTokens = async (arg?: unknown) => {
    const configPath = arg instanceof vscode.Uri ? arg.fsPath : vscode.window.activeTextEditor?.document.uri.fsPath;
    if (!configPath || !/\.sft\.(yaml|json)$/.test(configPath)) {
      await vscodeUi.showError('Open a *.sft.yaml run config first, then run Preview Tokens.');
      return;
    }
    (await getTokens()).open(configPath);
  };

  const chat = async (arg?: unknown) => {
    let target = checkpointPathOf(arg) ?? deps.runDirOf(arg) ?? (arg instanceof vscode.Uri ? arg.fsPath : undefined);
    if (!target) {
      const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Chat with this checkpoint' });
      target = picked?.[0]?.fsPath;
    }
    if (!target) return;
    const [{ chatWithCheckpoint }, { runOnnxExport }] = await Promise.all([import('./chatCommand'), import('./exportRunner')]);
    await chatWithCheckpoint(
      {
        ui: vscodeUi,
        exportOnnx: async (checkpoint) => {
          if (!vscode.workspace.isTrusted) return 'exporting runs Python from the workspace; trust the workspace first';
          const python = await deps.resolvePython();
          if (!python) return 'no Python interpreter found (set sftStudio.pythonPath or run SFT Studio: Select Python Interpreter)';
          return vscodeUi.withProgress(`Exporting ${checkpoint} to ONNX`, () => runOnnxExport(python, checkpoint, context.extensionPath));
        },
        openChat: async (checkpoint) => (await getChats()).open(checkpoint),
      },
      target,
    );
  };

  context.subscriptions.push(
    vscode.languages.registerCodeLensProvider(CONFIG_SELECTOR, lenses),
    lenses,
    vscode.commands.registerCommand(PREVIEW_TOKENS_COMMAND, previewTokens),
    vscode.commands.registerCommand(CHAT_COMMAND, chat),
    registerExportCheckpoint(context, deps),
    vscode.window.registerWebviewPanelSerializer(TOKENS_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state) => (await getTokens()).restore(panel, state, deps.workspaceFolders()),
    }),
    vscode.window.registerWebviewPanelSerializer(CHAT_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state) => (await getChats()).restore(panel, state, [...deps.workspaceFolders(), ...(await deps.runRoots())]),
    }),
    { dispose: () => (tokens?.dispose(), chats?.dispose(), cache?.dispose()) },
  );
}
