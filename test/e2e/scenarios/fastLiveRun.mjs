// A run logging 200 train events a second, followed with its dashboard open: the Runs row, the
// status bar, the dashboard header and its loss chart all keep advancing (at least twice a second)
// while it runs, and all show the last step soon after it stops. The run is written by the test as
// the trainer writes one (bench/runFolders.mjs), so no training is needed to reach that pace.
import path from 'node:path';
import { dashboardFrameOf, liveRecords, watchLive } from '../../../bench/liveWatch.mjs';
import { LiveRun } from '../../../bench/runFolders.mjs';
import { sleep } from '../codeServer.mjs';
import { pickFromCommand, runCommand, selectors, showViewContainer, waitFor, waitForWorkbench } from '../workbench.mjs';

const RATE = 200;
const SECONDS = 8;

export default {
  name: 'fast live run with the dashboard open',
  timeoutMs: 4 * 60_000,
  async run({ page, server, workspace, step, screenshot }) {
    step('open the workspace and the SFT Studio view');
    await page.goto(server.folderUrl(workspace));
    await waitForWorkbench(page);
    await showViewContainer(page, 'SFT Studio');

    const name = `fast-${Date.now()}`;
    const run = new LiveRun(path.join(workspace, 'runs', name), path.join(workspace, 'demo.sft.yaml'), 1_000_000);
    try {
      run.train();
      step('wait for its row, open its dashboard');
      const row = () => page.locator(selectors.treeRow, { hasText: name });
      await waitFor(async () => (await row().count()) > 0, { timeoutMs: 60_000, describe: `the row of ${name}` });
      await pickFromCommand(page, 'SFT Studio: Open Dashboard', name);
      const dashboard = await waitFor(() => dashboardFrameOf(page, name), { timeoutMs: 60_000, describe: `the dashboard of ${name}` });
      await watchLive(page, dashboard, name);

      step(`write ${RATE} train events/s for ${SECONDS} s`);
      const start = Date.now();
      let written = 0;
      while (Date.now() - start < SECONDS * 1000) {
        const due = Math.floor(((Date.now() - start) / 1000) * RATE);
        while (written < due) {
          run.train();
          written += 1;
        }
        await sleep(5);
      }
      const end = Date.now();
      const last = run.step;
      await screenshot('fast-live-run.png');

      step(`every view shows step ${last} soon after the last write`);
      await waitFor(
        async () => {
          const { messages: _, ...views } = await liveRecords(page, dashboard);
          return Object.values(views).every((records) => records.at(-1)?.[1] >= last);
        },
        {
          timeoutMs: 5000,
          intervalMs: 100,
          describe: async () => {
            const { messages: _, ...views } = await liveRecords(page, dashboard);
            return `every view at step ${last} (shown: ${Object.entries(views).map(([k, r]) => `${k} ${r.at(-1)?.[1]}`).join(', ')})`;
          },
        },
      );
      const { messages, ...views } = await liveRecords(page, dashboard);
      for (const [view, records] of Object.entries(views)) {
        const during = records.filter(([at]) => at >= start && at <= end).length;
        // VS Code's tree once swallowed every refresh of a fast run: its row stayed at its first steps.
        if (during < 2 * SECONDS) throw new Error(`${view} advanced ${during} times in ${SECONDS} s; expected at least twice a second`);
      }
      const perSecond = messages / ((Date.now() - start) / 1000);
      if (perSecond > 30) throw new Error(`the dashboard got ${perSecond.toFixed(1)} messages/s for ${RATE} events/s; expected them coalesced`);
    } finally {
      run.close();
    }
  },
};
