import * as path from 'node:path';
import { EXIT_FAILURE, EXIT_INVALID, EXIT_OK, type CliCommand } from './cliCommand';

interface TokensArgs {
  config: string;
  json: boolean;
  /** 1-based number of the example whose label mask to print, as the panel numbers them. */
  example?: number;
}

function parseArgs(args: readonly string[]): TokensArgs | undefined {
  let json = false;
  let example: number | undefined;
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--json') json = true;
    else if (arg === '--example' || arg.startsWith('--example=')) {
      const value = arg === '--example' ? args[++i] : arg.slice('--example='.length);
      if (value === undefined || !/^[1-9]\d*$/.test(value)) return undefined;
      example = Number(value);
    } else if (arg.startsWith('-')) return undefined;
    else files.push(arg);
  }
  return files.length === 1 ? { config: files[0], json, example } : undefined;
}

export const tokensCommand: CliCommand = {
  usage: 'CONFIG [--json] [--example N]',
  summary: "token statistics of a config's training set, computed as the trainer counts them; --example N adds the label mask of example N",
  async run(args, io) {
    const parsed = parseArgs(args);
    if (!parsed) {
      io.err(`usage: sft-studio tokens ${tokensCommand.usage}\n`);
      return EXIT_FAILURE;
    }
    // Loaded here so `validate` and `judge` never load transformers.js. Counted in this process (nothing
    // here waits on an event loop), keeping no example: --example N encodes that one again.
    const [{ countConfigTokens, encodeExampleAt, formatTokenStats, insightErrorMessage }, { examplePreview }] = await Promise.all([
      import('../insight/configTokenStats'),
      import('../insight/examplePreview'),
    ]);
    try {
      const { stats, prepared } = await countConfigTokens(path.resolve(parsed.config));
      io.out(`${formatTokenStats(stats)}\n`);
      let example: Record<string, unknown> | undefined;
      if (parsed.example !== undefined) {
        const index = parsed.example - 1;
        if (index >= stats.examples) {
          io.err(`--example ${parsed.example}: the training set has ${stats.examples} examples\n`);
          return EXIT_INVALID;
        }
        const preview = examplePreview(index, encodeExampleAt(prepared, index), prepared.tokenizer.tokenText);
        const trained = preview.tokens.filter((t) => t.trained).length;
        io.out(`example ${parsed.example}, line ${preview.line}${preview.truncated ? ' (truncated)' : ''}: ${trained} of ${preview.tokens.length} tokens trained\n`);
        example = { ...preview, trained_tokens: trained, masked_tokens: preview.tokens.length - trained };
      }
      if (parsed.json) io.out(`${JSON.stringify(example ? { ...stats, example } : stats)}\n`);
      return EXIT_OK;
    } catch (error) {
      const message = insightErrorMessage(error);
      if (message === undefined) throw error;
      io.err(`${message}\n`);
      return EXIT_INVALID;
    }
  },
};
