// Shapes shared by the judge engine, its providers and the CLI. Objects written to disk keep snake_case
// keys, like events.jsonl; the ones the judge panel also reads (records, summary, verdict vocabulary)
// live in protocol/judgeRecords.ts and are re-exported here.
import type { Choice, Order, Winner } from '../protocol/judgeRecords';

export { ORDERS } from '../protocol/judgeRecords';
export type { Choice, JudgeSummary, Order, OrderRecord, Outcome, PromptRecord, StopReason, Winner } from '../protocol/judgeRecords';

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


