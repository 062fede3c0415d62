// Token statistics per config, reused until the config, its training data or its tokenizer changes
// on disk (by modification time), so code lenses can ask on every redraw. A count whose inputs changed
// meanwhile is cancelled (its worker terminated) when the newer one starts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadInsightConfig } from './insightConfig';
import type { TokenStats } from './tokenStats';

export type StatsComputer = (configPath: string, signal: AbortSignal) => Promise<TokenStats>;

/** What a code lens can show without waiting. */
export type KnownStats = { state: 'counting' } | { state: 'done'; stats: TokenStats } | { state: 'failed'; error: unknown };

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
    parts.push(...config.trainFiles.map((source) => mtime(source.path)));
    parts.push(mtime(path.join(config.modelDir, 'tokenizer.json')), mtime(path.join(config.modelDir, 'tokenizer_config.json')));
  } catch {
    // An invalid config is keyed by its own mtime alone; computing it reports the problem.
  }
  return parts.join('|');
}

interface Entry {
  stamp: string;
  stats: Promise<TokenStats>;
  abort: AbortController;
  known: KnownStats;
}

export class TokenStatsCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly compute: StatsComputer,
    private readonly stampOf: (configPath: string) => string = inputsStamp,
    /** Called when a count ends (counted or failed), e.g. to redraw code lenses. */
    private readonly onSettled: (configPath: string) => void = () => undefined,
  ) {}

  /**
   * The statistics for the inputs as they are now. A failure is kept until the inputs change (the user
   * fixing the file changes its modification time), so a lens redrawn after it does not count again.
   */
  get(configPath: string): Promise<TokenStats> {
    return this.current(configPath).stats;
  }

  /** What is known now; starts counting when nothing is known for the current inputs. Never waits. */
  peek(configPath: string): KnownStats {
    return this.current(configPath).known;
  }

  /** Cancels every count in flight. */
  dispose(): void {
    for (const entry of this.entries.values()) entry.abort.abort();
    this.entries.clear();
  }

  private current(configPath: string): Entry {
    const stamp = this.stampOf(configPath);
    const cached = this.entries.get(configPath);
    if (cached && cached.stamp === stamp) return cached;
    cached?.abort.abort();
    const abort = new AbortController();
    const stats = this.compute(configPath, abort.signal);
    const entry: Entry = { stamp, stats, abort, known: { state: 'counting' } };
    this.entries.set(configPath, entry);
    stats.then(
      (done) => this.settle(configPath, entry, { state: 'done', stats: done }),
      (error) => this.settle(configPath, entry, { state: 'failed', error }),
    );
    return entry;
  }

  private settle(configPath: string, entry: Entry, known: KnownStats): void {
    entry.known = known;
    // A cancelled count was replaced or disposed: nothing to show for it.
    if (this.entries.get(configPath) === entry) this.onSettled(configPath);
  }
}
