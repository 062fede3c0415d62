// Configuration for `@vscode/test-cli` (integration tests inside a downloaded VS Code). That
// download needs network access; on machines without it, real-VS-Code tests run in code-server
// (test/e2e). A plain object keeps this file loadable even when @vscode/test-cli is not installed.
export default {
  files: 'out/test/integration/**/*.integration.test.js',
  version: '1.138.0',
  workspaceFolder: './examples',
  mocha: { ui: 'tdd', timeout: 60_000 },
};
