// Chat with a checkpoint: the conversation, the sampling parameters, and the reply streaming in.
import { isChatHostMessage, type ChatHostMessage, type ChatRequests, type ChatSampling, type ChatTurn } from '../../src/protocol/chat';
import { connect } from '../bridge';
import './chat.css';
import { el, setText } from '../ui/dom';

const app = document.getElementById('app') as HTMLElement;
const status = el('div', { className: 'status' });
const transcript = el('div', { className: 'transcript', attributes: { 'aria-live': 'polite' } });
const input = el('textarea', { attributes: { 'aria-label': 'message', placeholder: 'Message the checkpoint (Enter sends, Shift+Enter is a new line)' } });
const send = el('button', { text: 'Send' });
const stop = el('button', { text: 'Stop' });
const clear = el('button', { text: 'New chat' });
const meta = el('div', { className: 'meta' });

function numberField(label: string, step: string): HTMLInputElement {
  return el('input', { attributes: { type: 'number', step, 'aria-label': label } });
}
const fields = {
  maxNewTokens: numberField('max new tokens', '1'),
  temperature: numberField('temperature', '0.1'),
  topP: numberField('top p', '0.05'),
  topK: numberField('top k', '1'),
};
app.append(
  status,
  el('div', { className: 'sampling' }, Object.entries(fields).map(([name, field]) => el('label', { text: `${name} ` }, [field]))),
  transcript,
  el('div', { className: 'composer' }, [input, el('div', {}, [send, stop, clear])]),
  meta,
);

const turns: ChatTurn[] = [];
let streaming: HTMLElement | undefined;
let busy = false;

const bridge = connect<ChatRequests, ChatHostMessage, object>(isChatHostMessage, (message) => {
  if (message.type === 'chatDelta') {
    if (streaming) streaming.textContent = (streaming.textContent ?? '') + message.piece;
    return;
  }
  status.className = message.status === 'error' ? 'status error' : 'status';
  setText(status, message.status === 'loading' ? `Loading ${message.checkpoint}…` : message.status === 'error' ? (message.error ?? 'failed') : message.checkpoint);
  if (!fields.maxNewTokens.value) {
    fields.maxNewTokens.value = String(message.sampling.maxNewTokens);
    fields.temperature.value = String(message.sampling.temperature);
    fields.topP.value = String(message.sampling.topP);
    fields.topK.value = String(message.sampling.topK);
  }
  send.disabled = message.status !== 'ready';
});

function sampling(): ChatSampling {
  return {
    maxNewTokens: Math.max(1, Math.round(Number(fields.maxNewTokens.value) || 64)),
    temperature: Math.max(0, Number(fields.temperature.value) || 0),
    topP: Math.min(1, Math.max(0.01, Number(fields.topP.value) || 1)),
    topK: Math.max(0, Math.round(Number(fields.topK.value) || 0)),
  };
}

async function submit(): Promise<void> {
  const content = input.value.trim();
  if (!content || busy) return;
  busy = true;
  input.value = '';
  turns.push({ role: 'user', content });
  transcript.append(el('div', { className: 'turn user', text: content }));
  streaming = el('div', { className: 'turn assistant' });
  transcript.append(streaming);
  try {
    const answer = await bridge.request('send', { messages: turns, sampling: sampling() });
    // The final text replaces the streamed pieces: it is cut at end-of-sequence exactly.
    streaming.textContent = answer.text;
    turns.push({ role: 'assistant', content: answer.text });
    setText(meta, `first token ${answer.firstTokenMs.toFixed(0)} ms · ${answer.tokensPerSecond.toFixed(1)} tokens/s`);
  } catch (error) {
    streaming.className = 'turn error';
    streaming.textContent = (error as Error).message;
    turns.pop();
  } finally {
    streaming = undefined;
    busy = false;
  }
}

send.addEventListener('click', () => void submit());
input.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey) {
    e.preventDefault();
    void submit();
  }
});
stop.addEventListener('click', () => void bridge.request('stop', {}));
clear.addEventListener('click', () => {
  turns.length = 0;
  transcript.replaceChildren();
  setText(meta, '');
});
