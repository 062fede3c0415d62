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
import { PanelBridge } from '../webviews/panelBridge';
import { loadPanelPage, panelOptions } from '../webviews/panelShell';
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
    onDispose: () => void,
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
      onDispose();
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

export class ChatPanels implements vscode.Disposable {
  private readonly panels = new Map<string, ChatPanel>();

  constructor(private readonly extensionUri: vscode.Uri) {}

  open(checkpoint: string): void {
    const existing = this.panels.get(realPath(checkpoint));
    if (existing) {
      existing.panel.reveal();
      return;
    }
    // Retained when hidden: the conversation lives in the page, and a reload would lose it mid-stream.
    // VS Code keeps this option with the panel, so a restored panel is retained as well.
    const panel = vscode.window.createWebviewPanel(CHAT_VIEW_TYPE, 'Chat', vscode.ViewColumn.Beside, {
      ...panelOptions(this.extensionUri),
      retainContextWhenHidden: true,
    });
    this.attach(panel, checkpoint);
  }

  /**
   * Called by the serializer after a window reload with the state the app saved; `roots` are the
   * folders a restored checkpoint may lie in. A state that fails the checks closes the panel.
   */
  restore(panel: vscode.WebviewPanel, state: unknown, roots: readonly string[]): void {
    const restored = restoreChatState(state, roots);
    if (!restored.ok || this.panels.has(realPath(restored.value.checkpoint))) {
      if (!restored.ok) console.warn(`[sft-studio] chat panel not restored: ${restored.reason}`);
      panel.dispose();
      return;
    }
    panel.webview.options = panelOptions(this.extensionUri);
    this.attach(panel, restored.value.checkpoint);
  }

  private attach(panel: vscode.WebviewPanel, checkpoint: string): void {
    const key = realPath(checkpoint);
    this.panels.set(key, new ChatPanel(panel, checkpoint, this.extensionUri, () => this.panels.delete(key)));
  }

  dispose(): void {
    for (const view of this.panels.values()) view.panel.dispose();
  }
}
