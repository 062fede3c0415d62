// Runs a pairwise judgement: every prompt in both orders, a bounded number of calls in flight,
// retries with backoff, a per-call timeout, a spend cap, and a results log that makes a stopped or
// crashed run resume without asking again for any call that already has a verdict.
import { createHash } from 'node:crypto';
import { JudgeCallError, JudgeInputError } from './errors';
import { backoffDelayMs, DEFAULT_RETRY, sleep, type RetryPolicy } from './retry';
import { promptRecord, summarize, winnerOf, type PromptJudgement } from './stats';
import { ResultsLog, writeOutputs } from './store';
import { buildRequest, DEFAULT_TEMPLATE, validateTemplate } from './template';
import {
  ORDERS,
  type CallResult,
  type JudgePair,
  type JudgeProvider,
  type JudgeRequest,
  type JudgeSummary,
  type Order,
  type PromptRecord,
  type StopReason,
  type TokenUsage,
} from './types';

/** A spend cap; reaching it starts no new call (calls already in flight finish and are recorded). */
export interface JudgeBudget {
  /** Input plus output tokens. */
  maxTokens?: number;
  /** Money, priced with the two per-1,000-token prices below. */
  maxCost?: number;
  pricePer1kInput?: number;
  pricePer1kOutput?: number;
}

export interface JudgeRunOptions {
  pairs: readonly JudgePair[];
  provider: JudgeProvider;
  /** Output folder; an existing one is resumed. */
  outDir: string;
  /** Judge prompt with {{instruction}}, {{answer_1}}, {{answer_2}}, {{reference}}; DEFAULT_TEMPLATE if absent. */
  template?: string;
  /** Calls in flight at once (default 4). */
  concurrency?: number;
  /** Limit for one attempt of one call (default 60 s). */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  budget?: JudgeBudget;
  /** Aborting stops the run: in-flight calls are cancelled and not recorded, outputs are still written. */
  signal?: AbortSignal;
  /** Names of the two sides for the summary. */
  labels?: { a: string; b: string };
  onProgress?: (progress: JudgeProgress) => void;
}

export interface JudgeProgress {
  /** Single-order calls the run needs (2 × pairs). */
  total: number;
  /** Calls with a final result, resumed ones included. */
  done: number;
  resumed: number;
  errors: number;
  usage: TokenUsage;
  cost?: number;
  /** The call that just finished; absent on the first report. */
  last?: CallResult;
}

export interface JudgeRunResult {
  summary: JudgeSummary;
  records: PromptRecord[];
}

interface Task {
  pair: JudgePair;
  order: Order;
  request: JudgeRequest;
  key: string;
}

/**
 * Identifies one question to one judge; results are reused only under the same key. The order is
 * part of it because identical answers render the same prompt in both orders, and each order's
 * verdict maps back to the sides differently.
 */
export function callKey(providerId: string, order: Order, request: JudgeRequest): string {
  const material = JSON.stringify([providerId, order, request.prompt, request.answer1, request.answer2, request.reference ?? null]);
  return createHash('sha256').update(material).digest('hex').slice(0, 32);
}

export function costOf(usage: TokenUsage, budget: JudgeBudget | undefined): number | undefined {
  if (budget?.pricePer1kInput === undefined && budget?.pricePer1kOutput === undefined) return undefined;
  return (
    (usage.input_tokens / 1000) * (budget.pricePer1kInput ?? 0) + (usage.output_tokens / 1000) * (budget.pricePer1kOutput ?? 0)
  );
}

function checkOptions(options: JudgeRunOptions): void {
  if (options.pairs.length === 0) throw new JudgeInputError('nothing to judge: no prompt is present in both inputs');
  const seen = new Set<string>();
  for (const pair of options.pairs) {
    if (seen.has(pair.id)) throw new JudgeInputError(`prompt id "${pair.id}" appears twice; ids must be unique`);
    seen.add(pair.id);
  }
  const positive = (name: string, value: number | undefined) => {
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
      throw new JudgeInputError(`${name} must be a positive number, got ${value}`);
    }
  };
  positive('concurrency', options.concurrency);
  positive('timeoutMs', options.timeoutMs);
  positive('maxTokens', options.budget?.maxTokens);
  positive('maxCost', options.budget?.maxCost);
  const budget = options.budget;
  if (budget?.maxCost !== undefined && budget.pricePer1kInput === undefined && budget.pricePer1kOutput === undefined) {
    throw new JudgeInputError('a cost cap needs prices: give the input and output price per 1,000 tokens');
  }
  if (options.template !== undefined) validateTemplate(options.template);
}

/** One attempt's signal: aborts when the run stops or the attempt exceeds its time limit. */
function attemptSignal(runSignal: AbortSignal, timeoutMs: number) {
  const controller = new AbortController();
  let timedOut = false;
  const onRunAbort = () => controller.abort(runSignal.reason);
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`timed out after ${timeoutMs} ms`));
  }, timeoutMs);
  if (runSignal.aborted) onRunAbort();
  else runSignal.addEventListener('abort', onRunAbort, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    dispose: () => {
      clearTimeout(timer);
      runSignal.removeEventListener('abort', onRunAbort);
    },
  };
}

export async function runJudge(options: JudgeRunOptions): Promise<JudgeRunResult> {
  checkOptions(options);
  const { provider, budget } = options;
  const template = options.template ?? DEFAULT_TEMPLATE;
  const concurrency = Math.floor(options.concurrency ?? 4);
  const timeoutMs = options.timeoutMs ?? 60_000;
  const retry: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry };
  const runSignal = options.signal ?? new AbortController().signal;
  const log = new ResultsLog(options.outDir);

  const tasks: Task[] = options.pairs.flatMap((pair) =>
    ORDERS.map((order) => {
      const request = buildRequest(pair, order, template);
      return { pair, order, request, key: callKey(provider.id, order, request) };
    }),
  );
  const hasVerdict = (key: string) => {
    const result = log.get(key);
    return result !== undefined && result.error === undefined;
  };
  const pending = tasks.filter((task) => !hasVerdict(task.key));
  const resumed = tasks.length - pending.length;
  // Calls that ended in an error are asked again, so only verdicts count as done at the start.
  const finished = new Set(tasks.filter((t) => hasVerdict(t.key)).map((t) => t.key));

  let stopped: StopReason | undefined;
  let stopMessage: string | undefined;
  // Tokens of attempts whose call has not finished yet count against the cap at once, so parallel
  // workers do not all start while the first one's tokens are still unrecorded.
  const inFlight: TokenUsage = { input_tokens: 0, output_tokens: 0 };
  const budgetReached = (): boolean => {
    if (!budget) return false;
    const recorded = log.usage;
    const usage = {
      input_tokens: recorded.input_tokens + inFlight.input_tokens,
      output_tokens: recorded.output_tokens + inFlight.output_tokens,
    };
    if (budget.maxTokens !== undefined && usage.input_tokens + usage.output_tokens >= budget.maxTokens) return true;
    return budget.maxCost !== undefined && (costOf(usage, budget) ?? 0) >= budget.maxCost;
  };
  const mayStartCall = (): boolean => {
    if (stopped) return false;
    if (runSignal.aborted) stopped = 'aborted';
    else if (budgetReached()) stopped = 'budget';
    return stopped === undefined;
  };

  const progress = (last?: CallResult) => {
    if (!options.onProgress) return;
    const usage = log.usage;
    const errors = tasks.filter((t) => log.get(t.key)?.error !== undefined).length;
    const report: JudgeProgress = { total: tasks.length, done: finished.size, resumed, errors, usage };
    const cost = costOf(usage, budget);
    if (cost !== undefined) report.cost = cost;
    if (last) report.last = last;
    options.onProgress(report);
  };

  /**
   * Asks one call until it has a verdict or a final error; undefined when the run stopped first.
   * Every attempt's tokens go into `usage` (and the in-flight total) as they are reported.
   */
  const call = async (task: Task, usage: TokenUsage): Promise<CallResult | undefined> => {
    const addUsage = (more: TokenUsage | undefined) => {
      if (!more) return;
      usage.input_tokens += more.input_tokens;
      usage.output_tokens += more.output_tokens;
      if (more.estimated) usage.estimated = true;
      inFlight.input_tokens += more.input_tokens;
      inFlight.output_tokens += more.output_tokens;
    };
    const base = { v: 1 as const, prompt_id: task.pair.id, order: task.order, key: task.key };
    let attempts = 0;
    let transientRetries = 0;
    let invalidRetries = 0;
    for (;;) {
      attempts++;
      const attempt = attemptSignal(runSignal, timeoutMs);
      let failure: JudgeCallError;
      try {
        const verdict = await provider.judge(task.request, attempt.signal);
        addUsage(verdict.usage);
        if (verdict.choice !== 0 && verdict.choice !== 1 && verdict.choice !== 2) {
          throw new JudgeCallError(`choice out of range: ${JSON.stringify(verdict.choice)}`, 'invalid');
        }
        return {
          ...base,
          time: Date.now() / 1000,
          choice: verdict.choice,
          winner: winnerOf(task.order, verdict.choice),
          argument: verdict.argument,
          usage: { ...usage },
          attempts,
        };
      } catch (error) {
        if (runSignal.aborted) {
          stopped ??= 'aborted';
          return undefined;
        }
        if (attempt.timedOut()) {
          failure = new JudgeCallError(`timed out after ${timeoutMs} ms`, 'transient');
        } else if (error instanceof JudgeCallError) {
          failure = error;
          addUsage(error.options.usage);
        } else {
          failure = new JudgeCallError(error instanceof Error ? error.message : String(error), 'rejected');
        }
      } finally {
        attempt.dispose();
      }
      if (failure.kind === 'fatal') {
        if (!stopped) {
          stopped = 'error';
          stopMessage = failure.message;
        }
        return undefined;
      }
      const retryable =
        (failure.kind === 'transient' && transientRetries < retry.maxRetries) ||
        (failure.kind === 'invalid' && invalidRetries < 1);
      const failed = (message: string): CallResult => ({
        ...base,
        time: Date.now() / 1000,
        error: message,
        usage: { ...usage },
        attempts,
      });
      if (!retryable) return failed(failure.message);
      if (failure.kind === 'invalid') {
        invalidRetries++;
      } else {
        await sleep(backoffDelayMs(retry, transientRetries, failure.options.retryAfterMs), runSignal);
        transientRetries++;
      }
      // A retry is a new call: none once the run is stopping. The failed attempt is still recorded
      // (its tokens were spent); a resumed run asks this call again.
      if (!mayStartCall()) return stopped === 'aborted' ? undefined : failed(`${failure.message} (not retried: ${stopped})`);
    }
  };

  let next = 0;
  const worker = async () => {
    while (next < pending.length && mayStartCall()) {
      const task = pending[next++];
      const usage: TokenUsage = { input_tokens: 0, output_tokens: 0 };
      const result = await call(task, usage);
      // Record before releasing the in-flight tokens, so the budget never sees them missing.
      if (result) {
        log.append(result);
        finished.add(task.key);
      }
      inFlight.input_tokens -= usage.input_tokens;
      inFlight.output_tokens -= usage.output_tokens;
      if (result) progress(result);
    }
  };
  progress();
  await Promise.all(Array.from({ length: Math.min(concurrency, pending.length) }, worker));

  const judgements: PromptJudgement[] = options.pairs.map((pair) => {
    const [ab, ba] = tasks.filter((t) => t.pair === pair).map((t) => log.get(t.key));
    return { pair, ab, ba };
  });
  const records = judgements.map(promptRecord);
  const usage = log.usage;
  const summary: JudgeSummary = {
    ...summarize(judgements),
    resumed,
    pairs: options.pairs.length,
    input_tokens: usage.input_tokens,
    output_tokens: usage.output_tokens,
    judge: provider.id,
    a: options.labels?.a ?? 'a',
    b: options.labels?.b ?? 'b',
  };
  const cost = costOf(usage, budget);
  if (cost !== undefined) summary.cost = cost;
  if (stopped) summary.stopped = stopped;
  if (stopMessage) summary.message = stopMessage;
  writeOutputs(options.outDir, records, summary);
  return { summary, records };
}
