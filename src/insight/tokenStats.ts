// Token statistics of a training set: the trainer's four totals (examples, tokens, truncated
// examples, trained tokens) plus what a run config is tuned by: the length histogram, the share cut
// at max_length and how full packed rows would be.
import { ConversationEncoder, IGNORE_INDEX, type ChatTokenizer, type EncodedExample } from './conversationEncoder';
import { readRows } from './datasetRows';
import type { InsightConfig } from './insightConfig';
import { splitRows, subsampleRows } from './trainingSplit';

export interface LineExample extends EncodedExample {
  /** 1-based line of the row in train_file. */
  line: number;
}

export interface Histogram {
  /** Bin i counts lengths in [edges[i], edges[i+1]); the last bin includes its upper edge. */
  edges: number[];
  counts: number[];
}

export interface TokenTotals {
  examples: number;
  tokens: number;
  truncated_examples: number;
  trained_tokens: number;
}

export interface TokenStats extends TokenTotals {
  masked_tokens: number;
  max_length: number;
  truncated_fraction: number;
  mean_length: number;
  longest: number;
  histogram: Histogram;
  /** Share of row slots holding real tokens when examples are packed into max_length rows. */
  packing_efficiency: { bfd: number; wrapped: number };
  /** Share of slots holding real tokens in padded batches of per_device_train_batch_size, in file order. */
  padding_efficiency: number;
}

export interface EncodeOptions {
  signal?: AbortSignal;
  /** Called with (done, total) every few hundred examples. */
  onProgress?: (done: number, total: number) => void;
}

const YIELD_EVERY = 250;

/** Every training example, encoded as the trainer encodes it; yields to the event loop as it goes. */
export async function encodeDataset(config: InsightConfig, tok: ChatTokenizer, options: EncodeOptions = {}): Promise<LineExample[]> {
  const encoder = new ConversationEncoder(tok, config.maxLength, config.completionOnlyLoss);
  const { train } = splitRows(readRows(config.trainFile, config.columnMapping), config.validationSplitRatio, config.seed);
  const rows = subsampleRows(train, config.subsample, config.seed);
  const examples: LineExample[] = [];
  for (let i = 0; i < rows.length; i++) {
    if (i % YIELD_EVERY === 0) {
      options.signal?.throwIfAborted();
      options.onProgress?.(i, rows.length);
      if (i > 0) await new Promise((resolve) => setImmediate(resolve));
    }
    examples.push({ ...encoder.encodeRow(rows[i], config.datasetFormat), line: rows[i].line });
  }
  options.onProgress?.(rows.length, rows.length);
  return examples;
}

export function totals(examples: readonly EncodedExample[]): TokenTotals {
  const out: TokenTotals = { examples: examples.length, tokens: 0, truncated_examples: 0, trained_tokens: 0 };
  for (const example of examples) {
    out.tokens += example.inputIds.length;
    out.truncated_examples += example.truncated ? 1 : 0;
    for (const label of example.labels) if (label !== IGNORE_INDEX) out.trained_tokens += 1;
  }
  return out;
}

export function histogram(lengths: readonly number[], maxLength: number, bins = 16): Histogram {
  const width = Math.max(1, Math.ceil(maxLength / bins));
  const edges = Array.from({ length: bins + 1 }, (_, i) => Math.min(i * width, maxLength));
  const counts = new Array<number>(bins).fill(0);
  for (const length of lengths) counts[Math.min(bins - 1, Math.floor(length / width))] += 1;
  return { edges, counts };
}

/** Best-fit decreasing: whole examples into as few max_length rows as fit; returns the row count. */
export function bestFitDecreasingRows(lengths: readonly number[], capacity: number): number {
  // Free space of open rows, kept sorted ascending so the best fit is a binary search.
  const free: number[] = [];
  for (const length of [...lengths].sort((a, b) => b - a)) {
    let lo = 0;
    let hi = free.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (free[mid] < length) lo = mid + 1;
      else hi = mid;
    }
    const left = lo < free.length ? free.splice(lo, 1)[0] - length : capacity - length;
    let at = 0;
    while (at < free.length && free[at] < left) at++;
    free.splice(at, 0, left);
  }
  return free.length;
}

export function summarize(examples: readonly EncodedExample[], maxLength: number, batchSize: number): TokenStats {
  const base = totals(examples);
  const lengths = examples.map((e) => e.inputIds.length);
  const bfdRows = bestFitDecreasingRows(lengths, maxLength);
  const wrappedRows = Math.ceil(base.tokens / maxLength);
  let padded = 0;
  for (let i = 0; i < lengths.length; i += batchSize) {
    const batch = lengths.slice(i, i + batchSize);
    padded += Math.max(...batch) * batch.length;
  }
  return {
    ...base,
    masked_tokens: base.tokens - base.trained_tokens,
    max_length: maxLength,
    truncated_fraction: base.examples ? base.truncated_examples / base.examples : 0,
    mean_length: base.examples ? base.tokens / base.examples : 0,
    longest: lengths.reduce((a, b) => Math.max(a, b), 0),
    histogram: histogram(lengths, maxLength),
    packing_efficiency: {
      bfd: bfdRows ? base.tokens / (bfdRows * maxLength) : 0,
      wrapped: wrappedRows ? base.tokens / (wrappedRows * maxLength) : 0,
    },
    padding_efficiency: padded ? base.tokens / padded : 0,
  };
}
