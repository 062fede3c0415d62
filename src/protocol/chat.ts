// Messages of the checkpoint chat panel (host: src/insight/chatPanel.ts, app: webview/chat/main.ts).
import { hasOnlyKeys, isFiniteNumber, isObject, isString, MAX_STATE_PATH, type ParamGuards } from './bridge';

export const CHAT_VIEW_TYPE = 'sftStudio.chat';

export interface ChatTurn {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatSampling {
  maxNewTokens: number;
  temperature: number;
  topP: number;
  topK: number;
}

export type ChatHostMessage =
  | { type: 'chatState'; checkpoint: string; status: 'loading' | 'ready' | 'error'; error?: string; sampling: ChatSampling }
  | { type: 'chatDelta'; piece: string };

export interface ChatAnswer {
  text: string;
  firstTokenMs: number;
  tokensPerSecond: number;
}

export type ChatRequests = {
  send: { params: { messages: ChatTurn[]; sampling: ChatSampling }; result: ChatAnswer };
  stop: { params: Record<string, never>; result: null };
};

const ROLES = ['system', 'user', 'assistant'];

function isTurn(value: unknown): value is ChatTurn {
  return isObject(value) && hasOnlyKeys(value, ['role', 'content']) && ROLES.includes(value.role as string) && isString(value.content);
}

/** The most new tokens one reply may ask for. */
export const MAX_NEW_TOKENS = 4096;

export function isSampling(value: unknown): value is ChatSampling {
  if (!isObject(value) || !hasOnlyKeys(value, ['maxNewTokens', 'temperature', 'topP', 'topK'])) return false;
  const { maxNewTokens, temperature, topP, topK } = value;
  return (
    Number.isSafeInteger(maxNewTokens) && (maxNewTokens as number) >= 1 && (maxNewTokens as number) <= MAX_NEW_TOKENS &&
    isFiniteNumber(temperature) && temperature >= 0 &&
    isFiniteNumber(topP) && topP > 0 && topP <= 1 &&
    Number.isSafeInteger(topK) && (topK as number) >= 0
  );
}

/**
 * The most turns one request may carry and characters per turn (a message typed or pasted, or a reply the
 * app sends back as history): the host would otherwise tokenize whatever a page sends. The app keeps to
 * both (the composer's maxlength, history trimmed), and the saved transcript uses the same limits.
 */
export const MAX_TURNS = 200;
export const MAX_TURN_CHARS = 32_768;

const isSentTurn = (value: unknown): value is ChatTurn => isTurn(value) && value.content.length <= MAX_TURN_CHARS;

export const chatGuards: ParamGuards<ChatRequests> = {
  send: (p): p is ChatRequests['send']['params'] =>
    isObject(p) &&
    hasOnlyKeys(p, ['messages', 'sampling']) &&
    Array.isArray(p.messages) &&
    p.messages.length > 0 &&
    p.messages.length <= MAX_TURNS &&
    p.messages.every(isSentTurn) &&
    isSampling(p.sampling),
  stop: (p): p is Record<string, never> => isObject(p) && Object.keys(p).length === 0,
};

export function isChatHostMessage(value: unknown): value is ChatHostMessage {
  if (!isObject(value)) return false;
  if (value.type === 'chatDelta') return isString(value.piece);
  return value.type === 'chatState' && isString(value.checkpoint) && isString(value.status) && isSampling(value.sampling);
}

/** The most turns (and characters per turn) the chat app keeps with setState; older turns are dropped. */
export const MAX_SAVED_TURNS = MAX_TURNS;
export const MAX_SAVED_TURN_CHARS = MAX_TURN_CHARS;

/**
 * What the chat app keeps with setState: the checkpoint, the transcript and the sampling fields. After
 * a window reload the serializer reopens the panel on that checkpoint and the app shows the transcript.
 */
export interface ChatWebviewState {
  checkpoint: string;
  turns?: ChatTurn[];
  sampling?: ChatSampling;
}


export function isChatWebviewState(value: unknown): value is ChatWebviewState {
  return (
    isObject(value) &&
    hasOnlyKeys(value, ['checkpoint', 'turns', 'sampling']) &&
    isString(value.checkpoint) &&
    value.checkpoint.length > 0 &&
    value.checkpoint.length <= MAX_STATE_PATH &&
    (value.turns === undefined || (Array.isArray(value.turns) && value.turns.length <= MAX_SAVED_TURNS && value.turns.every(isSentTurn))) &&
    (value.sampling === undefined || isSampling(value.sampling))
  );
}
