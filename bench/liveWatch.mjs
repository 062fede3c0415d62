// What the workbench and a dashboard show of a live run, recorded in the pages themselves (one
// MutationObserver each, Date.now() on the machine's one clock): every step the status bar, the
// Runs row, the dashboard header and the loss chart showed, with when. Shared by the editor-scale
// benchmark and the fast-live-run end-to-end scenario.

/** In the dashboard page: the newest step its loss chart draws. */
export function chartStep() {
  const chart = document.querySelector('#loss-chart');
  if (!chart) return 0;
  // data-x-max is the newest step drawn; builds before it held every row, so their point count is the step.
  const x = chart.getAttribute('data-x-max');
  return Number(x !== null && x !== '' ? x : chart.getAttribute('data-points'));
}

/** In the workbench page: records each new step the status bar and the run's row show. */
export function watchWorkbench(name) {
  window.__sftLive = { statusBar: [], row: [] };
  const last = { statusBar: -1, row: -1 };
  const record = (key, step) => {
    if (step > last[key]) {
      last[key] = step;
      window.__sftLive[key].push([Date.now(), step]);
    }
  };
  const check = () => {
    for (const item of document.querySelectorAll('.statusbar-item')) {
      const m = /SFT step (\d+)\//.exec(item.textContent);
      if (m) record('statusBar', Number(m[1]));
    }
    for (const row of document.querySelectorAll('.pane-body .monaco-list-row')) {
      if (!row.textContent.includes(name)) continue;
      const m = /step (\d+)\//.exec(row.textContent);
      if (m) record('row', Number(m[1]));
    }
  };
  new MutationObserver(check).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
}

/** In the dashboard page: records the header's and the chart's steps, and counts the host's messages. */
export function watchDashboard(chartStepSource) {
  const newestStep = new Function(`return (${chartStepSource})()`);
  window.__sftLive = { header: [], chart: [], messages: 0 };
  window.addEventListener('message', () => (window.__sftLive.messages += 1));
  const last = { header: -1, chart: -1 };
  const record = (key, step) => {
    if (step > last[key]) {
      last[key] = step;
      window.__sftLive[key].push([Date.now(), step]);
    }
  };
  const check = () => {
    const m = /step (\d+)\//.exec(document.querySelector('#run-step')?.textContent ?? '');
    if (m) record('header', Number(m[1]));
    record('chart', newestStep());
  };
  new MutationObserver(check).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
}

/** Starts both recorders. */
export async function watchLive(page, dashboard, name) {
  await page.evaluate(watchWorkbench, name);
  await dashboard.evaluate(watchDashboard, chartStep.toString());
}

/** What was recorded so far: [time, step] lists per view, and the dashboard's message count. */
export async function liveRecords(page, dashboard) {
  const [bench, dash] = await Promise.all([page.evaluate(() => window.__sftLive), dashboard.evaluate(() => window.__sftLive)]);
  return { statusBar: bench.statusBar, row: bench.row, header: dash.header, chart: dash.chart, messages: dash.messages };
}

/** The dashboard frame whose header names the run (webviews nest two iframes deep). */
export async function dashboardFrameOf(page, name) {
  for (const frame of page.frames()) {
    if (frame.isDetached()) continue;
    if ((await frame.locator('#run-name', { hasText: name }).count().catch(() => 0)) > 0) return frame;
  }
  return undefined;
}
