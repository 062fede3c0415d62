// Command dispatch for dist/cli.js. Each command lives in its own module in this folder and is
// loaded only when invoked, so adding `judge` or `tokens` is one line in the table below.
import type { CliCommand, CliIo } from './cliCommand';

const commands: Record<string, () => CliCommand> = {
  validate: () => require('./validateCommand').validateCommand,
  judge: () => require('./judgeCommand').judgeCliCommand,
  tokens: () => require('./tokensCommand').tokensCommand,
};

function usage(): string {
  const lines = Object.keys(commands).map((name) => {
    const command = commands[name]();
    return `  ${`${name} ${command.usage}`.padEnd(28)} ${command.summary}`;
  });
  return `usage: node dist/cli.js <command> [args]\n\ncommands:\n${lines.join('\n')}\n`;
}

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    io.out(usage());
    return name === undefined ? 1 : 0;
  }
  const load = commands[name];
  if (!load) {
    io.err(`unknown command "${name}"\n\n${usage()}`);
    return 1;
  }
  return load().run(rest, io);
}
