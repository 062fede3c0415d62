// Headless entry point (dist/cli.js): what the extension host computes, without VS Code.
// Kept apart from cli/main.ts so that importing the dispatcher (tests) never runs it.
import { main } from './cli/main';

main(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`sft-studio: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
