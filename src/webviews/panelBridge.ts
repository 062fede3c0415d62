// Host side of the panel envelope (src/protocol/bridge.ts), without vscode types so unit tests can
// drive it with a fake webview: full state after every `ready` (or, when it cannot be built, a
// panel error the app shows with a retry), deltas only while the page is ready, and exactly one
// reply per request, whether the handler resolves, throws or the request is malformed.
import { PANEL_ERROR, parseAppMessage, REPLY, type PanelErrorMessage, type ParamGuards, type ReplyMessage, type RequestMap } from '../protocol/bridge';

export interface Disposable {
  dispose(): void;
}

/** The slice of vscode.Webview the bridge uses. */
export interface MessagePort {
  postMessage(message: unknown): Thenable<boolean> | Promise<boolean>;
  onDidReceiveMessage(listener: (message: unknown) => void): Disposable;
}

export type RequestHandlers<R extends RequestMap> = {
  [K in keyof R]: (params: R[K]['params']) => R[K]['result'] | Promise<R[K]['result']>;
};

export interface BridgeOptions<R extends RequestMap, HostMessage> {
  guards: ParamGuards<R>;
  handlers: RequestHandlers<R>;
  /** The full state, sent in answer to every `ready`. */
  fullState(): HostMessage | Promise<HostMessage>;
}

export class PanelBridge<R extends RequestMap, HostMessage> implements Disposable {
  private ready = false;
  private readonly subscription: Disposable;

  constructor(
    private readonly port: MessagePort,
    private readonly options: BridgeOptions<R, HostMessage>,
  ) {
    this.subscription = port.onDidReceiveMessage((message) => void this.receive(message));
  }

  get isReady(): boolean {
    return this.ready;
  }

  /**
   * A delta; dropped while the page is not ready (it gets the full state when it says `ready`).
   * Resolves once the webview took it, so a sender can hold the next one back (backpressure).
   */
  async post(message: HostMessage): Promise<boolean> {
    if (!this.ready) return false;
    return this.port.postMessage(message);
  }

  /** The page went away (hidden panel); the next load says `ready` again. */
  unready(): void {
    this.ready = false;
  }

  dispose(): void {
    this.subscription.dispose();
  }

  private async receive(message: unknown): Promise<void> {
    const parsed = parseAppMessage(message, this.options.guards);
    if (parsed.kind === 'ready') {
      this.ready = false;
      let state: HostMessage;
      try {
        state = await this.options.fullState();
      } catch (error) {
        // Without its state the page would wait forever on "Loading…": say why instead. Deltas stay
        // off until the app says `ready` again (its Retry button does).
        const reason = error instanceof Error ? error.message : String(error);
        const message: PanelErrorMessage = { type: PANEL_ERROR, message: `This panel could not load its data: ${reason}` };
        void this.port.postMessage(message);
        return;
      }
      this.ready = true;
      void this.port.postMessage(state);
    } else if (parsed.kind === 'invalid') {
      this.reply({ type: REPLY, seq: parsed.seq, ok: false, error: parsed.error });
    } else if (parsed.kind === 'request') {
      const { seq, method, params } = parsed.request;
      const handler = this.options.handlers[method] as (p: unknown) => unknown;
      try {
        const result = await handler(params);
        this.reply({ type: REPLY, seq, ok: true, result: result ?? null });
      } catch (error) {
        this.reply({ type: REPLY, seq, ok: false, error: error instanceof Error ? error.message : String(error) });
      }
    }
  }

  private reply(message: ReplyMessage): void {
    void this.port.postMessage(message);
  }
}
