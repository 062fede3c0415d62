// One call from a config path to its token statistics: what the CLI, the code lens and the panel share.
import type { EncodedExample, OverlongRow } from './conversationEncoder';
import { DataError, type Row } from './datasetRows';
import { InsightConfigError, loadInsightConfig, type InsightConfig } from './insightConfig';
import { loadTokenizer, TokenizerLoadError, type LoadedTokenizer } from './tokenizerLoader';
import {
  countRows,
  encodeDataset,
  exampleEncoder,
  summarizeTable,
  tableOf,
  trainingRows,
  type EncodeOptions,
  type ExampleTable,
  type LineExample,
  type TokenStats,
} from './tokenStats';

export interface ConfigTokens {
  config: InsightConfig;
  tokenizer: LoadedTokenizer;
  examples: LineExample[];
  stats: TokenStats;
}

export async function computeConfigTokens(configPath: string, options: EncodeOptions = {}): Promise<ConfigTokens> {
  const config = loadInsightConfig(configPath);
  const tokenizer = await tokenizerFor(config);
  let dropped: readonly OverlongRow[] = [];
  const examples = await encodeDataset(config, tokenizer, { ...options, onDropped: (rows) => (dropped = rows) });
  // The table holds the kept examples; the rows left out are counted beside it, as the trainer counts them.
  const table = { ...tableOf(examples), firstDropped: dropped[0]?.message ?? null };
  const stats = summarizeTable(table, config.maxLength, config.perDeviceTrainBatchSize);
  return { config, tokenizer, examples, stats: { ...stats, dropped_examples: dropped.length } };
}

/** A config's training rows and how each becomes an example, before anything is encoded. */
export interface PreparedTokens {
  config: InsightConfig;
  tokenizer: LoadedTokenizer;
  rows: Row[];
  encode: (row: Row) => EncodedExample;
}

/** The config's tokenizer, with the chat template the config asks for. */
export function tokenizerFor(config: InsightConfig): Promise<LoadedTokenizer> {
  return loadTokenizer(config.modelDir, { chatTemplate: config.chatTemplate, templateKwargs: config.chatTemplateKwargs });
}

/** In the order computeConfigTokens meets problems: config, tokenizer, chat template, rows. */
export async function prepareConfigTokens(configPath: string): Promise<PreparedTokens> {
  const config = loadInsightConfig(configPath);
  const tokenizer = await tokenizerFor(config);
  const { rows, config: resolved } = trainingRows(config);
  return { config: resolved, tokenizer, encode: exampleEncoder(resolved, tokenizer), rows };
}

/** The statistics without the examples: what the code lens, the panel and `tokens` show. */
export interface CountedTokens {
  stats: TokenStats;
  table: ExampleTable;
}

/** Statistics of a config counted in this thread, keeping no example (see tokenStatsWorker for the off-thread way). */
export async function countConfigTokens(configPath: string, options: EncodeOptions = {}): Promise<CountedTokens & { prepared: PreparedTokens }> {
  const prepared = await prepareConfigTokens(configPath);
  const table = await countRows(prepared.rows, prepared.encode, options);
  return { prepared, table, stats: summarizeTable(table, prepared.config.maxLength, prepared.config.perDeviceTrainBatchSize) };
}

/** Training example `index` (0-based) encoded again, for the label-mask preview. */
export function encodeExampleAt(prepared: PreparedTokens, index: number): LineExample {
  const row = prepared.rows[index];
  if (!row) throw new RangeError(`no example ${index}: the training set has ${prepared.rows.length} examples`);
  return { ...prepared.encode(row), line: row.line };
}

const percent = (fraction: number) => `${(fraction * 100).toFixed(1)}%`;

export function formatTokenStats(stats: TokenStats): string {
  return [
    `examples            ${stats.examples}`,
    `tokens              ${stats.tokens} (mean ${stats.mean_length.toFixed(1)}, longest ${stats.longest}, max_length ${stats.max_length})`,
    `truncated           ${stats.truncated_examples} (${percent(stats.truncated_fraction)})`,
    `dropped (overlong)  ${stats.dropped_examples}${stats.first_dropped ? ` (first: ${stats.first_dropped})` : ''}`,
    `trained / masked    ${stats.trained_tokens} / ${stats.masked_tokens}`,
    `packing efficiency  bfd ${percent(stats.packing_efficiency.bfd)}, wrapped ${percent(stats.packing_efficiency.wrapped)}; padded batches ${percent(stats.padding_efficiency)}`,
  ].join('\n');
}

/** The user-facing message of an error the user can fix, or undefined for a bug. */
export function insightErrorMessage(error: unknown): string | undefined {
  if (error instanceof DataError) return `${error.message}\n  ${error.hint}`;
  if (error instanceof InsightConfigError || error instanceof TokenizerLoadError) return error.message;
  return undefined;
}
