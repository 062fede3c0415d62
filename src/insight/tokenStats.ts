// Token statistics of a training set: the trainer's four totals (examples, tokens, truncated
// examples, trained tokens) plus what a run config is tuned by: the length histogram, the share cut
// at max_length and how full packed rows would be.
import { ConversationEncoder, IGNORE_INDEX, OverlongRow, type ChatTokenizer, type EncodedExample } from './conversationEncoder';
import { DataError, readRows, type Row } from './datasetRows';
import { resolveFormat } from './rowFormats';
import type { InsightConfig } from './insightConfig';
import { splitRows, subsampleRows, weightRows } from './trainingSplit';

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
  /** Rows left out by excess_length_strategy. */
  dropped_examples: number;
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
  /** `path:line: reason` of the first row excess_length_strategy left out, or null. */
  first_dropped: string | null;
}

export interface EncodeOptions {
  signal?: AbortSignal;
  /** Called with (done, total) every few hundred examples. */
  onProgress?: (done: number, total: number) => void;
  /** encodeDataset: the rows the excess-length strategy left out (counted, not fatal). */
  onDropped?: (rows: readonly OverlongRow[]) => void;
}

/**
 * What the statistics keep of each example, in training order: typed arrays, so 52k examples cost a
 * megabyte and move between threads without copying, where their token ids would take hundreds.
 */
export interface ExampleTable {
  /** Tokens after truncation to max_length. */
  lengths: Int32Array;
  /** Labels that are trained (not IGNORE_INDEX). */
  trained: Int32Array;
  /** 1 when the full tokenization was longer than max_length. */
  truncated: Uint8Array;
  /** 1-based line of the row in train_file. */
  lines: Int32Array;
  /** 1 when excess_length_strategy left the row out (its other columns are 0). */
  dropped: Uint8Array;
  /** `path:line: reason` of the first row left out, in training order. */
  firstDropped: string | null;
}

export function emptyTable(n: number): ExampleTable {
  return {
    lengths: new Int32Array(n),
    trained: new Int32Array(n),
    truncated: new Uint8Array(n),
    lines: new Int32Array(n),
    dropped: new Uint8Array(n),
    firstDropped: null,
  };
}

export function setTableRow(table: ExampleTable, i: number, example: EncodedExample, line: number): void {
  table.lengths[i] = example.inputIds.length;
  let trained = 0;
  for (const label of example.labels) if (label !== IGNORE_INDEX) trained += 1;
  table.trained[i] = trained;
  table.truncated[i] = example.truncated ? 1 : 0;
  table.lines[i] = line;
}

export function tableOf(examples: readonly EncodedExample[]): ExampleTable {
  const table = emptyTable(examples.length);
  examples.forEach((example, i) => setTableRow(table, i, example, (example as Partial<LineExample>).line ?? 0));
  return table;
}

/**
 * The rows the trainer trains on, as data/dataset.py load_splits builds them: every source's rows in one list (train_file,
 * or the train_files in order), minus the validation hold-out, then each source's rows taken `weight` times,
 * then subsampled; and the config with each source's `dataset_format: auto` resolved from that source's rows.
 */
export function trainingRows(config: InsightConfig): { rows: Row[]; config: InsightConfig } {
  const perSource = config.trainFiles.map((source, i) => readRows(source.path, source.columnMapping, i));
  const trainFiles = config.trainFiles.map((source, i) => ({ ...source, datasetFormat: resolveFormat(source.datasetFormat, perSource[i], config) }));
  const resolved = { ...config, trainFiles, datasetFormat: trainFiles[0].datasetFormat };
  const { train } = splitRows(perSource.flat(), config.validationSplitRatio, config.seed);
  const weighted = weightRows(train, config.trainFiles.map((source) => source.weight), config.seed);
  return { rows: subsampleRows(weighted, config.subsample, config.seed), config: resolved };
}

/** How the trainer turns one training row into an example (each source's format already resolved). */
export function exampleEncoder(config: InsightConfig, tok: ChatTokenizer): (row: Row) => EncodedExample {
  const encoder = new ConversationEncoder(tok, config.maxLength, config.completionOnlyLoss, config.excessLengthStrategy);
  return (row) => encoder.encodeRow(row, config.trainFiles[row.source]?.datasetFormat ?? config.datasetFormat, config);
}

const YIELD_EVERY = 250;

/** Encodes the rows in order, handing each example to `visit`; yields to the event loop as it goes. */
export async function forEachExample(
  rows: readonly Row[],
  encode: (row: Row) => EncodedExample,
  visit: (example: EncodedExample | OverlongRow, index: number) => void,
  options: EncodeOptions = {},
): Promise<void> {
  for (let i = 0; i < rows.length; i++) {
    if (i % YIELD_EVERY === 0) {
      options.signal?.throwIfAborted();
      options.onProgress?.(i, rows.length);
      if (i > 0) await new Promise((resolve) => setImmediate(resolve));
    }
    let example: EncodedExample | OverlongRow;
    try {
      example = encode(rows[i]);
    } catch (error) {
      if (!(error instanceof OverlongRow)) throw error;
      example = error;
    }
    visit(example, i);
  }
  options.onProgress?.(rows.length, rows.length);
}

/** Every training example, encoded as the trainer encodes it; yields to the event loop as it goes. */
export async function encodeDataset(config: InsightConfig, tok: ChatTokenizer, options: EncodeOptions = {}): Promise<LineExample[]> {
  const { rows, config: resolved } = trainingRows(config);
  const examples: LineExample[] = [];
  const dropped: OverlongRow[] = [];
  const keep = (example: EncodedExample | OverlongRow, i: number) =>
    example instanceof OverlongRow ? dropped.push(example) : examples.push({ ...example, line: rows[i].line });
  await forEachExample(rows, exampleEncoder(resolved, tok), keep, options);
  options.onDropped?.(dropped);
  if (rows.length > 0 && examples.length === 0) {
    throw new DataError(`every row was dropped as overlong (first: ${dropped[0].message})`, 'Raise `max_length`, or shorten the prompts.');
  }
  return examples;
}

/** The statistics' table of the rows, keeping no example once it is counted. */
export async function countRows(rows: readonly Row[], encode: (row: Row) => EncodedExample, options: EncodeOptions = {}): Promise<ExampleTable> {
  const table = emptyTable(rows.length);
  await forEachExample(
    rows,
    encode,
    (example, i) => {
      if (example instanceof OverlongRow) {
        table.dropped[i] = 1;
        table.lines[i] = rows[i].line;
        table.firstDropped ??= example.message;
      } else setTableRow(table, i, example, rows[i].line);
    },
    options,
  );
  return table;
}

export function totals(table: ExampleTable): TokenTotals {
  const out: TokenTotals = { examples: 0, tokens: 0, truncated_examples: 0, trained_tokens: 0, dropped_examples: 0 };
  for (let i = 0; i < table.lengths.length; i++) {
    if (table.dropped[i]) {
      out.dropped_examples += 1;
      continue;
    }
    out.examples += 1;
    out.tokens += table.lengths[i];
    out.truncated_examples += table.truncated[i];
    out.trained_tokens += table.trained[i];
  }
  return out;
}

export function histogram(lengths: ArrayLike<number>, maxLength: number, bins = 16): Histogram {
  const width = Math.max(1, Math.ceil(maxLength / bins));
  const edges = Array.from({ length: bins + 1 }, (_, i) => Math.min(i * width, maxLength));
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < lengths.length; i++) counts[Math.min(bins - 1, Math.floor(lengths[i] / width))] += 1;
  return { edges, counts };
}

/** Best-fit decreasing: whole examples into as few max_length rows as fit; returns the row count. */
export function bestFitDecreasingRows(lengths: ArrayLike<number>, capacity: number): number {
  // Open rows counted by their free space in a Fenwick tree over 0..capacity: the best fit (the row with
  // the least free space that still holds the example) is found in log(capacity) steps.
  const size = capacity + 1;
  const tree = new Int32Array(size + 1);
  const add = (free: number, delta: number) => {
    for (let i = free + 1; i <= size; i += i & -i) tree[i] += delta;
  };
  /** Open rows with less than `free` free slots. */
  const fewerThan = (free: number) => {
    let n = 0;
    for (let i = free; i > 0; i -= i & -i) n += tree[i];
    return n;
  };
  /** The free space of the k-th open row (1-based) in ascending order of free space. */
  const kth = (k: number) => {
    let at = 0;
    for (let step = 1 << Math.floor(Math.log2(size)); step > 0; step >>= 1) {
      if (at + step <= size && tree[at + step] < k) {
        at += step;
        k -= tree[at];
      }
    }
    return at;
  };
  const sorted = Float64Array.from(lengths).sort().reverse();
  let rows = 0;
  for (const length of sorted) {
    const tooFull = fewerThan(length);
    if (tooFull < rows) {
      const free = kth(tooFull + 1);
      add(free, -1);
      add(free - length, 1);
    } else {
      rows += 1;
      add(Math.max(0, capacity - length), 1);
    }
  }
  return rows;
}

export function summarize(examples: readonly EncodedExample[], maxLength: number, batchSize: number): TokenStats {
  return summarizeTable(tableOf(examples), maxLength, batchSize);
}

export function summarizeTable(table: ExampleTable, maxLength: number, batchSize: number): TokenStats {
  const base = totals(table);
  // Rows left out by excess_length_strategy take no part in lengths, packing or batches, as in the trainer.
  const lengths = base.dropped_examples ? table.lengths.filter((_, i) => !table.dropped[i]) : table.lengths;
  const bfdRows = bestFitDecreasingRows(lengths, maxLength);
  const wrappedRows = Math.ceil(base.tokens / maxLength);
  let padded = 0;
  for (let i = 0; i < lengths.length; i += batchSize) {
    const batch = lengths.subarray(i, i + batchSize);
    padded += batch.reduce((a, b) => Math.max(a, b), 0) * batch.length;
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
    first_dropped: table.firstDropped,
  };
}
