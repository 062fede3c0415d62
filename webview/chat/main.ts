// Chat with a checkpoint: the conversation, the sampling parameters, and the reply streaming in. The
// transcript and the sampling fields are kept with setState, so a window reload brings them back.
import {
  isChatHostMessage,
  isChatWebviewState,
  MAX_NEW_TOKENS,
  MAX_SAVED_TURN_CHARS,
  MAX_SAVED_TURNS,
  MAX_TURN_CHARS,
  MAX_TURNS,
  type ChatHostMessage,
  type ChatRequests,
  type ChatSampling,
  type ChatTurn,
  type ChatWebviewState,
} from '../../src/protocol/chat';
import { connect } from '../bridge';
import './chat.css';
import { button, labelled, textField, type Control } from '../ui/controls';
import { el, setText } from '../ui/dom';

const app = document.getElementById('app') as HTMLElement;
const status = el('div', { className: 'status' });
const transcript = el('div', { className: 'transcript', attributes: { 'aria-live': 'polite' } });
const input = el('textarea', {
  attributes: { 'aria-label': 'message', placeholder: 'Message the checkpoint (Enter sends, Shift+Enter is a new line)', maxlength: String(MAX_TURN_CHARS) },
});
const send = button('Send', { id: 'send', title: 'Send the message (Enter)', onClick: () => void submit() });
const stop = button('Stop', { id: 'stop', title: 'Stop the reply', secondary: true, onClick: () => void bridge.request('stop', {}) });
const clear = button('New chat', { id: 'new-chat', title: 'Start a new conversation', secondary: true, onClick: () => newChat() });
const meta = el('div', { className: 'meta' });

// The names say what each parameter does in words; the hover title says what the values mean.
const SAMPLING_FIELDS = [
  ['maxNewTokens', 'Max new tokens', `Longest reply, in tokens (1 to ${MAX_NEW_TOKENS})`],
  ['temperature', 'Temperature', '0 = greedy (always the likeliest token); higher = more varied'],
  ['topP', 'Top-p', 'Sample from the smallest set of tokens whose probabilities add up to this (1 = all)'],
  ['topK', 'Top-k', 'Sample from this many likeliest tokens (0 = no limit)'],
] as const;
const fields = Object.fromEntries(
  SAMPLING_FIELDS.map(([key, label]) => [key, textField({ id: key, label })]),
) as Record<(typeof SAMPLING_FIELDS)[number][0], Control<string>>;
app.append(
  status,
  el(
    'div',
    { className: 'sampling' },
    SAMPLING_FIELDS.map(([key, label, hint]) => {
      const field = labelled(label, fields[key].element);
      field.title = hint;
      return field;
    }),
  ),
  transcript,
  el('div', { className: 'composer' }, [input, el('div', { className: 'actions' }, [send, stop, clear])]),
  meta,
);

const turns: ChatTurn[] = [];
let streaming: HTMLElement | undefined;
let busy = false;

const bridge = connect<ChatRequests, ChatHostMessage, ChatWebviewState>(isChatHostMessage, (message) => {
  if (message.type === 'chatDelta') {
    if (streaming) streaming.textContent = (streaming.textContent ?? '') + message.piece;
    return;
  }
  // Saved for the serializer: after a window reload the panel reopens on this checkpoint.
  if (bridge.getState().checkpoint !== message.checkpoint) bridge.setState({ checkpoint: message.checkpoint });
  status.className = message.status === 'error' ? 'status error' : 'status';
  setText(status, message.status === 'loading' ? `Loading ${message.checkpoint}…` : message.status === 'error' ? (message.error ?? 'failed') : message.checkpoint);
  if (!fields.maxNewTokens.value) setSampling(message.sampling);
  send.disabled = message.status !== 'ready';
});

function setSampling(values: ChatSampling): void {
  fields.maxNewTokens.value = String(values.maxNewTokens);
  fields.temperature.value = String(values.temperature);
  fields.topP.value = String(values.topP);
  fields.topK.value = String(values.topK);
}

/** Keeps the transcript (its newest turns, each within the saved size) and the sampling fields. */
function saveConversation(): void {
  const kept = turns.slice(-MAX_SAVED_TURNS).map((t) => ({ role: t.role, content: t.content.slice(0, MAX_SAVED_TURN_CHARS) }));
  bridge.setState({ turns: kept, sampling: sampling() });
}

/** The field's number, or `fallback` when it is empty, not a number or not finite. */
function fieldNumber(field: Control<string>, fallback: number): number {
  const value = Number(field.value);
  return Number.isFinite(value) && value !== 0 ? value : fallback;
}

/** The sampling fields, clamped to what the host accepts (and the saved state may hold). */
function sampling(): ChatSampling {
  return {
    maxNewTokens: Math.min(MAX_NEW_TOKENS, Math.max(1, Math.round(fieldNumber(fields.maxNewTokens, 64)))),
    temperature: Math.max(0, fieldNumber(fields.temperature, 0)),
    topP: Math.min(1, Math.max(0.01, fieldNumber(fields.topP, 1))),
    topK: Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, Math.round(fieldNumber(fields.topK, 0)))),
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
    // The host accepts at most MAX_TURNS turns of MAX_TURN_CHARS characters: the oldest turns and the
    // tail of an overlong reply are left out of the history sent, as they are of the saved transcript.
    const history = turns.slice(-MAX_TURNS).map((t) => ({ role: t.role, content: t.content.slice(0, MAX_TURN_CHARS) }));
    const answer = await bridge.request('send', { messages: history, sampling: sampling() });
    // The final text replaces the streamed pieces: it is cut at end-of-sequence exactly.
    streaming.textContent = answer.text;
    turns.push({ role: 'assistant', content: answer.text });
    saveConversation();
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

input.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey) {
    e.preventDefault();
    void submit();
  }
});
function newChat(): void {
  turns.length = 0;
  transcript.replaceChildren();
  setText(meta, '');
  saveConversation();
}

// A reloaded page (window reload, restored panel) shows the saved conversation; a state that fails
// the protocol's check is ignored.
const saved = bridge.getState();
if (isChatWebviewState(saved)) {
  for (const turn of saved.turns ?? []) {
    turns.push(turn);
    transcript.append(el('div', { className: `turn ${turn.role}`, text: turn.content }));
  }
  if (saved.sampling) setSampling(saved.sampling);
}
