import * as path from 'node:path';
import { formatProblem, validateConfigFile } from '../config/validateConfig';
import { EXIT_FAILURE, EXIT_INVALID, EXIT_OK, type CliCommand } from './cliCommand';

export const validateCommand: CliCommand = {
  usage: 'CONFIG [--json]',
  summary: 'check a run config (*.sft.yaml / *.sft.json); exit 2 when it has errors',
  async run(args, io) {
    const json = args.includes('--json');
    const files = args.filter((a) => a !== '--json');
    if (files.length !== 1 || files[0].startsWith('-')) {
      io.err(`usage: sft-studio validate ${validateCommand.usage}\n`);
      return EXIT_FAILURE;
    }
    const file = files[0];
    const { problems } = validateConfigFile(path.resolve(file));
    const errors = problems.filter((p) => p.severity === 'error');
    for (const problem of problems) io.out(`${formatProblem(file, problem)}\n`);
    if (json) {
      const summary = {
        valid: errors.length === 0,
        errors: errors.map((p) => ({ path: file, line: p.line, column: p.column, message: p.message, field: p.field })),
      };
      io.out(`${JSON.stringify(summary)}\n`);
    }
    return errors.length === 0 ? EXIT_OK : EXIT_INVALID;
  },
};
