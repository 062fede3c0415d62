/** Output sinks, injected so tests read what a command prints. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

export interface CliCommand {
  /** Arguments after the command name, for the usage text. */
  usage: string;
  summary: string;
  /** Resolves to the process exit code. */
  run(args: readonly string[], io: CliIo): Promise<number>;
}

/** Exit codes shared with `python -m sft_studio`: 2 = the user's input is wrong. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_INVALID = 2;
