// Token statistics per config, reused until the config, its training data or its tokenizer changes
// on disk (by modification time), so code lenses can ask on every redraw.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadInsightConfig } from './insightConfig';
import type { TokenStats } from './tokenStats';

export type StatsComputer = (configPath: string) => Promise<TokenStats>;

function mtime(file: string): string {
  try {
    return String(fs.statSync(file).mtimeMs);
  } catch {
    return 'missing';
  }
}

/** What the statistics depend on; a different stamp means they must be counted again. */
export function inputsStamp(configPath: string): string {
  const parts = [mtime(configPath)];
  try {
    const config = loadInsightConfig(configPath);
    parts.push(mtime(config.trainFile), mtime(path.join(config.modelDir, 'tokenizer.json')), mtime(path.join(config.modelDir, 'tokenizer_config.json')));
  } catch {
    // An invalid config is keyed by its own mtime alone; computing it reports the problem.
  }
  return parts.join('|');
}

export class TokenStatsCache {
  private readonly entries = new Map<string, { stamp: string; stats: Promise<TokenStats> }>();

  constructor(
    private readonly compute: StatsComputer,
    private readonly stampOf: (configPath: string) => string = inputsStamp,
  ) {}

  get(configPath: string): Promise<TokenStats> {
    const stamp = this.stampOf(configPath);
    const cached = this.entries.get(configPath);
    if (cached && cached.stamp === stamp) return cached.stats;
    const stats = this.compute(configPath);
    this.entries.set(configPath, { stamp, stats });
    // A failure is not kept: the next ask tries again (the user may be fixing the file).
    stats.catch(() => this.entries.get(configPath)?.stats === stats && this.entries.delete(configPath));
    return stats;
  }
}
