// Sweeps in the e2e suite: a workspace of their own (the tiny model, a slice of the demo data, a sweep config and
// workspace settings: 2 runs at a time, no run overrides), ▶ Sweep clicked, the trials followed on disk and in the
// Runs view until they end, and what their events say about the queue. The sweep and compare scenarios use these.
import fs from 'node:fs';
import path from 'node:path';
import { tail } from './codeServer.mjs';
import { readEvents, runFolders, stopTrainers } from './trainers.mjs';
import { clickWithRetry, dismissNotifications, notificationTexts, quickOpenFile, selectors, showViewContainer, waitFor, waitForWorkbench } from './workbench.mjs';

export const MAX_CONCURRENT = 2;
const ENDED = ['completed', 'stopped', 'failed', 'crashed'];

/**
 * `<session>/sweep-workspace`, made once per session from the shared workspace copy. Its settings replace the
 * suite's `sftStudio.runOverrides` (max_steps=30 would win over the sweep config's few steps), let two runs train
 * at once, keep trial dashboards closed (six webviews would compete with the trainers for two cores) and fold
 * unchanged lines in diff editors (the compared configs' differing fields are then on screen).
 */
export function sweepWorkspace(workspace) {
  const dir = path.join(path.dirname(workspace), 'sweep-workspace');
  if (fs.existsSync(path.join(dir, '.vscode', 'settings.json'))) return dir;
  fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
  fs.cpSync(path.join(workspace, 'tiny-llama'), path.join(dir, 'tiny-llama'), { recursive: true });
  const lines = (file, n) => `${fs.readFileSync(path.join(workspace, 'data', file), 'utf8').split('\n').filter(Boolean).slice(0, n).join('\n')}\n`;
  fs.writeFileSync(path.join(dir, 'data', 'train.jsonl'), lines('instruct_train.jsonl', 400));
  fs.writeFileSync(path.join(dir, 'data', 'val.jsonl'), lines('instruct_val.jsonl', 32));
  fs.mkdirSync(path.join(dir, '.vscode'));
  fs.writeFileSync(
    path.join(dir, '.vscode', 'settings.json'),
    `${JSON.stringify({
      'sftStudio.maxConcurrentRuns': MAX_CONCURRENT,
      'sftStudio.runOverrides': [],
      'sftStudio.openDashboardOnStart': false,
      'diffEditor.hideUnchangedRegions.enabled': true,
    }, null, 2)}\n`,
  );
  return dir;
}

/** A sweep config on the tiny model: a few steps, an evaluation every 2, `grid` over the given lists. */
export function writeSweepConfig(dir, fileName, runName, grid, maxSteps) {
  const parameters = Object.entries(grid).map(([field, values]) => `    ${field}: [${values.join(', ')}]`);
  const text = [
    `# e2e: a ${Object.values(grid).map((v) => v.length).join(' x ')} grid on the tiny model, ${maxSteps} steps per trial.`,
    'model_name_or_path: tiny-llama',
    'train_file: data/train.jsonl',
    'validation_file: data/val.jsonl',
    'dataset_format: alpaca',
    `run_name: ${runName}`,
    'max_length: 64',
    'padding_free: true',
    'per_device_train_batch_size: 4',
    'per_device_eval_batch_size: 16',
    'learning_rate: 1.0e-3',
    `max_steps: ${maxSteps}`,
    'logging_steps: 1',
    'eval_strategy: steps',
    'eval_steps: 2',
    '',
    'sweep:',
    '  method: grid',
    '  parameters:',
    ...parameters,
    '',
  ].join('\n');
  fs.writeFileSync(path.join(dir, fileName), text);
  return path.join(dir, fileName);
}

/** The sweep folders under a workspace's runs/ (`<run_name>-sweep-<UTC>` holding sweep.json). */
export function sweepFolders(dir, runName) {
  return runFolders(path.join(dir, 'runs')).filter(
    (d) => path.basename(d).startsWith(`${runName}-sweep-`) && fs.existsSync(path.join(d, 'sweep.json')),
  );
}

export function readSweepJson(sweepDir) {
  return JSON.parse(fs.readFileSync(path.join(sweepDir, 'sweep.json'), 'utf8'));
}

/** A trial's last event when it is run_finished, else undefined (still running, or no events yet). */
export function finishedEvent(runDir) {
  try {
    const last = readEvents(runDir).at(-1);
    return last?.type === 'run_finished' ? last : undefined;
  } catch {
    return undefined;
  }
}

/** Stops whatever trials of this workspace's sweeps still train (run.mjs only stops the shared workspace's runs). */
export async function stopSweepTrainers(dir, log) {
  for (const sweepDir of runFolders(path.join(dir, 'runs'))) await stopTrainers(runFolders(sweepDir), { log });
}

/** The most trials whose run_started..run_finished intervals overlap at one instant. */
export function peakConcurrency(intervals) {
  const edges = intervals.flatMap(({ start, end }) => [[start, 1], [end, -1]]);
  // An end and a start at the same instant: the end first (the queue starts the next run after one ends).
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let peak = 0;
  for (const [, delta] of edges) peak = Math.max(peak, (now += delta));
  return peak;
}

/**
 * Opens `dir`, clicks ▶ Sweep on `configFile` and follows the trials until every one has ended: on disk and in the
 * Runs view, sampling how many trial rows show starting/running and whether any waited as queued. Returns the
 * sweep folder, its sweep.json and each trial's events.
 */
export async function runSweepFromLens(t, { dir, configFile, runName, trials, timeoutMs }) {
  const { page, server, step } = t;
  step(`open ${path.basename(dir)} (maxConcurrentRuns ${MAX_CONCURRENT})`);
  await page.goto(server.folderUrl(dir));
  await waitForWorkbench(page);

  step(`open ${configFile}, click "▶ Sweep"`);
  const before = new Set(sweepFolders(dir, runName));
  await quickOpenFile(page, configFile);
  await clickWithRetry(() => page.locator(selectors.codeLens).filter({ hasText: /^[^A-Za-z]*Sweep$/ }), {
    timeoutMs: 90_000,
    describe: 'code lens "▶ Sweep"',
  });
  const sweepDir = await waitFor(() => sweepFolders(dir, runName).find((d) => !before.has(d)), {
    timeoutMs: 90_000,
    describe: async () => `a new ${runName}-sweep-* folder with sweep.json (notifications: ${(await notificationTexts(page)).join(' | ')})`,
  });
  const doc = readSweepJson(sweepDir);
  if (doc.trials.length !== trials) throw new Error(`sweep.json plans ${doc.trials.length} trials, expected ${trials}`);
  step(`${path.basename(sweepDir)}: ${doc.trials.length} trials planned`);

  step('follow the trials in the Runs view until all have ended');
  await dismissNotifications(page);
  await showViewContainer(page, 'SFT Studio');
  const rows = page.locator(selectors.treeRow).filter({ hasText: /trial-\d/ });
  const seen = { maxActiveRows: 0, queuedRows: 0 };
  const ended = () => doc.trials.filter((trial) => finishedEvent(trial.run_dir));
  await waitFor(
    async () => {
      const texts = (await rows.allInnerTexts()).map((r) => r.replace(/\s+/g, ' '));
      seen.maxActiveRows = Math.max(seen.maxActiveRows, texts.filter((r) => /(starting|running)/.test(r)).length);
      seen.queuedRows = Math.max(seen.queuedRows, await page.locator(selectors.treeRow).filter({ hasText: /queued .* ago/ }).count());
      if (seen.maxActiveRows > MAX_CONCURRENT) throw new Error(`the Runs view shows ${seen.maxActiveRows} trials starting/running at once: ${texts.join(' | ')}`);
      return ended().length === doc.trials.length && texts.filter((r) => ENDED.some((s) => r.includes(s))).length === doc.trials.length;
    },
    {
      timeoutMs,
      intervalMs: 1000,
      describe: async () => `all ${doc.trials.length} trials ended (ended on disk: ${ended().map((x) => x.index).join(', ') || 'none'}; rows: ${(await rows.allInnerTexts().catch(() => [])).map((r) => r.replace(/\s+/g, ' ')).join(' | ')})`,
    },
  ).catch((error) => {
    if (error.message.startsWith('the Runs view')) throw error;
    const pending = doc.trials.find((trial) => !finishedEvent(trial.run_dir));
    const log = pending && path.join(pending.run_dir, 'trainer.log');
    throw new Error(`${error.message}${log && fs.existsSync(log) ? `\ntrainer.log of trial-${pending.index}:\n${tail(log, 20)}` : ''}`);
  });
  if (seen.maxActiveRows > MAX_CONCURRENT) throw new Error(`the Runs view showed ${seen.maxActiveRows} trials running at once`);

  const events = new Map(doc.trials.map((trial) => [trial.index, readEvents(trial.run_dir)]));
  for (const trial of doc.trials) {
    const last = events.get(trial.index).at(-1);
    if (last.status !== 'completed') {
      throw new Error(`trial-${trial.index} ended ${last.status} (${last.reason ?? ''}):\n${tail(path.join(trial.run_dir, 'trainer.log'), 20)}`);
    }
  }
  return { sweepDir, doc, events, seen };
}

/** run_started..run_finished of each trial (event times, unix s). */
export function trialIntervals(events) {
  return [...events.entries()].map(([index, list]) => ({
    index,
    start: list.find((e) => e.type === 'run_started').time,
    end: list.findLast((e) => e.type === 'run_finished').time,
  }));
}

/** Best and last eval loss per trial from its events (the sweep's objective: metric_for_best_model = loss). */
export function objectives(events) {
  return new Map(
    [...events.entries()].map(([index, list]) => {
      const losses = list.filter((e) => e.type === 'eval' && typeof e.loss === 'number').map((e) => e.loss);
      return [index, { best: losses.length ? Math.min(...losses) : null, final: losses.at(-1) ?? null }];
    }),
  );
}

/** A number as the Sweep panel shows it (webview/sweep/sweepTable.ts formatValue). */
export function panelNumber(value) {
  if (value === null || value === undefined) return '—';
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
}

export { ENDED };
