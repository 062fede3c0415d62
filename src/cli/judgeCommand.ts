// `sft-studio judge`: the judge engine without VS Code. src/cli.ts dispatches `judge` here.
import * as path from 'node:path';
import { EXIT_FAILURE, EXIT_INVALID, EXIT_OK, type CliCommand, type CliIo } from './cliCommand';
import { DEFAULT_MAX_OUTPUT_TOKENS } from '../judge/choice';
import { runJudge, type JudgeBudget, type JudgeProgress } from '../judge/engine';
import { JudgeCallError, JudgeInputError } from '../judge/errors';
import { loadSide, pairSides, referenceSide } from '../judge/inputs';
import { OpenAiJudgeProvider } from '../judge/openaiProvider';
import { ReferenceJudge, type MatchMode } from '../judge/referenceJudge';
import { DEFAULT_RETRY } from '../judge/retry';
import { RECORDS_FILE } from '../judge/store';
import { loadTemplateFile } from '../judge/template';
import type { JudgeProvider, JudgeSummary } from '../judge/types';

export const JUDGE_USAGE = `usage: sft-studio judge --a A.jsonl|RUN_DIR (--b B.jsonl|RUN_DIR | --vs-reference)
                       (--base-url URL --model M | --reference [--match normalized|exact])
                       --out DIR [options]

Judges every prompt the two sides share, once with A shown first and once with B shown first;
disagreeing orders count as a tie. A side is a run directory (its generation events at one step)
or a JSONL file of {"id", "prompt", "completion", "reference"?}.

  --a, --b PATH          the two sides; --vs-reference compares A with its own reference answers
  --step N               generation step of run directories (default: each run's last)
  --a-step N, --b-step N the step for one side (e.g. step 0 against the last step of the same run)
  --base-url URL         OpenAI-compatible endpoint, e.g. https://api.openai.com/v1
  --model M              judge model; the API key is read from OPENAI_API_KEY
  --reference            judge without a model: the answer matching the reference wins
  --match MODE           reference matching: normalized (case, punctuation, spacing ignored; default) or exact
  --out DIR              output folder (results.jsonl, records.jsonl, summary.json); the same DIR resumes
  --concurrency N        calls in flight at once (default 4)
  --max-cost X           spend cap in money, like --max-tokens; needs --price-in and --price-out
  --price-in P           price per 1,000 input tokens
  --price-out P          price per 1,000 output tokens
  --max-tokens T         spend cap in input + output tokens: a call starts only if its estimated
                         prompt plus its reply limit still fits under T
  --max-output-tokens N  the judge's reply limit, sent with every request (default ${DEFAULT_MAX_OUTPUT_TOKENS})
  --timeout-ms MS        limit for one attempt of one call (default 60000)
  --retries N            retries after 429, 5xx and timeouts (default ${DEFAULT_RETRY.maxRetries})
  --retry-base-ms MS     first backoff delay, doubled per retry (default ${DEFAULT_RETRY.baseDelayMs})
  --template FILE        judge prompt with {{instruction}} {{answer_1}} {{answer_2}} {{reference}}
  --json                 end with the summary as one JSON line (the last line of stdout)

Exit status: 0 when every call has a verdict or the spend cap stopped the run, 1 when calls ended in
errors or the run stopped on an error, 2 when the arguments are wrong.
`;

const VALUE_FLAGS = [
  'a',
  'b',
  'step',
  'a-step',
  'b-step',
  'base-url',
  'model',
  'match',
  'out',
  'concurrency',
  'max-cost',
  'price-in',
  'price-out',
  'max-tokens',
  'max-output-tokens',
  'timeout-ms',
  'retries',
  'retry-base-ms',
  'template',
] as const;
const SWITCHES = ['reference', 'vs-reference', 'json', 'help'] as const;
type ValueFlag = (typeof VALUE_FLAGS)[number];
type Switch = (typeof SWITCHES)[number];

interface ParsedArgs {
  values: Partial<Record<ValueFlag, string>>;
  switches: Set<Switch>;
}

function parseArgs(argv: readonly string[]): ParsedArgs {
  const values: Partial<Record<ValueFlag, string>> = {};
  const switches = new Set<Switch>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h') {
      switches.add('help');
      continue;
    }
    if (!arg.startsWith('--')) throw new JudgeInputError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    if ((SWITCHES as readonly string[]).includes(name)) {
      if (eq !== -1) throw new JudgeInputError(`--${name} takes no value`);
      switches.add(name as Switch);
    } else if ((VALUE_FLAGS as readonly string[]).includes(name)) {
      const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
      if (value === undefined || (eq === -1 && value.startsWith('--'))) throw new JudgeInputError(`--${name} needs a value`);
      values[name as ValueFlag] = value;
    } else {
      throw new JudgeInputError(`unknown option --${name}`);
    }
  }
  return { values, switches };
}

function numberFlag(
  values: ParsedArgs['values'],
  name: ValueFlag,
  check: { integer?: boolean; min: number },
): number | undefined {
  const text = values[name];
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < check.min || (check.integer && !Number.isInteger(value))) {
    const kind = check.integer ? 'an integer' : 'a number';
    throw new JudgeInputError(`--${name} must be ${kind} ≥ ${check.min}, got "${text}"`);
  }
  return value;
}

function budgetFlags(values: ParsedArgs['values']): JudgeBudget {
  const budget: JudgeBudget = {};
  const maxCost = numberFlag(values, 'max-cost', { min: 0 });
  const priceIn = numberFlag(values, 'price-in', { min: 0 });
  const priceOut = numberFlag(values, 'price-out', { min: 0 });
  const maxTokens = numberFlag(values, 'max-tokens', { integer: true, min: 1 });
  if (maxCost !== undefined && (priceIn === undefined || priceOut === undefined)) {
    throw new JudgeInputError('--max-cost needs --price-in and --price-out (prices per 1,000 tokens)');
  }
  if (maxCost !== undefined) budget.maxCost = maxCost;
  if (priceIn !== undefined) budget.pricePer1kInput = priceIn;
  if (priceOut !== undefined) budget.pricePer1kOutput = priceOut;
  if (maxTokens !== undefined) budget.maxTokens = maxTokens;
  return budget;
}

function formatRate(value: number | null): string {
  return value === null ? 'n/a' : value.toFixed(3);
}

function humanSummary(summary: JudgeSummary, outDir: string): string {
  const lines = [
    `A ${summary.a}  vs  B ${summary.b}  (judge ${summary.judge})`,
    `wins ${summary.wins} · ties ${summary.ties} · losses ${summary.losses} over ${summary.prompts} prompts (${summary.inconsistent} inconsistent)`,
    `win rate ${formatRate(summary.win_rate)}  95% CI [${formatRate(summary.ci_low)}, ${formatRate(summary.ci_high)}]`,
    `consistency ${formatRate(summary.consistency)} · position bias ${formatRate(summary.position_bias)}`,
    `calls ${summary.calls} · errors ${summary.errors} · resumed ${summary.resumed} · tokens ${summary.input_tokens} in / ${summary.output_tokens} out` +
      (summary.cost !== undefined ? ` · cost ${summary.cost.toFixed(4)}` : ''),
  ];
  if (summary.stopped) lines.push(`stopped: ${summary.stopped}${summary.message ? ` — ${summary.message}` : ''}`);
  lines.push(`records ${path.join(outDir, RECORDS_FILE)}`);
  return `${lines.join('\n')}\n`;
}

const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/**
 * Runs `judge` with the arguments after the command name; resolves to the exit status.
 * `io` and `env` are injectable so tests read the output and supply the API key.
 */
export async function judgeCommand(
  argv: readonly string[],
  io: CliIo = processIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseArgs(argv);
  } catch (error) {
    io.err(`judge: ${(error as Error).message}\n\n${JUDGE_USAGE}`);
    return EXIT_INVALID;
  }
  if (args.switches.has('help')) {
    io.out(JUDGE_USAGE);
    return EXIT_OK;
  }
  const controller = new AbortController();
  const onSigint = () => {
    io.err('judge: stopping; run again with the same --out to resume\n');
    process.removeListener('SIGINT', onSigint);
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    return await judge(args, io, env, controller.signal);
  } catch (error) {
    if (error instanceof JudgeInputError) {
      io.err(`judge: ${error.message}\n`);
      return EXIT_INVALID;
    }
    if (error instanceof JudgeCallError) {
      io.err(`judge: ${error.message}\n`);
      return EXIT_FAILURE;
    }
    throw error;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

async function judge(args: ParsedArgs, io: CliIo, env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<number> {
  const { values, switches } = args;
  if (!values.a) throw new JudgeInputError('--a is required (a run directory or a JSONL file)');
  if (!values.out) throw new JudgeInputError('--out DIR is required (where results go; the same DIR resumes)');
  if (values.b !== undefined && switches.has('vs-reference')) throw new JudgeInputError('give either --b or --vs-reference, not both');
  if (values.b === undefined && !switches.has('vs-reference')) throw new JudgeInputError('--b is required (or --vs-reference)');
  const useReferenceJudge = switches.has('reference');
  if (useReferenceJudge && (values['base-url'] !== undefined || values.model !== undefined)) {
    throw new JudgeInputError('give either --reference or --base-url with --model, not both');
  }
  if (!useReferenceJudge && (!values['base-url'] || !values.model)) {
    throw new JudgeInputError('choose a judge: --base-url URL --model M, or --reference');
  }
  if (useReferenceJudge && switches.has('vs-reference')) {
    throw new JudgeInputError('--reference with --vs-reference would compare the references with themselves; give --b');
  }
  const match = values.match ?? 'normalized';
  if (match !== 'normalized' && match !== 'exact') throw new JudgeInputError(`--match must be normalized or exact, got "${match}"`);
  if (values.match !== undefined && !useReferenceJudge) throw new JudgeInputError('--match applies to --reference only');

  // Every flag is checked before any file is read, so a typo is reported first.
  const step = numberFlag(values, 'step', { integer: true, min: 0 });
  const stepA = numberFlag(values, 'a-step', { integer: true, min: 0 }) ?? step;
  const stepB = numberFlag(values, 'b-step', { integer: true, min: 0 }) ?? step;
  const concurrency = numberFlag(values, 'concurrency', { integer: true, min: 1 });
  const timeoutMs = numberFlag(values, 'timeout-ms', { min: 1 });
  const maxOutputTokens = numberFlag(values, 'max-output-tokens', { integer: true, min: 1 });
  if (maxOutputTokens !== undefined && useReferenceJudge) throw new JudgeInputError('--max-output-tokens applies to a model judge, not --reference');
  const budget = budgetFlags(values);
  const retry: { maxRetries?: number; baseDelayMs?: number } = {};
  const retries = numberFlag(values, 'retries', { integer: true, min: 0 });
  const retryBase = numberFlag(values, 'retry-base-ms', { min: 0 });
  if (retries !== undefined) retry.maxRetries = retries;
  if (retryBase !== undefined) retry.baseDelayMs = retryBase;
  const template = values.template !== undefined ? loadTemplateFile(values.template) : undefined;

  const a = loadSide(values.a, stepA);
  const b = values.b !== undefined ? loadSide(values.b, stepB) : referenceSide(a);
  const { pairs, onlyA, onlyB } = pairSides(a, b);
  for (const [side, ids] of [['A', onlyA], ['B', onlyB]] as const) {
    if (ids.length === 0) continue;
    const shown = ids.slice(0, 5).join(', ') + (ids.length > 5 ? ', …' : '');
    io.err(`judge: ${ids.length} prompt(s) only in ${side} are skipped: ${shown}\n`);
  }
  if (useReferenceJudge) {
    const missing = pairs.filter((p) => p.reference === undefined).length;
    if (missing === pairs.length) throw new JudgeInputError('--reference needs reference answers, and neither side has any');
    if (missing > 0) io.err(`judge: ${missing} prompt(s) have no reference; their calls will be errors\n`);
  }

  let provider: JudgeProvider;
  if (useReferenceJudge) {
    provider = new ReferenceJudge(match as MatchMode);
  } else {
    const apiKey = env.OPENAI_API_KEY;
    if (!apiKey) io.err('judge: OPENAI_API_KEY is not set; calling without an API key\n');
    provider = new OpenAiJudgeProvider({ baseURL: values['base-url'] as string, model: values.model as string, apiKey, maxOutputTokens });
  }

  const outDir = path.resolve(values.out);
  let lastReport = 0;
  const onProgress = (p: JudgeProgress) => {
    const now = Date.now();
    if (p.done < p.total && now - lastReport < 1000) return;
    lastReport = now;
    io.err(`judge: ${p.done}/${p.total} calls · ${p.resumed} resumed · ${p.errors} errors · ${p.usage.input_tokens + p.usage.output_tokens} tokens\n`);
  };

  const { summary } = await runJudge({
    pairs,
    provider,
    outDir,
    template,
    concurrency,
    timeoutMs,
    retry,
    budget,
    signal,
    labels: { a: a.label, b: b.label },
    onProgress,
  });
  io.out(humanSummary(summary, outDir));
  if (switches.has('json')) io.out(`${JSON.stringify(summary)}\n`);
  if (summary.stopped === 'error' || summary.stopped === 'aborted' || summary.errors > 0) return EXIT_FAILURE;
  return EXIT_OK;
}

/** The entry for the command table in src/cli/main.ts: `judge: () => require('./judgeCommand').judgeCliCommand`. */
export const judgeCliCommand: CliCommand = {
  usage: '--a A --b B (--base-url URL --model M | --reference) --out DIR [--json]',
  summary: 'pairwise judging of two runs or answer files, both orders, with a win rate and its 95% CI',
  run: (args, io) => judgeCommand(args, io),
};
