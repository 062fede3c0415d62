// The run lifecycle from the Runs view: start from the lens, Stop from the row's inline action (the
// trainer saves a checkpoint, listed under the run), Resume from the row, reload the window while the
// resumed run trains, see the reloaded window follow it as it advances, and Stop it again. The run folder
// must then hold one gap-free event stream: seq 0..n-1, two run_started, every step 1..N trained.
// The run is far too long to finish by itself, so nothing here depends on how fast the machine trains
// (an idle machine does 15 steps/s, a loaded one under 1); the demo scenario covers a run completing.
import fs from 'node:fs';
import path from 'node:path';
import { readEvents, runFolders } from '../trainers.mjs';
import {
  clickWithRetry,
  dismissNotifications,
  notificationTexts,
  quickOpenFile,
  selectors,
  showViewContainer,
  waitFor,
  waitForWorkbench,
} from '../workbench.mjs';

const CONFIG_FILE = 'demo.sft.yaml';
const MAX_STEPS = 100_000;
// Every step logged, so a gap would show; no eval or periodic checkpoint, so the stop makes the only one.
const OVERRIDES = [`max_steps=${MAX_STEPS}`, 'per_device_train_batch_size=4', 'logging_steps=1', 'eval_steps=100000', 'save_steps=100000'];

const text = async (locator) => (await locator.innerText({ timeout: 2000 })).replace(/\s+/g, ' ');
const stepOf = (rowText) => Number(/step (\d+)/.exec(rowText)?.[1] ?? -1);

/** The run's row in the Runs view (label and description are adjacent text: no word boundaries). */
function runRow(page, runDir) {
  return page.locator(selectors.treeRow).filter({ hasText: path.basename(runDir) }).first();
}

async function clickInlineAction(page, row, title) {
  await clickWithRetry(
    () => {
      void row.hover().catch(() => {});
      return row.locator(`a.action-label[aria-label^="${title}"]`);
    },
    { describe: `inline action "${title}" on the run row` },
  );
}

async function waitForRow(row, predicate, what, timeoutMs) {
  let last = '';
  await waitFor(
    async () => {
      last = await text(row);
      return predicate(last);
    },
    { timeoutMs, intervalMs: 200, describe: () => `${what} (row: "${last}")` },
  );
  return last;
}

export default {
  name: 'stop, resume and reload from the Runs view',
  timeoutMs: 8 * 60_000,
  async run({ page, server, workspace, screenshot, step }) {
    const runsRoot = path.join(workspace, 'runs');
    const existing = new Set(runFolders(runsRoot));
    const settingsFile = path.join(workspace, '.vscode', 'settings.json');
    fs.mkdirSync(path.dirname(settingsFile), { recursive: true });
    fs.writeFileSync(settingsFile, JSON.stringify({ 'sftStudio.runOverrides': OVERRIDES, 'sftStudio.openDashboardOnStart': false }, null, 2));
    try {
      step('open the workbench and start the demo config from its lens');
      await page.goto(server.folderUrl(workspace));
      await waitForWorkbench(page);
      await quickOpenFile(page, CONFIG_FILE);
      await clickWithRetry(() => page.locator(selectors.codeLens).filter({ hasText: /^[^A-Za-z]*Run\b/ }), {
        timeoutMs: 90_000,
        describe: 'code lens "▶ Run"',
      });
      const runDir = await waitFor(() => runFolders(runsRoot).find((d) => !existing.has(d)), {
        timeoutMs: 60_000,
        describe: async () => `a new run folder (notifications: ${(await notificationTexts(page)).join(' | ')})`,
      });
      step(`run folder ${path.relative(workspace, runDir)}`);

      step('wait for a few steps in the Runs view, with its progress');
      await dismissNotifications(page);
      await showViewContainer(page, 'SFT Studio');
      const row = runRow(page, runDir);
      await row.waitFor({ state: 'visible', timeout: 60_000 });
      const running = await waitForRow(row, (t) => new RegExp(`running · \\d+% · step \\d+/${MAX_STEPS}`).test(t) && stepOf(t) >= 3, 'running at step ≥ 3 with its percent', 120_000);
      step(`row: ${running}`);

      step('Stop from the inline action');
      await clickInlineAction(page, row, 'Stop Run');
      const stopped = await waitForRow(row, (t) => t.includes('stopped'), '"stopped"', 90_000);
      const stoppedAt = stepOf(stopped);
      const checkpoint = readEvents(runDir).find((e) => e.type === 'checkpoint');
      if (!checkpoint) throw new Error('the stop saved no checkpoint event');
      step(`stopped at step ${stoppedAt}, checkpoint step ${checkpoint.step}`);

      step('the checkpoint is listed under the run');
      await row.locator('.monaco-tl-twistie').click();
      const child = page.locator(selectors.treeRow).filter({ hasText: `step ${checkpoint.step}` }).filter({ hasText: 'checkpoint' });
      await child.first().waitFor({ state: 'visible', timeout: 15_000 });
      await screenshot('run-stopped-with-checkpoint.png');

      step('Resume from the inline action');
      await clickInlineAction(page, row, 'Resume Run');
      await waitForRow(row, (t) => /running/.test(t) && stepOf(t) > checkpoint.step, `running past step ${checkpoint.step}`, 120_000);

      step('reload the window while the resumed run trains');
      await page.reload();
      await waitForWorkbench(page);
      await showViewContainer(page, 'SFT Studio');
      const again = runRow(page, runDir);
      await again.waitFor({ state: 'visible', timeout: 60_000 });
      const followed = await waitForRow(again, (t) => /running/.test(t), 'the reattached run, running', 60_000);
      step(`after reload: ${followed}`);
      const before = stepOf(followed);
      await waitForRow(again, (t) => stepOf(t) > before, 'new steps after the reload', 60_000);
      step('Stop the reattached run from its row');
      await clickInlineAction(page, again, 'Stop Run');
      const done = await waitForRow(again, (t) => /stopped|failed|crashed|completed/.test(t), '"stopped"', 90_000);
      if (!done.includes('stopped')) throw new Error(`the resumed run ended as: ${done}`);
      const lastStep = stepOf(done);
      await screenshot('run-resumed-stopped.png');

      step(`one gap-free event stream in the run folder (steps 1..${lastStep})`);
      const events = readEvents(runDir);
      events.forEach((e, i) => {
        if (e.seq !== i) throw new Error(`event ${i} has seq ${e.seq}: the stream has a gap or a duplicate`);
      });
      const starts = events.filter((e) => e.type === 'run_started').length;
      const finishes = events.filter((e) => e.type === 'run_finished').map((e) => e.status);
      if (starts !== 2 || finishes.join() !== 'stopped,stopped') throw new Error(`expected 2 starts and stopped,stopped; got ${starts} and ${finishes}`);
      const trained = new Set(events.filter((e) => e.type === 'train').map((e) => e.step));
      const missing = Array.from({ length: lastStep }, (_, i) => i + 1).filter((s) => !trained.has(s));
      if (missing.length) throw new Error(`steps never trained: ${missing.slice(0, 10).join(', ')}`);
      const saved = events.filter((e) => e.type === 'checkpoint').map((e) => e.step);
      if (saved.length !== 2 || saved[1] !== lastStep) throw new Error(`expected a checkpoint at each stop, got steps ${saved}`);
    } finally {
      fs.rmSync(path.dirname(settingsFile), { recursive: true, force: true });
    }
  },
};
