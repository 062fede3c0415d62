// The demo path a user takes: open the demo config, click "▶ Run" on its code lens, watch the run in
// the SFT Studio sidebar until it completes, and see its loss curve on the dashboard.
import fs from 'node:fs';
import path from 'node:path';
import { runFolders } from '../trainers.mjs';
import {
  answerQuickPick,
  clickWithRetry,
  dismissNotifications,
  notificationTexts,
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
  timeoutMs: 6 * 60_000,
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
      { timeoutMs: 4 * 60_000, intervalMs: 1000, describe: () => `the run row to say "completed" (last: "${rowText}")` },
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
      await runCommand(page, 'SFT Studio: Open Dashboard');
      await answerQuickPick(page, path.basename(runDir));
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
  },
};
