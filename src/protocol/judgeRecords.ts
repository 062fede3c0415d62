// The judge's files as the panel reads them (records.jsonl, summary.json) and the verdict vocabulary they
// use: data shapes only, shared by the judge engine (src/judge, which writes them), the judge panel's host
// and its app (webview/judge). Keys stay snake_case, like events.jsonl, so the files read the same from
// TypeScript, Python and jq.

/** The judge's answer: 1 or 2 picks the answer in that position, 0 means equivalent. */
export type Choice = 0 | 1 | 2;

/** Which answer was shown first: `ab` = A as answer 1, `ba` = B as answer 1. */
export type Order = 'ab' | 'ba';
export const ORDERS: readonly Order[] = ['ab', 'ba'];

/** A single-order verdict mapped back to the sides being compared. */
export type Winner = 'a' | 'b' | 'tie';

/** A prompt's result for side A after both orders are combined. */
export type Outcome = 'win' | 'tie' | 'loss';

/** One order of a prompt in records.jsonl. */
export interface OrderRecord {
  choice?: Choice;
  winner?: Winner;
  argument?: string;
  error?: string;
}

/** One line of records.jsonl: a prompt with both orders and the combined outcome for side A. */
export interface PromptRecord {
  prompt_id: string;
  prompt: string;
  reference?: string;
  answer_a: string;
  answer_b: string;
  /** Null until both orders have a verdict. */
  outcome: Outcome | null;
  /** Whether the two orders agree; null until both have a verdict. */
  consistent: boolean | null;
  ab: OrderRecord | null;
  ba: OrderRecord | null;
}
export type StopReason = 'budget' | 'aborted' | 'error';

/** summary.json and the CLI's `--json` line. Rates are fractions in [0, 1]; null when undefined (n = 0). */
export interface JudgeSummary {
  wins: number;
  ties: number;
  losses: number;
  /** Prompts whose two orders disagree (counted as ties). */
  inconsistent: number;
  /** Prompts with a verdict in both orders: the n of every rate below. */
  prompts: number;
  /** (wins + ½·ties) / prompts. */
  win_rate: number | null;
  /** 95% Wilson score interval on win_rate with n = prompts. */
  ci_low: number | null;
  ci_high: number | null;
  /** Share of prompts whose two orders agree. */
  consistency: number | null;
  /** Share of decisive single-order verdicts that picked the answer shown first. */
  position_bias: number | null;
  /** Single-order calls with a final result (verdict or error), this run and earlier ones. */
  calls: number;
  /** Calls whose final result is an error (never counted as a verdict). */
  errors: number;
  /** Calls whose result was read back from results.jsonl instead of asked again. */
  resumed: number;
  /** Prompts paired for judging (each needs two calls). */
  pairs: number;
  input_tokens: number;
  output_tokens: number;
  /** Spend under the configured prices, when prices were given. */
  cost?: number;
  stopped?: StopReason;
  /** Why the run stopped on an error. */
  message?: string;
  judge: string;
  a: string;
  b: string;
}
