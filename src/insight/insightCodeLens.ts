// Code lenses of token insight on run configs: `Preview tokens` on the first line, and on the
// `train_file:` (or `train_files:`) line the summary "N examples · M tokens · X% truncated", counted lazily in
// resolveCodeLens (so only visible lenses cost anything) and cached by file modification times.
// The count runs in a worker thread: until it ends the lens reads "counting tokens…", then the cache
// asks for a redraw (refresh) and the lens shows the cached summary.
// Nothing of the counting code is imported here: this module loads at activation, the counting (and
// the config validator it uses) on the first resolve.
import * as vscode from 'vscode';
import type { KnownStats, TokenStatsCache } from './tokenStatsCache';
import type { TokenStats } from './tokenStats';

export const COUNTING_TITLE = 'counting tokens…';

export const PREVIEW_TOKENS_COMMAND = 'sftStudio.previewTokens';

export function datasetLensTitle(stats: TokenStats): string {
  const pct = (stats.truncated_fraction * 100).toFixed(stats.truncated_fraction > 0 && stats.truncated_fraction < 0.001 ? 2 : 1);
  const dropped = stats.dropped_examples ? ` · ${stats.dropped_examples.toLocaleString('en-US')} dropped (overlong)` : '';
  return `${stats.examples.toLocaleString('en-US')} examples · ${stats.tokens.toLocaleString('en-US')} tokens · ${pct}% truncated${dropped}`;
}

class DatasetLens extends vscode.CodeLens {
  constructor(
    range: vscode.Range,
    readonly configPath: string,
    readonly uri: vscode.Uri,
  ) {
    super(range);
  }
}

export class InsightCodeLensProvider implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;

  constructor(private readonly cache: () => Promise<TokenStatsCache>) {}

  /** A count ended: lenses resolve again and find it in the cache. */
  refresh(): void {
    this.changed.fire();
  }

  dispose(): void {
    this.changed.dispose();
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const lenses: vscode.CodeLens[] = [
      new vscode.CodeLens(new vscode.Range(0, 0, 0, 0), {
        title: 'Preview tokens',
        tooltip: 'SFT Studio: token statistics and the label-mask preview of this config’s training set',
        command: PREVIEW_TOKENS_COMMAND,
        arguments: [document.uri],
      }),
    ];
    for (let line = 0; line < document.lineCount; line++) {
      if (/^\s*"?train_files?"?\s*:/.test(document.lineAt(line).text)) {
        lenses.push(new DatasetLens(new vscode.Range(line, 0, line, 0), document.uri.fsPath, document.uri));
        break;
      }
    }
    return lenses;
  }

  async resolveCodeLens(lens: vscode.CodeLens): Promise<vscode.CodeLens> {
    if (!(lens instanceof DatasetLens)) return lens;
    let title: string;
    let known: KnownStats;
    try {
      known = (await this.cache()).peek(lens.configPath);
    } catch (error) {
      known = { state: 'failed', error };
    }
    if (known.state === 'counting') title = COUNTING_TITLE;
    else if (known.state === 'done') title = datasetLensTitle(known.stats);
    else {
      const { insightErrorMessage } = await import('./configTokenStats');
      title = `tokens: ${(insightErrorMessage(known.error) ?? String(known.error)).split('\n')[0]}`;
    }
    lens.command = { title, tooltip: 'Open the token statistics', command: PREVIEW_TOKENS_COMMAND, arguments: [lens.uri] };
    return lens;
  }
}
