// Messages between the extension host, the insight worker (insightWorker.ts: token statistics or a
// checkpoint chat) and the counting worker's helpers. Statistics travel as the whole object the counting
// code returns, so fields added to TokenStats pass through untouched; per-example facts travel as typed
// arrays (transferred, not copied).
import type { ExamplePreview } from '../protocol/tokens';
import { DataError, type ChatMessage } from './datasetRows';
import { InsightConfigError, type InsightConfig } from './insightConfig';
import type { ChatReply, Sampling } from './onnxChat';
import { TokenizerLoadError } from './tokenizerLoader';
import type { ExampleTable, TokenStats } from './tokenStats';

/** workerData of the worker the host starts: count a config's training set. */
export interface CountJob {
  mode: 'count';
  configPath: string;
  /** Threads that encode, this worker included. */
  threads: number;
  /** Stay alive after counting to encode examples for the label-mask preview. */
  keep: boolean;
  /** Shared with the host: element 0 counts rows begun by this worker and its helpers (see beating()). */
  beat: Int32Array;
}

/** workerData of a helper the counting worker starts: encode the rows it is sent. */
export interface ShardJob {
  mode: 'shard';
  config: InsightConfig;
  beat: Int32Array;
}

/** An error as it crosses a thread: enough to rebuild the class the host's messages depend on. */
export interface WireError {
  kind: 'data' | 'config' | 'tokenizer' | 'other';
  name: string;
  message: string;
  hint?: string;
  stack?: string;
}

export type CountReply =
  /** Rows are about to be encoded with this tokenizer: from here on, a beat that stops is a stuck tokenizer. */
  | { type: 'encoding'; tokenizerFile: string }
  | { type: 'progress'; done: number; total: number }
  | { type: 'done'; stats: TokenStats; table: ExampleTable }
  | { type: 'failed'; error: WireError }
  | { type: 'example'; seq: number; preview?: ExamplePreview; error?: WireError };

export type CountRequest = { type: 'example'; seq: number; index: number };

/** To a helper: its part of the training rows, as [where, data, source] triples. */
export interface ShardRows {
  rows: [where: string, data: Record<string, unknown>, source: number][];
}

export type ShardReply =
  | { type: 'progress'; done: number }
  | { type: 'done'; table: ExampleTable }
  /** The shard's first failing row. */
  | { type: 'failed'; error: WireError };

/** workerData of a chat worker: the model of one checkpoint, answering the panel's requests. */
export interface ChatJob {
  mode: 'chat';
  checkpoint: string;
}

export type ChatRequest = { type: 'reply'; seq: number; messages: ChatMessage[]; sampling: Sampling } | { type: 'stop'; seq: number };

export type ChatEvent =
  | { type: 'loaded' }
  | { type: 'loadFailed'; error: WireError }
  /** The prompt is tokenized; the rest of the reply is the model's time, not the tokenizer's. */
  | { type: 'encoded'; seq: number }
  | { type: 'piece'; seq: number; piece: string }
  | { type: 'replied'; seq: number; reply: ChatReply }
  | { type: 'replyFailed'; seq: number; error: WireError };

/**
 * `encode`, counting each row it begins in `beat`: the host reads the count without a message, so it
 * knows a row has taken too long even while the thread encoding it cannot answer.
 */
export function beating<R, E>(encode: (row: R) => E, beat: Int32Array): (row: R) => E {
  return (row) => {
    Atomics.add(beat, 0, 1);
    return encode(row);
  };
}

export function transferList(table: ExampleTable): ArrayBuffer[] {
  return [table.lengths.buffer, table.trained.buffer, table.truncated.buffer, table.lines.buffer, table.dropped.buffer] as ArrayBuffer[];
}

/** The error as the other thread will rebuild it (DataError keeps its hint). */
export function toWire(error: unknown): WireError {
  if (!(error instanceof Error)) return { kind: 'other', name: 'Error', message: String(error) };
  const kind = error instanceof DataError ? 'data' : error instanceof InsightConfigError ? 'config' : error instanceof TokenizerLoadError ? 'tokenizer' : 'other';
  return { kind, name: error.name, message: error.message, hint: error instanceof DataError ? error.hint : undefined, stack: error.stack };
}

export function fromWire(wire: WireError): Error {
  const error =
    wire.kind === 'data'
      ? new DataError(wire.message, wire.hint)
      : wire.kind === 'config'
        ? new InsightConfigError(wire.message)
        : wire.kind === 'tokenizer'
          ? new TokenizerLoadError(wire.message)
          : new Error(wire.message);
  error.name = wire.name;
  if (wire.stack) error.stack = wire.stack;
  return error;
}
