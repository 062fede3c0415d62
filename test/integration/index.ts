// The extensionTestsPath of the integration tests (built to out/test/index.js): VS Code loads it in
// the extension host and calls run(). It runs every out/test/integration/*.integration.test.js with
// mocha; the spec reporter prints through console.log, which the workbench forwards to the runner
// (test/integration/run.mjs) marked as test output, and a rejected promise makes the extension host
// exit with code 1.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';
import { log } from './helpers';

export async function run(): Promise<void> {
  Mocha.reporters.Base.consoleLog = log;
  const mocha = new Mocha({ ui: 'tdd', reporter: 'spec', color: false, timeout: 20_000 });
  const dir = path.join(__dirname, 'integration');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.integration.test.js')).sort();
  if (files.length === 0) throw new Error(`no *.integration.test.js in ${dir}: build with \`node esbuild.mjs --tests\``);
  for (const file of files) mocha.addFile(path.join(dir, file));
  const failures = await new Promise<number>((resolve) => mocha.run(resolve));
  if (failures > 0) throw new Error(`${failures} integration test${failures === 1 ? '' : 's'} failed`);
}
