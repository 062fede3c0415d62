// In-editor insight in the real workbench. Tokens: the "Preview tokens" lens of the demo config opens
// the tokens panel, whose statistics and label mask must be the numbers `node dist/cli.js tokens
// CONFIG --json --example N` prints. Chat: a run folder with a checkpoint (a copy of the embedded
// tiny model, as a checkpoint folder holds it) is listed in the Runs view; "Chat with This Checkpoint"
// from the checkpoint row's context menu exports it to ONNX through Python and opens the chat panel,
// whose greedy reply must stream in and equal the PyTorch model's greedy answer from
// `python -m sft_studio generate`. Then Developer: Reload Window, and both panels must come back
// from their saved state: the tokens panel with the same numbers and the example it showed, the chat
// panel on the same checkpoint with its transcript.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../codeServer.mjs';
import {
  clickWithRetry,
  contextMenuItem,
  dismissNotifications,
  notificationTexts,
  quickOpenFile,
  runCommand,
  selectors,
  showViewContainer,
  showTab,
  waitFor,
  waitForWorkbench,
  webviewFrame,
} from '../workbench.mjs';

const run = promisify(execFile);
const CONFIG_FILE = 'demo.sft.yaml';
const RUN_NAME = 'insight-20261123-000000';
const STEP = 12;
const PROMPT = 'What is the capital of Norvia?';
// The chat panel's default sampling: greedy, 64 new tokens at most.
const MAX_NEW_TOKENS = 64;
const python = path.join(repoRoot, '.venv', 'bin', 'python');
const pythonEnv = { ...process.env, PYTHONPATH: path.join(repoRoot, 'trainer'), HF_HUB_OFFLINE: '1', TRANSFORMERS_OFFLINE: '1' };

const en = (n) => n.toLocaleString('en-US');
const percent = (x) => `${(x * 100).toFixed(1)}%`;

/** What the CLI prints for the config: the statistics and the label mask of 1-based example `n`. */
async function cliTokens(config, n) {
  const { stdout } = await run(process.execPath, [path.join(repoRoot, 'dist', 'cli.js'), 'tokens', config, '--json', '--example', String(n)], { maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout.trim().split('\n').at(-1));
}

/** The PyTorch model's greedy answer to `prompt`, as the trainer's generate command writes it. */
async function pytorchGreedy(checkpoint, prompt, dir) {
  const prompts = path.join(dir, 'prompts.jsonl');
  const answers = path.join(dir, 'answers.jsonl');
  fs.writeFileSync(prompts, `${JSON.stringify({ id: 'chat', messages: [{ role: 'user', content: prompt }] })}\n`);
  await run(python, ['-m', 'sft_studio', 'generate', checkpoint, '--prompts', prompts, '--out', answers, '--max-new-tokens', String(MAX_NEW_TOKENS), '--temperature', '0', '--device', 'cpu'], {
    env: pythonEnv,
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(fs.readFileSync(answers, 'utf8').trim()).completion;
}

/** A finished run of the demo config with one checkpoint: the embedded model's files, as save_pretrained leaves them. */
function writeRun(workspace) {
  const runDir = path.join(workspace, 'runs', RUN_NAME);
  const configPath = path.join(workspace, CONFIG_FILE);
  const checkpoint = path.join(runDir, 'checkpoints', `step-${STEP}`);
  fs.mkdirSync(checkpoint, { recursive: true });
  const model = path.join(workspace, 'tiny-llama');
  for (const file of fs.readdirSync(model)) if (/\.(json|safetensors)$/.test(file)) fs.copyFileSync(path.join(model, file), path.join(checkpoint, file));
  // The completeness marker the trainer writes last; the Runs view lists only checkpoints that have one.
  const files = Object.fromEntries(fs.readdirSync(checkpoint).map((file) => {
    const bytes = fs.readFileSync(path.join(checkpoint, file));
    return [file, { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }];
  }));
  fs.writeFileSync(path.join(checkpoint, 'complete.json'), JSON.stringify({ format: 1, step: STEP, files }));
  const time = Date.now() / 1000 - 60;
  const events = [
    { v: 1, seq: 0, time, type: 'run_started', step: 0, config: { model_name_or_path: 'tiny-llama', max_steps: STEP }, config_path: configPath, total_steps: STEP },
    { v: 1, seq: 1, time: time + 1, type: 'train', step: STEP, epoch: 0.1, loss: 2.5, grad_norm: 1, learning_rate: 1e-4, tokens: 1000, tokens_per_s: 1000 },
    { v: 1, seq: 2, time: time + 2, type: 'checkpoint', step: STEP, path: `checkpoints/step-${STEP}`, final: true },
    { v: 1, seq: 3, time: time + 3, type: 'run_finished', step: STEP, status: 'completed', final_checkpoint: `checkpoints/step-${STEP}` },
  ];
  fs.writeFileSync(path.join(runDir, 'events.jsonl'), `${events.map((e) => JSON.stringify(e)).join('\n')}\n`);
  fs.writeFileSync(path.join(runDir, 'config.resolved.json'), JSON.stringify({ model_name_or_path: 'tiny-llama', max_steps: STEP }, null, 2));
  fs.writeFileSync(path.join(runDir, 'status.json'), JSON.stringify({ pid: 0, state: 'completed', heartbeat: time + 3, started: time, step: STEP, total_steps: STEP, config_path: configPath }));
  return { runDir, checkpoint };
}

/** The statistics rows the tokens panel should show for the CLI's numbers (the panel's own formats). */
function expectedStats(s) {
  return {
    examples: en(s.examples),
    tokens: `${en(s.tokens)} (mean ${s.mean_length.toFixed(1)}, longest ${s.longest})`,
    truncated: `${s.truncated_examples} (${percent(s.truncated_fraction)}) at ${s.max_length}`,
    trained: `${en(s.trained_tokens)} (${percent(s.tokens ? s.trained_tokens / s.tokens : 0)})`,
    masked: en(s.masked_tokens),
    packing: `bfd ${percent(s.packing_efficiency.bfd)}, wrapped ${percent(s.packing_efficiency.wrapped)}`,
    padded: percent(s.padding_efficiency),
  };
}

async function readStats(frame) {
  const shown = {};
  for (const key of ['examples', 'tokens', 'truncated', 'trained', 'masked', 'packing', 'padded']) {
    shown[key] = (await frame.locator(`.stats .stat-${key}`).textContent({ timeout: 2000 }))?.trim();
  }
  return shown;
}

/** Waits until the tokens panel shows the CLI's statistics and the label mask of the CLI's example. */
async function checkTokensPanel(frame, cli, what) {
  const want = expectedStats(cli);
  let shown = {};
  await waitFor(
    async () => {
      shown = await readStats(frame);
      return JSON.stringify(shown) === JSON.stringify(want);
    },
    { timeoutMs: 90_000, describe: () => `${what}: the statistics ${JSON.stringify(want)} (shown: ${JSON.stringify(shown)})` },
  );
  const example = cli.example;
  const info = `example ${example.index + 1}, line ${example.line}${example.truncated ? ' (truncated)' : ''}: ${example.trained_tokens} of ${example.tokens.length} tokens trained`;
  let shownInfo = '';
  await waitFor(
    async () => {
      shownInfo = (await frame.locator('.example-info').textContent({ timeout: 2000 })) ?? '';
      return shownInfo === info;
    },
    { timeoutMs: 30_000, describe: () => `${what}: the label mask "${info}" (shown: "${shownInfo}")` },
  );
  // Token by token: id, and trained or masked, in order, as the CLI (and the trainer's labels) say.
  const tokens = await frame.locator('.mask .tok').evaluateAll((spans) => spans.map((s) => ({ title: s.title, trained: s.classList.contains('trained'), text: s.textContent })));
  const wantTitles = example.tokens.map((t) => `id ${t.id}${t.trained ? ' · trained' : ' · masked'}`);
  if (JSON.stringify(tokens.map((t) => t.title)) !== JSON.stringify(wantTitles)) {
    throw new Error(`${what}: the label mask differs from the CLI's:\n  shown ${JSON.stringify(tokens.map((t) => t.title))}\n  CLI   ${JSON.stringify(wantTitles)}`);
  }
  if (tokens.filter((t) => t.trained).length !== example.trained_tokens || tokens.filter((t) => !t.trained).length !== example.masked_tokens) {
    throw new Error(`${what}: trained/masked token counts differ from the CLI's ${example.trained_tokens}/${example.masked_tokens}`);
  }
  if (JSON.stringify(tokens.map((t) => t.text)) !== JSON.stringify(example.tokens.map((t) => t.text))) throw new Error(`${what}: token texts differ from the CLI's`);
  const rendered = await frame.locator('pre.rendered').textContent();
  if (rendered !== example.rendered) throw new Error(`${what}: the chat template text differs from the CLI's`);
  return `${shown.examples} examples, ${shown.tokens} tokens, ${shown.truncated} truncated; ${info}`;
}

async function chatStatus(frame) {
  return ((await frame.locator('.status').textContent({ timeout: 2000 })) ?? '').trim();
}

async function waitForChatReady(frame, checkpoint, what) {
  let status = '';
  await waitFor(
    async () => {
      status = await chatStatus(frame);
      return status === checkpoint && (await frame.locator('#send').evaluate((b) => !b.disabled));
    },
    { timeoutMs: 90_000, describe: () => `${what}: the chat panel ready on ${checkpoint} (status: "${status}")` },
  );
}

export default {
  name: 'token insight and checkpoint chat',
  timeoutMs: 4 * 60_000,
  async run({ page, server, workspace, screenshot, step }) {
    const config = path.join(workspace, CONFIG_FILE);
    const { runDir, checkpoint } = writeRun(workspace);
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'sft-studio-e2e-insight-'));
    // The references, computed beside the UI: the CLI's numbers and the PyTorch greedy answer.
    const references = Promise.all([cliTokens(config, 1), cliTokens(config, 2), pytorchGreedy(checkpoint, PROMPT, scratch)]);
    references.catch(() => undefined);
    try {
      step(`open the workbench and ${CONFIG_FILE}`);
      await page.goto(server.folderUrl(workspace));
      await waitForWorkbench(page);
      await quickOpenFile(page, CONFIG_FILE);

      step('click the "Preview tokens" code lens');
      await clickWithRetry(() => page.locator(selectors.codeLens).filter({ hasText: /^Preview tokens$/ }), { timeoutMs: 90_000, describe: 'code lens "Preview tokens"' });
      const tokensFrame = await webviewFrame(page, '.stats', { timeoutMs: 60_000 });
      const [cli1, cli2, greedy] = await references;
      step(`CLI: ${cli1.examples} examples, ${cli1.tokens} tokens, ${cli1.truncated_examples} truncated, ${cli1.trained_tokens} trained; PyTorch greedy answer ${JSON.stringify(greedy)}`);
      if (!greedy.trim()) throw new Error('the PyTorch greedy answer is empty; pick a prompt the model answers');

      step('the tokens panel shows the CLI numbers and the label mask of example 1');
      step(await checkTokensPanel(tokensFrame, cli1, 'tokens panel'));
      const lens = `${en(cli1.examples)} examples · ${en(cli1.tokens)} tokens`;
      // The panel opened beside the config and took focus; bring the config's editor group forward.
      await page.keyboard.press('Control+1');
      await waitFor(async () => (await page.locator(selectors.codeLens).allInnerTexts()).some((t) => t.startsWith(lens)), {
        timeoutMs: 30_000,
        describe: async () => `the train_file lens "${lens} · …" (lenses: ${(await page.locator(selectors.codeLens).allInnerTexts()).join(' | ')})`,
      });
      await screenshot('insight-tokens.png');

      step('show example 2 (kept in the panel state)');
      await tokensFrame.locator('input[aria-label="example number"]').fill('2');
      await tokensFrame.locator('button', { hasText: 'Show example' }).click();
      await checkTokensPanel(tokensFrame, cli2, 'tokens panel, example 2');

      step('"Chat with This Checkpoint" from the checkpoint row in the Runs view');
      await dismissNotifications(page);
      await showViewContainer(page, 'SFT Studio');
      const runRow = page.locator(selectors.treeRow).filter({ hasText: RUN_NAME }).first();
      await runRow.waitFor({ state: 'visible', timeout: 60_000 });
      const checkpointRow = page.locator(selectors.treeRow).filter({ hasText: `step ${STEP}` }).filter({ hasText: 'checkpoint' }).first();
      await waitFor(
        async () => {
          if (await checkpointRow.isVisible()) return true;
          await runRow.locator('.monaco-tl-twistie').click({ timeout: 2000 });
          return checkpointRow.isVisible();
        },
        { timeoutMs: 30_000, describe: `the row "step ${STEP} checkpoint" under ${RUN_NAME}` },
      );
      const exportButton = page.locator('.notifications-toasts .monaco-button', { hasText: 'Export to ONNX' }).first();
      await contextMenuItem(page, checkpointRow, 'Chat with This Checkpoint');
      await waitFor(() => exportButton.isVisible(), {
        timeoutMs: 30_000,
        describe: async () => `the notification offering "Export to ONNX" (notifications: ${(await notificationTexts(page)).join(' | ')})`,
      });

      step('no export yet: "Export to ONNX" from the notification');
      await clickWithRetry(() => exportButton, { describe: 'button "Export to ONNX" in the notification' });
      const chatFrame = await webviewFrame(page, 'textarea[aria-label="message"]', { timeoutMs: 120_000 });
      if (!fs.existsSync(path.join(checkpoint, 'onnx', 'model.onnx'))) throw new Error('the chat opened without onnx/model.onnx in the checkpoint');
      await waitForChatReady(chatFrame, checkpoint, 'chat');

      step(`send "${PROMPT}"; the reply streams in`);
      await chatFrame.evaluate(() => {
        window.__sftDeltas = [];
        window.addEventListener('message', (event) => {
          if (event.data?.type === 'chatDelta') window.__sftDeltas.push(event.data.piece);
        });
      });
      await chatFrame.locator('textarea[aria-label="message"]').fill(PROMPT);
      await chatFrame.locator('textarea[aria-label="message"]').press('Enter');
      const meta = chatFrame.locator('.meta');
      await waitFor(async () => /first token \d+ ms · [\d.]+ tokens\/s/.test((await meta.textContent({ timeout: 2000 })) ?? ''), {
        timeoutMs: 60_000,
        describe: async () => `the reply's timing line (meta: "${await meta.textContent().catch(() => '')}", transcript: "${await chatFrame.locator('.transcript').textContent().catch(() => '')}")`,
      });
      const reply = await chatFrame.locator('.turn.assistant').last().textContent();
      const deltas = await chatFrame.evaluate(() => window.__sftDeltas);
      step(`reply ${JSON.stringify(reply)} in ${deltas.length} streamed pieces; ${await meta.textContent()}`);
      if (reply !== greedy) throw new Error(`the chat reply differs from the PyTorch greedy answer:\n  chat    ${JSON.stringify(reply)}\n  PyTorch ${JSON.stringify(greedy)}`);
      if (deltas.length < 2) throw new Error(`the reply did not stream: ${deltas.length} piece(s)`);
      if (deltas.join('').trim() !== reply.trim()) throw new Error(`the streamed pieces ${JSON.stringify(deltas.join(''))} do not add up to the reply`);
      await screenshot('insight-chat.png');

      step('Developer: Reload Window; both panels come back from their saved state');
      // A mark on the old page: the workbench found afterwards must be the reloaded one.
      await page.evaluate(() => (window.__sftBeforeReload = true));
      await runCommand(page, 'Developer: Reload Window');
      await waitFor(async () => !(await page.evaluate(() => window.__sftBeforeReload === true).catch(() => true)), {
        timeoutMs: 60_000,
        describe: 'the window to reload',
      });
      await waitForWorkbench(page);
      // VS Code revives a webview editor only when its tab is shown, and which of the two panels
      // ends up in front depends on the editor group each opened in; each tab is brought forward.
      await showTab(page, 'Tokens:');
      const restoredTokens = await webviewFrame(page, '.stats', { timeoutMs: 90_000 });
      step(`restored tokens panel: ${await checkTokensPanel(restoredTokens, cli2, 'restored tokens panel')}`);
      await showTab(page, 'Chat:');
      const restoredChat = await webviewFrame(page, 'textarea[aria-label="message"]', { timeoutMs: 90_000 });
      await waitForChatReady(restoredChat, checkpoint, 'restored chat');
      const transcript = await restoredChat.locator('.turn').evaluateAll((turns) => turns.map((t) => [t.className, t.textContent]));
      const wantTranscript = [
        ['turn user', PROMPT],
        ['turn assistant', greedy],
      ];
      if (JSON.stringify(transcript) !== JSON.stringify(wantTranscript)) throw new Error(`restored transcript ${JSON.stringify(transcript)}, expected ${JSON.stringify(wantTranscript)}`);
      await screenshot('insight-reloaded.png');
    } finally {
      await references.catch(() => undefined);
      // Leave the shared workspace as other scenarios expect it: no open panels to restore, no extra run.
      await runCommand(page, 'View: Close All Editors').catch(() => {});
      fs.rmSync(runDir, { recursive: true, force: true });
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  },
};
