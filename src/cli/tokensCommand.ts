import * as path from 'node:path';
import { EXIT_FAILURE, EXIT_INVALID, EXIT_OK, type CliCommand } from './cliCommand';

export const tokensCommand: CliCommand = {
  usage: 'CONFIG [--json]',
  summary: "token statistics of a config's training set, computed as the trainer counts them",
  async run(args, io) {
    const json = args.includes('--json');
    const files = args.filter((a) => a !== '--json');
    if (files.length !== 1 || files[0].startsWith('-')) {
      io.err(`usage: sft-studio tokens ${tokensCommand.usage}\n`);
      return EXIT_FAILURE;
    }
    // Loaded here so `validate` and `judge` never load transformers.js.
    const { computeConfigTokenStats, formatTokenStats, insightErrorMessage } = await import('../insight/configTokenStats');
    try {
      const stats = await computeConfigTokenStats(path.resolve(files[0]));
      io.out(`${formatTokenStats(stats)}\n`);
      if (json) io.out(`${JSON.stringify(stats)}\n`);
      return EXIT_OK;
    } catch (error) {
      const message = insightErrorMessage(error);
      if (message === undefined) throw error;
      io.err(`${message}\n`);
      return EXIT_INVALID;
    }
  },
};
