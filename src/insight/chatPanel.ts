// "Chat with this checkpoint": a panel whose replies stream from the checkpoint's ONNX export, run on
// onnxruntime-node (CPU) in a worker thread (chatWorker.ts), so neither the model nor its tokenizer ever
// holds up the extension host. One panel per checkpoint folder (by real path, so a link to a checkpoint
// reveals the panel already open on it).
// The app keeps the checkpoint, transcript and sampling fields with setState; after a window reload
// the serializer reopens the panel on that checkpoint (checked by restoreChatState) and the app shows
// the transcript again.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CHAT_VIEW_TYPE, chatGuards, type ChatHostMessage, type ChatRequests, type ChatSampling } from '../protocol/chat';
import { KeyedPanels } from '../webviews/keyedPanels';
import { PanelBridge } from '../webviews/panelBridge';
import { loadPanelPage } from '../webviews/panelShell';
import { ChatWorker } from './chatWorker';
import { restoreChatState } from './restoreState';

const DEFAULT_SAMPLING: ChatSampling = { maxNewTokens: 64, temperature: 0, topP: 1, topK: 0 };

class ChatPanel {
  private state: Extract<ChatHostMessage, { type: 'chatState' }>;
  private readonly model: ChatWorker;
  private abort: AbortController | undefined;
  readonly bridge: PanelBridge<ChatRequests, ChatHostMessage>;

  constructor(
    readonly panel: vscode.WebviewPanel,
    checkpoint: string,
    extensionUri: vscode.Uri,
  ) {
    this.state = { type: 'chatState', checkpoint, status: 'loading', sampling: DEFAULT_SAMPLING };
    loadPanelPage(panel, extensionUri, 'chat', `Chat: ${path.basename(path.dirname(path.dirname(checkpoint)))}/${path.basename(checkpoint)}`);
    this.model = new ChatWorker(checkpoint);
    this.model.ready().then(
      () => this.update({ status: 'ready' }),
      (error: unknown) => this.update({ status: 'error', error: error instanceof Error ? error.message : String(error) }),
    );
    this.bridge = new PanelBridge(panel.webview, {
      guards: chatGuards,
      fullState: () => this.state,
      handlers: {
        send: async ({ messages, sampling }) => {
          this.abort?.abort();
          const abort = (this.abort = new AbortController());
          const reply = await this.model.reply(messages, sampling, (piece) => this.bridge.post({ type: 'chatDelta', piece }), abort.signal);
          return { text: reply.text, firstTokenMs: reply.firstTokenMs, tokensPerSecond: reply.tokensPerSecond };
        },
        stop: () => {
          this.abort?.abort();
          return null;
        },
      },
    });
    panel.onDidChangeViewState(() => panel.visible || this.bridge.unready());
    panel.onDidDispose(() => {
      this.abort?.abort();
      this.bridge.dispose();
      this.model.dispose();
    });
  }

  private update(patch: Partial<Extract<ChatHostMessage, { type: 'chatState' }>>): void {
    this.state = { ...this.state, ...patch };
    this.bridge.post(this.state);
  }
}

/** The folder with links resolved: the key of its panel. */
function realPath(folder: string): string {
  try {
    return fs.realpathSync(folder);
  } catch {
    return path.resolve(folder);
  }
}

/** One chat per checkpoint folder (by real path); `roots` are the folders a restored checkpoint may lie in. */
export class ChatPanels extends KeyedPanels<string, ChatPanel> {
  constructor(extensionUri: vscode.Uri, roots: () => Promise<readonly string[]>) {
    super(extensionUri, {
      viewType: CHAT_VIEW_TYPE,
      title: 'Chat',
      column: vscode.ViewColumn.Beside,
      // Retained when hidden: the conversation lives in the page, and a reload would lose it mid-stream.
      retainContextWhenHidden: true,
      key: realPath,
      restoreTarget: async (saved) => {
        const restored = restoreChatState(saved, await roots());
        if (!restored.ok) console.warn(`[sft-studio] chat panel not restored: ${restored.reason}`);
        return restored.ok ? restored.value.checkpoint : undefined;
      },
      create: (panel, checkpoint) => new ChatPanel(panel, checkpoint, extensionUri),
    });
  }
}
