// Shapes shared by the judge engine, its providers, the CLI and (later) the judge panel.
// Objects written to disk (results.jsonl, records.jsonl, summary.json) keep snake_case keys, like
// events.jsonl, so the files read the same from TypeScript, Python and jq.

/** The judge's answer: 1 or 2 picks the answer in that position, 0 means equivalent. */
export type Choice = 0 | 1 | 2;

/** Which answer was shown first: `ab` = A as answer 1, `ba` = B as answer 1. */
export type Order = 'ab' | 'ba';
export const ORDERS: readonly Order[] = ['ab', 'ba'];

/** A single-order verdict mapped back to the sides being compared. */
export type Winner = 'a' | 'b' | 'tie';

/** A prompt's result for side A after both orders are combined. */
export type Outcome = 'win' | 'tie' | 'loss';

export interface TokenUsage {
  input_tokens: number;
  output_tokens: number;
  /** True when the server reported no usage and the counts are estimated from text length (4 chars ≈ 1 token). */
  estimated?: boolean;
}

export const NO_USAGE: TokenUsage = { input_tokens: 0, output_tokens: 0 };

/** One question to the judge: an instruction and two answers in the positions they are shown. */
export interface JudgeRequest {
  instruction: string;
  answer1: string;
  answer2: string;
  reference?: string;
  /** The judge prompt: the template rendered with the fields above. */
  prompt: string;
}

export interface JudgeVerdict {
  choice: Choice;
  argument: string;
  usage: TokenUsage;
}

export interface JudgeProvider {
  /**
   * Names the judge (kind, model, endpoint). It is part of every cached result's key, so a
   * different judge never reuses another's verdicts.
   */
  readonly id: string;
  /** Throws a JudgeCallError to say whether the failure is worth retrying. */
  judge(request: JudgeRequest, signal: AbortSignal): Promise<JudgeVerdict>;
  /**
   * The most one attempt may cost: the prompt's estimated tokens and the reply's token limit. The
   * engine reserves it against the spend cap before the attempt starts. Absent: the prompt's
   * estimate plus DEFAULT_MAX_OUTPUT_TOKENS.
   */
  estimateUsage?(request: JudgeRequest): TokenUsage;
}

/** A prompt with the answers of the two sides under comparison. */
export interface JudgePair {
  id: string;
  prompt: string;
  a: string;
  b: string;
  reference?: string;
}

/** One line of results.jsonl: the final result of one single-order call (a verdict or an error). */
export interface CallResult {
  v: 1;
  prompt_id: string;
  order: Order;
  /** Hash of the judge id and the exact prompt; a resumed run reuses a result only when it matches. */
  key: string;
  /** Unix seconds. */
  time: number;
  /** Raw choice in position terms (1 = the answer shown first). Absent on errors. */
  choice?: Choice;
  winner?: Winner;
  argument?: string;
  error?: string;
  /** Tokens of every attempt of this call, failed ones included. */
  usage: TokenUsage;
  attempts: number;
}

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
