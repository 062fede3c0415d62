// Messages between the extension host, the token statistics worker (insightWorker.ts) and the worker's
// helpers. Statistics travel as the whole object the counting code returns, so fields added to
// TokenStats pass through untouched; per-example facts travel as typed arrays (transferred, not copied).
import type { ExamplePreview } from '../protocol/tokens';
import { DataError } from './datasetRows';
import { InsightConfigError, type InsightConfig } from './insightConfig';
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
}

/** workerData of a helper the counting worker starts: encode the rows it is sent. */
export interface ShardJob {
  mode: 'shard';
  config: InsightConfig;
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
