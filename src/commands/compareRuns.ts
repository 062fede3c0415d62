// "What differed, and which is best?": two or more runs side by side. Each run's resolved config (what the
// trainer actually used, defaults included) is compared field by field, and the fields that differ are shown
// next to each run's final and best metrics. Two runs also open in the diff editor.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';

export interface RunOutcome {
  runDir: string;
  name: string;
  config: Record<string, unknown>;
  state?: string;
  step?: number;
  trainLoss?: number;
  evalLoss?: number;
  bestMetric?: number;
  bestStep?: number;
  metricForBestModel?: string;
  endReason?: string;
  runtimeSeconds?: number;
}

/** Fields every run has and that never explain a difference in results. */
const NOT_A_DIFFERENCE = new Set(['output_dir', 'run_name', 'logging_dir']);

export const RESOLVED_CONFIG = 'config.resolved.json';

/** A resolved config as stable text for the diff editor: one field per line, sorted, nested values inline. */
export function configText(config: Record<string, unknown>): string {
  return `${Object.keys(config)
    .sort()
    .map((key) => `${key}: ${JSON.stringify(config[key])}`)
    .join('\n')}\n`;
}

export async function readResolvedConfig(runDir: string): Promise<Record<string, unknown>> {
  const file = path.join(runDir, RESOLVED_CONFIG);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await fs.promises.readFile(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing (the run never started)' : (error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`${file}: not a JSON object`);
  return parsed as Record<string, unknown>;
}

/** The last train and eval losses and what run_finished said, read line by line (a run may have 100k events). */
export async function readOutcome(runDir: string, name: string): Promise<RunOutcome> {
  const outcome: RunOutcome = { runDir, name, config: await readResolvedConfig(runDir) };
  const file = path.join(runDir, 'events.jsonl');
  if (!fs.existsSync(file)) return outcome;
  const lines = readline.createInterface({ input: fs.createReadStream(file, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    // Only the three kinds of line that matter are parsed; a torn or foreign line is skipped.
    if (!/"type":\s*"(train|eval|run_finished)"/.test(line)) continue;
    let event: Record<string, unknown>;
    try {
      event = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    const num = (key: string) => (typeof event[key] === 'number' ? (event[key] as number) : undefined);
    if (typeof event.step === 'number') outcome.step = Math.max(outcome.step ?? 0, event.step);
    if (event.type === 'train') outcome.trainLoss = num('loss') ?? outcome.trainLoss;
    else if (event.type === 'eval') outcome.evalLoss = num('loss') ?? outcome.evalLoss;
    else {
      outcome.state = typeof event.status === 'string' ? event.status : outcome.state;
      outcome.endReason = typeof event.reason === 'string' ? event.reason : undefined;
      outcome.bestMetric = num('best_metric');
      outcome.bestStep = num('best_step');
      outcome.metricForBestModel = typeof event.metric_for_best_model === 'string' ? event.metric_for_best_model : undefined;
      outcome.runtimeSeconds = num('train_runtime_s');
    }
  }
  return outcome;
}

/** Config fields whose values are not the same in every run, sorted by name. */
export function differingFields(configs: readonly Record<string, unknown>[]): string[] {
  const keys = new Set(configs.flatMap((c) => Object.keys(c)));
  return [...keys]
    .filter((key) => !NOT_A_DIFFERENCE.has(key))
    .filter((key) => new Set(configs.map((c) => JSON.stringify(c[key] ?? null))).size > 1)
    .sort();
}

/** A Markdown report: the differing fields per run, then the outcome per run, the best eval loss in bold. */
export function comparisonMarkdown(runs: readonly RunOutcome[]): string {
  const fields = differingFields(runs.map((r) => r.config));
  const header = (first: string) => `| ${first} | ${runs.map((r) => cell(r.name)).join(' | ')} |\n|---|${runs.map(() => '---|').join('')}`;
  const lines = [`# Compare ${runs.length} runs`, ''];
  if (fields.length === 0) lines.push('The resolved configs are identical (apart from names and folders).', '');
  else {
    lines.push(`## ${fields.length} field${fields.length === 1 ? '' : 's'} differ`, '', header('field'));
    for (const field of fields) lines.push(`| \`${field}\` | ${runs.map((r) => cell(JSON.stringify(r.config[field] ?? null))).join(' | ')} |`);
    lines.push('');
  }
  const evalLosses = runs.map((r) => r.evalLoss).filter((v): v is number => v !== undefined);
  const bestEval = evalLosses.length > 1 ? Math.min(...evalLosses) : undefined;
  const num = (v: number | undefined, bold = false) => (v === undefined ? '–' : bold ? `**${v.toFixed(4)}**` : v.toFixed(4));
  lines.push('## Outcome', '', header(''));
  lines.push(`| state | ${runs.map((r) => cell(r.endReason === 'early_stopped' ? `${r.state ?? '?'} (early stop)` : r.state ?? 'running')).join(' | ')} |`);
  lines.push(`| steps | ${runs.map((r) => (r.step === undefined ? '–' : String(r.step))).join(' | ')} |`);
  lines.push(`| last train loss | ${runs.map((r) => num(r.trainLoss)).join(' | ')} |`);
  lines.push(`| last eval loss | ${runs.map((r) => num(r.evalLoss, r.evalLoss !== undefined && r.evalLoss === bestEval)).join(' | ')} |`);
  lines.push(`| best (metric @ step) | ${runs.map((r) => (r.bestMetric === undefined ? '–' : `${r.metricForBestModel ?? ''} ${r.bestMetric.toFixed(4)} @ ${r.bestStep ?? '?'}`)).join(' | ')} |`);
  lines.push(`| training time | ${runs.map((r) => (r.runtimeSeconds === undefined ? '–' : `${Math.round(r.runtimeSeconds)} s`)).join(' | ')} |`);
  return `${lines.join('\n')}\n`;
}

/** Markdown table cells cannot hold pipes or line breaks. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}
