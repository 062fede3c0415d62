// A 6-trial sweep through the run queue (issue 15): a 3 x 2 grid on the tiny model, 4 steps per trial, in a
// workspace whose settings let 2 runs train at once. ▶ Sweep plans it and queues every trial; the trials' own
// events show that no more than 2 ever trained at the same time (and that 2 did); the Sweep panel lists the 6 trials
// with their objectives and marks the best one, the one their eval losses make best.
import path from 'node:path';
import { dismissNotifications, showTab, webviewContaining, waitFor } from '../workbench.mjs';
import {
  MAX_CONCURRENT,
  objectives,
  panelNumber,
  peakConcurrency,
  runSweepFromLens,
  stopSweepTrainers,
  sweepWorkspace,
  trialIntervals,
  writeSweepConfig,
} from '../sweeps.mjs';

export const QUEUE_CONFIG = 'queue.sft.yaml';
export const QUEUE_RUN_NAME = 'queue';
const GRID = { learning_rate: ['1.0e-4', '1.0e-3', '3.0e-3'], warmup_ratio: ['0.0', '0.5'] };
const TRIALS = 6;

export default {
  name: 'sweep through the queue',
  timeoutMs: 6 * 60_000,
  async run(t) {
    const { page, workspace, screenshot, step } = t;
    const dir = sweepWorkspace(workspace);
    writeSweepConfig(dir, QUEUE_CONFIG, QUEUE_RUN_NAME, GRID, 4);
    try {
      const started = Date.now();
      const { sweepDir, doc, events, seen } = await runSweepFromLens(t, {
        dir,
        configFile: QUEUE_CONFIG,
        runName: QUEUE_RUN_NAME,
        trials: TRIALS,
        timeoutMs: 4 * 60_000,
      });
      step(`all ${TRIALS} trials completed ${((Date.now() - started) / 1000).toFixed(1)} s after opening the workspace`);

      step(`the queue never trained more than ${MAX_CONCURRENT} trials at once`);
      const intervals = trialIntervals(events);
      const peak = peakConcurrency(intervals);
      const spans = intervals.map((i) => `#${i.index} ${(i.start - intervals[0].start).toFixed(1)}–${(i.end - intervals[0].start).toFixed(1)} s`).join(', ');
      if (peak > MAX_CONCURRENT) throw new Error(`${peak} trials trained at once (run_started..run_finished: ${spans})`);
      if (peak < MAX_CONCURRENT) throw new Error(`at most ${peak} trial trained at a time; the queue should have run ${MAX_CONCURRENT} (${spans})`);
      if (seen.queuedRows === 0) throw new Error('no trial ever waited as "queued" in the Runs view');
      step(`peak ${peak} at once, up to ${seen.queuedRows} queued rows seen; ${spans}`);

      step('the Sweep panel lists every trial with its objectives and marks the best');
      const objective = objectives(events);
      const bestIndex = [...objective.entries()].reduce((a, b) => (b[1].best < a[1].best ? b : a))[0];
      await dismissNotifications(page);
      await showTab(page, `Sweep ${path.basename(sweepDir)}`);
      const panel = await webviewContaining(page, '#sweep-trials tbody tr', { timeoutMs: 60_000 });
      let shown = [];
      await waitFor(
        async () => {
          shown = await panel.locator('#sweep-trials tbody tr').evaluateAll((trs) =>
            trs.map((tr) => ({
              trial: Number(tr.dataset.trial),
              status: tr.dataset.status,
              best: tr.classList.contains('best'),
              objective: tr.querySelector('.objective')?.textContent,
              final: tr.querySelector('.final')?.textContent,
            })),
          );
          return shown.length === TRIALS && shown.every((r) => r.status === 'completed' && r.objective !== '—');
        },
        { timeoutMs: 30_000, describe: () => `${TRIALS} completed rows with objectives (shown: ${JSON.stringify(shown)})` },
      );
      for (const row of shown) {
        const want = objective.get(row.trial);
        if (row.objective !== panelNumber(want.best) || row.final !== panelNumber(want.final)) {
          throw new Error(`trial #${row.trial} shows best ${row.objective} / final ${row.final}; its events say ${panelNumber(want.best)} / ${panelNumber(want.final)}`);
        }
      }
      const marked = shown.filter((r) => r.best).map((r) => r.trial);
      if (marked.length !== 1 || marked[0] !== bestIndex) throw new Error(`the panel marks ${JSON.stringify(marked)} best; the lowest eval loss is trial #${bestIndex}`);
      const summary = (await panel.locator('#sweep-summary').textContent()) ?? '';
      if (!summary.includes(`${TRIALS} of ${TRIALS} trials ended`) || !summary.includes(`best #${bestIndex}`)) {
        throw new Error(`the panel's summary says "${summary}"`);
      }
      const chart = (await panel.locator('#sweep-chart').getAttribute('aria-label')) ?? '';
      if (!chart.includes(`${TRIALS} trials`)) throw new Error(`the scatter's label says "${chart}", expected ${TRIALS} trials`);
      step(`best #${bestIndex} (${panelNumber(objective.get(bestIndex).best)}); ${doc.id}`);
      await dismissNotifications(page);
      await screenshot('sweep-panel.png');
    } finally {
      await stopSweepTrainers(dir, (m) => step(m));
    }
  },
};
