// One call from a config path to its token statistics: what the CLI, the code lens and the panel share.
import { DataError } from './datasetRows';
import { InsightConfigError, loadInsightConfig, type InsightConfig } from './insightConfig';
import { loadTokenizer, TokenizerLoadError, type LoadedTokenizer } from './tokenizerLoader';
import { encodeDataset, summarize, type EncodeOptions, type LineExample, type TokenStats } from './tokenStats';

export interface ConfigTokens {
  config: InsightConfig;
  tokenizer: LoadedTokenizer;
  examples: LineExample[];
  stats: TokenStats;
}

export async function computeConfigTokens(configPath: string, options: EncodeOptions = {}): Promise<ConfigTokens> {
  const config = loadInsightConfig(configPath);
  const tokenizer = await loadTokenizer(config.modelDir);
  const examples = await encodeDataset(config, tokenizer, options);
  return { config, tokenizer, examples, stats: summarize(examples, config.maxLength, config.perDeviceTrainBatchSize) };
}

export async function computeConfigTokenStats(configPath: string, options: EncodeOptions = {}): Promise<TokenStats> {
  return (await computeConfigTokens(configPath, options)).stats;
}

const percent = (fraction: number) => `${(fraction * 100).toFixed(1)}%`;

export function formatTokenStats(stats: TokenStats): string {
  return [
    `examples            ${stats.examples}`,
    `tokens              ${stats.tokens} (mean ${stats.mean_length.toFixed(1)}, longest ${stats.longest}, max_length ${stats.max_length})`,
    `truncated           ${stats.truncated_examples} (${percent(stats.truncated_fraction)})`,
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
