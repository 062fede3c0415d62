// Compare Runs on two sweep trials that differ in learning rate only: both selected in the Runs view (click, then
// Ctrl+click), "Compare Runs…" from the context menu opens their resolved configs in VS Code's diff editor with the
// learning_rate line on screen on both sides, and the Markdown report naming both; the dashboard of one with the
// other added through its Compare picker shows the comparison table with both runs and their learning rates.
// The trials are those of "sweep through the queue" when it ran earlier in this session, else a 2-trial sweep
// (2 steps each, both at once) trained here, so the default suite covers ▶ Sweep and the Sweep panel quickly too.
import fs from 'node:fs';
import path from 'node:path';
import {
  clickWithRetry,
  contextMenuItem,
  dismissNotifications,
  pickFromCommand,
  runCommand,
  selectors,
  showTab,
  showViewContainer,
  waitFor,
  waitForWorkbench,
  webviewContaining,
} from '../workbench.mjs';
import { finishedEvent, readSweepJson, runSweepFromLens, stopSweepTrainers, sweepFolders, sweepWorkspace, writeSweepConfig } from '../sweeps.mjs';
import { QUEUE_RUN_NAME } from './sweepQueue.mjs';

const PAIR_CONFIG = 'pair.sft.yaml';
const PAIR_RUN_NAME = 'pair';

/** A sweep of this session whose trials all completed, newest first; the queue sweep before the pair one. */
function completedSweep(dir) {
  for (const runName of [QUEUE_RUN_NAME, PAIR_RUN_NAME]) {
    for (const sweepDir of sweepFolders(dir, runName).sort().reverse()) {
      const doc = readSweepJson(sweepDir);
      if (doc.trials.length >= 2 && doc.trials.every((trial) => finishedEvent(trial.run_dir)?.status === 'completed')) return { sweepDir, doc };
    }
  }
  return undefined;
}

function resolvedConfig(runDir) {
  return JSON.parse(fs.readFileSync(path.join(runDir, 'config.resolved.json'), 'utf8'));
}

export default {
  name: 'compare two sweep trials',
  timeoutMs: 5 * 60_000,
  async run(t) {
    const { page, server, workspace, screenshot, step } = t;
    const dir = sweepWorkspace(workspace);
    try {
      let sweep = completedSweep(dir);
      if (sweep) {
        step(`reuse ${path.basename(sweep.sweepDir)}`);
        await page.goto(server.folderUrl(dir));
        await waitForWorkbench(page);
      } else {
        writeSweepConfig(dir, PAIR_CONFIG, PAIR_RUN_NAME, { learning_rate: ['1.0e-4', '3.0e-3'] }, 2);
        const { sweepDir, doc } = await runSweepFromLens(t, { dir, configFile: PAIR_CONFIG, runName: PAIR_RUN_NAME, trials: 2, timeoutMs: 3 * 60_000 });
        sweep = { sweepDir, doc };
        step('the Sweep panel shows both trials and a best one');
        await showTab(page, `Sweep ${path.basename(sweepDir)}`);
        const panel = await webviewContaining(page, '#sweep-trials tbody tr', { timeoutMs: 60_000 });
        await waitFor(
          async () => (await panel.locator('#sweep-trials tbody tr[data-status="completed"]').count()) === 2 && (await panel.locator('#sweep-trials tbody tr.best').count()) === 1,
          { timeoutMs: 30_000, describe: '2 completed trial rows, one marked best, in the Sweep panel' },
        );
      }

      // Two trials with the same values but for learning_rate: the first, and the last such one.
      const { doc } = sweep;
      const [a] = doc.trials;
      const others = (trial) => JSON.stringify(Object.entries(trial.params).filter(([k]) => k !== 'learning_rate'));
      const b = doc.trials.findLast((trial) => trial !== a && others(trial) === others(a) && trial.params.learning_rate !== a.params.learning_rate);
      if (!b) throw new Error(`no trial of ${doc.id} differs from trial-0 in learning_rate only`);
      const [nameA, nameB] = [a, b].map((trial) => path.basename(trial.run_dir));
      const [lrA, lrB] = [a, b].map((trial) => resolvedConfig(trial.run_dir).learning_rate);
      step(`select ${nameA} and ${nameB} (learning_rate ${lrA} / ${lrB}) in the Runs view`);
      await dismissNotifications(page);
      await showViewContainer(page, 'SFT Studio');
      const row = (trial) => page.locator(selectors.treeRow).filter({ hasText: new RegExp(`sweep ${doc.id} #${trial.index}(?!\\d)`) }).first();
      await clickWithRetry(() => row(a), { timeoutMs: 60_000, describe: `the Runs row of ${nameA}` });
      // A row's click opens its dashboard and leaves the keyboard in the tree (the page loading a moment later
      // must not take it: that would drop the selection's context menu below).
      await webviewContaining(page, `#run-name:text-is("${nameA}")`, { timeoutMs: 60_000 });
      let focused = '';
      await waitFor(
        async () => {
          focused = await page.evaluate(() => {
            const el = document.activeElement;
            return el?.closest('.pane-body .monaco-list') ? 'tree' : `${el?.tagName ?? 'none'}.${el?.className ?? ''}`;
          });
          return focused === 'tree';
        },
        { timeoutMs: 5_000, describe: () => `the keyboard focus in the Runs tree after the dashboard opened (focused: ${focused})` },
      );
      await row(b).click({ modifiers: ['Control'] });
      await waitFor(async () => (await page.locator(`${selectors.treeRow}.selected`).count()) === 2, {
        timeoutMs: 10_000,
        describe: async () => `2 selected rows (selected: ${(await page.locator(`${selectors.treeRow}.selected`).allInnerTexts()).join(' | ')})`,
      });

      step('"Compare Runs…" from the context menu');
      await contextMenuItem(page, row(b), 'Compare Runs');

      step('the report names both runs and the differing field');
      const report = await webviewContaining(page, `h1:text-is("Compare 2 runs")`, { timeoutMs: 30_000 });
      const reportText = (await report.locator('body').innerText()).replace(/\s+/g, ' ');
      for (const want of [nameA, nameB, 'learning_rate', String(lrA), String(lrB)]) {
        if (!reportText.includes(want)) throw new Error(`the comparison report lacks "${want}": ${reportText.slice(0, 400)}`);
      }

      step('the diff editor shows both resolved configs, learning_rate differing');
      await showTab(page, `Config: ${nameA}`);
      const diff = page.locator('.monaco-diff-editor').first();
      let sides = ['', ''];
      await waitFor(
        async () => {
          sides = await Promise.all(['original', 'modified'].map(async (side) => (await diff.locator(`.editor.${side} .view-lines`).innerText({ timeout: 2000 })).replace(/\u00a0/g, ' ')));
          return sides[0].includes(`learning_rate: ${JSON.stringify(lrA)}`) && sides[1].includes(`learning_rate: ${JSON.stringify(lrB)}`);
        },
        { timeoutMs: 30_000, describe: () => `learning_rate ${lrA} on the left and ${lrB} on the right (shown: ${JSON.stringify(sides)})` },
      );
      await dismissNotifications(page);
      await screenshot('compare-diff.png');

      step(`the dashboard of ${nameA} compares it with ${nameB} in its table`);
      await pickFromCommand(page, 'SFT Studio: Open Dashboard', nameA);
      const dashboard = await webviewContaining(page, `#run-name:text-is("${nameA}")`, { timeoutMs: 60_000 });
      await clickWithRetry(() => dashboard.locator('#compare-picker'), { describe: 'the dashboard\'s compare picker' });
      await clickWithRetry(() => dashboard.locator('#compare-picker vscode-option', { hasText: nameB }), { describe: `${nameB} in the compare picker` });
      await dashboard.locator('#compare-add').click();
      const table = dashboard.locator('#compare-table');
      let cells = [];
      await waitFor(
        async () => {
          cells = await table.locator('tbody tr').evaluateAll((trs) =>
            trs.map((tr) => [tr.querySelector('[data-key="run"]')?.textContent, tr.querySelector('[data-key="config:learning_rate"]')?.textContent]),
          );
          return cells.length === 2;
        },
        { timeoutMs: 30_000, describe: () => `2 rows in the comparison table (shown: ${JSON.stringify(cells)})` },
      );
      const want = JSON.stringify([[nameA, String(lrA)], [nameB, String(lrB)]].sort());
      if (JSON.stringify([...cells].sort()) !== want) throw new Error(`the comparison table shows ${JSON.stringify(cells)}, expected ${want}`);
      await dashboard.locator('#compare-section').scrollIntoViewIfNeeded();
      await dismissNotifications(page);
      await screenshot('compare-table.png');
    } finally {
      await stopSweepTrainers(dir, (m) => step(m));
    }
  },
};
