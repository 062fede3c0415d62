// Runs a pairwise judgement: every prompt in both orders, a bounded number of calls in flight,
// retries with backoff, a per-call timeout, a spend cap, and a results log that makes a stopped or
// crashed run resume without asking again for any call that already has a verdict.
import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { costOf, SpendLedger, type JudgeBudget, type Reservation } from './budget';
import { DEFAULT_MAX_OUTPUT_TOKENS, estimateAttempt } from './choice';
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

export { costOf, type JudgeBudget } from './budget';

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
  // Each call in flight listens on the run's signal (its attempt's abort, its backoff), so a high
  // concurrency is expected to pass Node's leak warning of 10 listeners.
  setMaxListeners(Math.max(10, 2 * concurrency + 2), runSignal);
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
  const ledger = new SpendLedger(budget, log.usage);
  // Workers waiting for room must not outlive a stop: nothing would ever settle to wake them.
  const wakeOnAbort = () => ledger.wake();
  runSignal.addEventListener('abort', wakeOnAbort, { once: true });
  const estimate = (task: Task): TokenUsage =>
    provider.estimateUsage?.(task.request) ?? estimateAttempt(task.request.prompt, DEFAULT_MAX_OUTPUT_TOKENS);

  /**
   * Holds the tokens one attempt may cost, waiting while calls in flight may still free some;
   * undefined once the run stops (aborted, or the attempt cannot fit even with nothing in flight).
   */
  const reserve = async (task: Task): Promise<Reservation | undefined> => {
    for (;;) {
      if (stopped) return undefined;
      if (runSignal.aborted) {
        stopped = 'aborted';
        return undefined;
      }
      const held = ledger.tryReserve(estimate(task));
      if (held) return held;
      if (ledger.inFlight === 0) {
        stopped = 'budget';
        ledger.wake();
        return undefined;
      }
      await ledger.nextSettle();
    }
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
   * `first` is the reservation the first attempt runs under; each retry reserves its own.
   */
  const call = async (task: Task, first: Reservation): Promise<CallResult | undefined> => {
    const usage: TokenUsage = { input_tokens: 0, output_tokens: 0 };
    const addUsage = (more: TokenUsage) => {
      usage.input_tokens += more.input_tokens;
      usage.output_tokens += more.output_tokens;
      if (more.estimated) usage.estimated = true;
    };
    const base = { v: 1 as const, prompt_id: task.pair.id, order: task.order, key: task.key };
    let attempts = 0;
    let transientRetries = 0;
    let invalidRetries = 0;
    let held: Reservation = first;
    for (;;) {
      attempts++;
      const attempt = attemptSignal(runSignal, timeoutMs);
      let failure: JudgeCallError;
      // What this attempt cost: the server's count when it gave one; left unknown when the request
      // was cut off, and the ledger then keeps the whole reservation (a server may bill work it
      // finishes after the client gave up).
      let spent: TokenUsage | undefined;
      // Whether `spent` is the server's count for a reply, which tells how good the estimates are.
      let measured = false;
      try {
        const verdict = await provider.judge(task.request, attempt.signal);
        spent = verdict.usage;
        measured = true;
        if (verdict.choice !== 0 && verdict.choice !== 1 && verdict.choice !== 2) {
          throw new JudgeCallError(`choice out of range: ${JSON.stringify(verdict.choice)}`, 'invalid');
        }
        addUsage(spent);
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
          // Unknown: the ledger keeps what it held, and the record says it is an estimate.
          addUsage({ ...held.held, estimated: true });
        } else {
          failure =
            error instanceof JudgeCallError
              ? error
              : new JudgeCallError(error instanceof Error ? error.message : String(error), 'rejected');
          if (spent === undefined && failure.options.usage) {
            spent = failure.options.usage;
            measured = true;
          }
          spent ??= { input_tokens: 0, output_tokens: 0 };
          addUsage(spent);
        }
      } finally {
        attempt.dispose();
        ledger.settle(held, spent, measured);
      }
      if (failure.kind === 'fatal') {
        if (!stopped) {
          stopped = 'error';
          stopMessage = failure.message;
          ledger.wake();
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
      // A retry is a new call, with its own reservation: none once the run is stopping. The failed
      // attempt is still recorded (its tokens were spent); a resumed run asks this call again.
      const next = await reserve(task);
      if (!next) return stopped === 'aborted' ? undefined : failed(`${failure.message} (not retried: ${stopped})`);
      held = next;
    }
  };

  let next = 0;
  const worker = async () => {
    while (next < pending.length && !stopped) {
      const task = pending[next++];
      const held = await reserve(task);
      if (!held) break;
      const result = await call(task, held);
      if (result) {
        log.append(result);
        finished.add(task.key);
        progress(log.get(task.key));
      }
    }
  };
  progress();
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, pending.length) }, worker));
  } finally {
    runSignal.removeEventListener('abort', wakeOnAbort);
  }

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
  // What is written is what the caller gets: secrets already taken out of messages.
  return writeOutputs(options.outDir, records, summary);
}
