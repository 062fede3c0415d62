// App side of the panel envelope (src/protocol/bridge.ts): posts `ready`, routes host
// notifications that pass the panel's guard, turns each request into a promise settled by the
// one reply carrying its seq, and shows a panel error (the host could not build the state) above
// the panel with a Retry that asks for the state again. Every panel gets that from here.
import { isPanelError, isReply, READY, REQUEST, type RequestMap, type RequestMessage } from '../src/protocol/bridge';
import { el } from './ui/dom';
import { vscodeApi } from './vscodeApi';

export interface Bridge<R extends RequestMap, State> {
  request<K extends keyof R & string>(method: K, params: R[K]['params']): Promise<R[K]['result']>;
  getState(): Partial<State>;
  setState(patch: Partial<State>): void;
}

export function connect<R extends RequestMap, HostMessage, State>(
  isHostMessage: (value: unknown) => value is HostMessage,
  onMessage: (message: HostMessage) => void,
): Bridge<R, State> {
  const api = vscodeApi<Partial<State>>();
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextSeq = 0;
  const problem = panelErrorBanner(() => api.postMessage({ type: READY }));

  window.addEventListener('message', (event: MessageEvent<unknown>) => {
    const data = event.data;
    if (isPanelError(data)) {
      problem.show(data.message);
    } else if (isReply(data)) {
      const waiter = pending.get(data.seq);
      if (!waiter) return;
      pending.delete(data.seq);
      if (data.ok) waiter.resolve(data.result);
      else waiter.reject(new Error(data.error));
    } else if (isHostMessage(data)) {
      problem.hide();
      onMessage(data);
    }
  });

  const bridge: Bridge<R, State> = {
    request(method, params) {
      const seq = nextSeq++;
      const message = { type: REQUEST, seq, method, params } as RequestMessage<R>;
      return new Promise((resolve, reject) => {
        pending.set(seq, { resolve: resolve as (value: unknown) => void, reject });
        api.postMessage(message);
      });
    },
    getState: () => api.getState() ?? {},
    setState: (patch) => api.setState({ ...(api.getState() ?? {}), ...patch }),
  };
  // Listener first, then `ready`: the full state cannot arrive before anyone listens.
  queueMicrotask(() => api.postMessage({ type: READY }));
  return bridge;
}

/** The banner a panel error fills; inserted before the app's own content, text only. */
function panelErrorBanner(retry: () => void): { show(message: string): void; hide(): void } {
  const text = el('span', { id: 'panel-error-message' });
  const again = el('button', { id: 'panel-error-retry', text: 'Retry', attributes: { type: 'button' } });
  const banner = el('div', { id: 'panel-error', className: 'panel-error', attributes: { role: 'alert' } }, [text, again]);
  banner.hidden = true;
  again.addEventListener('click', () => {
    banner.hidden = true;
    retry();
  });
  return {
    show(message) {
      text.textContent = message;
      banner.hidden = false;
      if (!banner.isConnected) document.body.prepend(banner);
    },
    hide() {
      banner.hidden = true;
    },
  };
}
