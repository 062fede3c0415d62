// The demo path a user takes: open the demo config, click "▶ Run" on its code lens, watch the run in
// the SFT Studio sidebar until it completes, see its loss curve on the dashboard, its answers on the
// generations table (base model first), and judge it against its references in the judge panel.
import fs from 'node:fs';
import path from 'node:path';
import { runFolders } from '../trainers.mjs';
import {
  clickWithRetry,
  dismissNotifications,
  notificationTexts,
  pickFromCommand,
  quickOpenFile,
  runCommand,
  selectors,
  showViewContainer,
  waitFor,
  waitForWorkbench,
  webviewContaining,
} from '../workbench.mjs';

const CONFIG_FILE = 'demo.sft.yaml';
// Label and description are adjacent text nodes ("demo-…completed"), so no word boundaries here.
const STATE_WORDS = /(starting|running|completed|failed|stopped|crashed)/;
const FINAL_FAILURES = /(failed|stopped|crashed)/;

function readEvents(runDir) {
  const text = fs.readFileSync(path.join(runDir, 'events.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line));
}

export default {
  name: 'demo run from code lens',
  timeoutMs: 9 * 60_000,
  async run({ page, server, workspace, screenshot, step }) {
    const runsRoot = path.join(workspace, 'runs');
    const existing = new Set(runFolders(runsRoot));

    step('open the workbench');
    await page.goto(server.folderUrl(workspace));
    await waitForWorkbench(page);

    step(`open ${CONFIG_FILE}`);
    await quickOpenFile(page, CONFIG_FILE);

    step('click the "▶ Run" code lens');
    // Only the lens whose title starts with "Run" (after the ▶), not e.g. "Resume Run".
    const runLens = () => page.locator(selectors.codeLens).filter({ hasText: /^[^A-Za-z]*Run\b/ });
    await clickWithRetry(runLens, { timeoutMs: 90_000, describe: 'code lens "▶ Run"' });
    const runDir = await waitFor(() => runFolders(runsRoot).find((d) => !existing.has(d)), {
      timeoutMs: 60_000,
      describe: async () => `a new run folder under ${runsRoot} (notifications: ${(await notificationTexts(page)).join(' | ')})`,
    });
    step(`run folder ${path.relative(workspace, runDir)}`);

    step('find the run in the SFT Studio Runs view');
    await dismissNotifications(page);
    await showViewContainer(page, 'SFT Studio');
    const runRow = page
      .locator(selectors.treeRow)
      .filter({ hasText: path.basename(runDir) })
      .filter({ hasText: STATE_WORDS })
      .first();
    await runRow.waitFor({ state: 'visible', timeout: 60_000 });
    await screenshot('run-started.png');

    step('wait until the run completes');
    let rowText = '';
    await waitFor(
      async () => {
        rowText = (await runRow.innerText({ timeout: 2000 })).replace(/\s+/g, ' ');
        return rowText.includes('completed') || FINAL_FAILURES.test(rowText);
      },
      { timeoutMs: 7 * 60_000, intervalMs: 1000, describe: () => `the run row to say "completed" (last: "${rowText}")` },
    );
    if (!rowText.includes('completed')) throw new Error(`the run ended without completing: "${rowText}"`);
    await screenshot('run-completed.png');

    step('the run folder records a completed run');
    const events = readEvents(runDir);
    const last = events.at(-1);
    if (last?.type !== 'run_finished' || last.status !== 'completed') {
      throw new Error(`last event in ${runDir}/events.jsonl is ${JSON.stringify(last)}, expected run_finished/completed`);
    }

    step('open the dashboard and wait for the loss chart');
    await dismissNotifications(page);
    await clickWithRetry(() => runRow, { describe: 'run row in the Runs view' });
    let chart = await webviewContaining(page, '#loss-chart', { timeoutMs: 20_000 }).catch(() => undefined);
    if (!chart) {
      await pickFromCommand(page, 'SFT Studio: Open Dashboard', path.basename(runDir));
      chart = await webviewContaining(page, '#loss-chart', { timeoutMs: 60_000 });
    }
    let points = 0;
    await waitFor(
      async () => {
        points = Number(await chart.locator('#loss-chart').getAttribute('data-points', { timeout: 2000 }));
        return points > 0;
      },
      { timeoutMs: 60_000, describe: () => `#loss-chart[data-points] > 0 (now ${points})` },
    );
    step(`loss chart shows ${points} points`);
    await screenshot('dashboard.png');

    const generations = events.filter((e) => e.type === 'generation');
    const steps = [...new Set(generations.map((g) => g.step))].sort((a, b) => a - b);
    const prompts = [...new Set(generations.map((g) => g.prompt_id))];
    const lastStep = steps.at(-1);

    step('open the generations table of the run');
    await dismissNotifications(page);
    await pickFromCommand(page, 'SFT Studio: Open Generations', path.basename(runDir));
    const table = await webviewContaining(page, '#generations tbody tr', { timeoutMs: 60_000 });
    const rowIds = await table.locator('#generations tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.promptId));
    if (JSON.stringify([...rowIds].sort()) !== JSON.stringify([...prompts].sort())) {
      throw new Error(`generations rows ${JSON.stringify(rowIds)} differ from the run's prompts ${JSON.stringify(prompts)}`);
    }
    const firstColumn = await table.locator('#generations thead th[data-step]').first().getAttribute('data-step');
    if (firstColumn !== '0') throw new Error(`the first step column is ${firstColumn}, expected 0 (the base model)`);
    // Every cell of the newest step shows the trainer's completion and its exact-match mark.
    for (const g of generations.filter((e) => e.step === lastStep)) {
      const cell = table.locator(`td.completion[data-prompt-id="${g.prompt_id}"][data-step="${lastStep}"]`);
      const shown = await cell.locator('.text').textContent();
      const match = await cell.getAttribute('data-match');
      const expected = g.reference === undefined ? null : String(g.completion.trim() === g.reference.trim());
      if (shown !== g.completion || (expected !== null && match !== expected)) {
        throw new Error(`cell ${g.prompt_id}@${lastStep} shows ${JSON.stringify(shown)} (match ${match}), `
          + `the run wrote ${JSON.stringify(g.completion)} (match ${expected})`);
      }
    }
    step(`${rowIds.length} prompts × steps ${steps.join(', ')}`);
    await screenshot('generations.png');

    step('judge the run against its references in the judge panel');
    await runCommand(page, 'SFT Studio: Open Judge');
    const judge = await webviewContaining(page, '#side-a-run vscode-option', { timeoutMs: 60_000 });
    const choose = async (id, text) => {
      await judge.locator(`#${id}`).click();
      await judge.locator(`#${id} vscode-option`, { hasText: text }).first().click();
    };
    await choose('side-a-run', path.basename(runDir));
    await choose('side-b-kind', 'the reference answers');
    await choose('judge-match', 'exact text');
    await judge.locator('#judge-start').click();
    const referenced = generations.filter((g) => g.step === lastStep && g.reference !== undefined);
    const calls = 2 * referenced.length;
    let progress = '';
    await waitFor(
      async () => {
        progress = (await judge.locator('#judge-progress-text').textContent()) ?? '';
        return progress === `${calls} / ${calls} calls`;
      },
      { timeoutMs: 60_000, describe: () => `judge progress "${calls} / ${calls} calls" (now "${progress}")` },
    );
    // Against its own references a run can only tie (exact match) or lose, prompt by prompt.
    const outcomes = await waitFor(async () => {
      const got = await judge.locator('#judge-records tbody tr').evaluateAll((rows) => rows.map((r) => `${r.dataset.promptId}:${r.dataset.outcome}`));
      return got.length === referenced.length ? got : undefined;
    }, { timeoutMs: 30_000, describe: `${referenced.length} rows in the judge table` });
    const expected = referenced.map((g) => `${g.prompt_id}:${g.completion.trim() === g.reference.trim() ? 'tie' : 'loss'}`);
    if (JSON.stringify([...outcomes].sort()) !== JSON.stringify([...expected].sort())) {
      throw new Error(`judge outcomes ${JSON.stringify(outcomes)}, expected ${JSON.stringify(expected)}`);
    }
    const consistency = await judge.locator('[data-fact="consistency"]').textContent();
    if (!consistency?.startsWith('100.0%')) throw new Error(`consistency shows "${consistency}", expected 100.0% for a reference judge`);
    step(`judge: ${outcomes.join(' ')}`);
    await screenshot('judge.png');
  },
};
