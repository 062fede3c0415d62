// Configuration for `@vscode/test-cli` (integration tests inside a downloaded VS Code). That
// download needs network access; `npm run test:integration` (test/integration/run.mjs) runs the same
// files in code-server's extension host instead, on the workspace they expect (examples/ plus
// test/fixtures/runs/ as runs/). A plain object keeps this file loadable without @vscode/test-cli.
export default {
  files: 'out/test/integration/**/*.integration.test.js',
  version: '1.138.0',
  workspaceFolder: './examples',
  mocha: { ui: 'tdd', timeout: 60_000 },
};
