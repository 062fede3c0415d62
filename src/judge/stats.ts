// Statistics of a pairwise judgement, as pure functions of the per-order results.
//
// Protocol. Every prompt is judged twice, A shown first (`ab`) and B shown first (`ba`), because
// LLM judges prefer a position. Each verdict is mapped back to A/B. If the orders agree, that is
// the prompt's outcome; if they disagree, the prompt is a tie and counts as inconsistent. An
// explicit 0 (equivalent) is a tie, and two explicit ties agree.
//
// Win rate. Adjusted win rate p = (wins + ½·ties) / n, n = prompts with a verdict in both orders.
//
// Interval. 95% Wilson score interval on p with n = prompts (z = 1.959964):
//     centre    = (p + z²/(2n)) / (1 + z²/n)
//     half-width = z / (1 + z²/n) · √( p(1−p)/n + z²/(4n²) )
// Wilson rather than the normal (Wald) interval because n is small (tens of held-out prompts) and p is
// often near 0 or 1, where Wald collapses to zero width or leaves [0, 1]; Wilson stays inside [0, 1]
// and keeps close to its nominal coverage. Treating ½-ties as half a success makes the interval
// slightly conservative (ties have less variance than a coin flip), which is the safe side.
//
// Position bias = first-position picks / decisive single-order verdicts (choice 1 or 2) over the
// prompts counted in n. 0.5 is an unbiased judge; 1 always picks the answer shown first.
import type { Choice, JudgeSummary, Order, OrderRecord, Outcome, PromptRecord, Winner } from './types';
import type { CallResult, JudgePair } from './types';

export const Z_95 = 1.959963984540054;

/** The side a single-order choice picks. */
export function winnerOf(order: Order, choice: Choice): Winner {
  if (choice === 0) return 'tie';
  const firstShown: Winner = order === 'ab' ? 'a' : 'b';
  const secondShown: Winner = order === 'ab' ? 'b' : 'a';
  return choice === 1 ? firstShown : secondShown;
}

/** Combines both orders' winners into A's outcome; disagreement is a tie and inconsistent. */
export function combineOrders(ab: Winner, ba: Winner): { outcome: Outcome; consistent: boolean } {
  if (ab !== ba) return { outcome: 'tie', consistent: false };
  return { outcome: ab === 'a' ? 'win' : ab === 'b' ? 'loss' : 'tie', consistent: true };
}

/** 95% (by default) Wilson score interval for proportion p over n trials; null for n = 0. */
export function wilsonInterval(p: number, n: number, z: number = Z_95): [number, number] | null {
  if (n <= 0) return null;
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denominator;
  const half = (z / denominator) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

export interface PromptJudgement {
  pair: JudgePair;
  ab?: CallResult;
  ba?: CallResult;
}

function toOrderRecord(result: CallResult | undefined): OrderRecord | null {
  if (!result) return null;
  if (result.error !== undefined) return { error: result.error };
  return { choice: result.choice, winner: result.winner, argument: result.argument };
}

function isVerdict(result: CallResult | undefined): result is CallResult & { choice: Choice; winner: Winner } {
  return result !== undefined && result.error === undefined && result.choice !== undefined && result.winner !== undefined;
}

/** The per-prompt record written to records.jsonl. */
export function promptRecord(judgement: PromptJudgement): PromptRecord {
  const { pair, ab, ba } = judgement;
  const combined = isVerdict(ab) && isVerdict(ba) ? combineOrders(ab.winner, ba.winner) : null;
  return {
    prompt_id: pair.id,
    prompt: pair.prompt,
    ...(pair.reference !== undefined ? { reference: pair.reference } : {}),
    answer_a: pair.a,
    answer_b: pair.b,
    outcome: combined?.outcome ?? null,
    consistent: combined?.consistent ?? null,
    ab: toOrderRecord(ab),
    ba: toOrderRecord(ba),
  };
}

export type JudgeCounts = Pick<
  JudgeSummary,
  | 'wins'
  | 'ties'
  | 'losses'
  | 'inconsistent'
  | 'prompts'
  | 'win_rate'
  | 'ci_low'
  | 'ci_high'
  | 'consistency'
  | 'position_bias'
  | 'calls'
  | 'errors'
>;

/** Counts and rates over all judgements; a prompt enters n only when both orders have a verdict. */
export function summarize(judgements: readonly PromptJudgement[]): JudgeCounts {
  let wins = 0;
  let ties = 0;
  let losses = 0;
  let inconsistent = 0;
  let prompts = 0;
  let decisive = 0;
  let firstPicked = 0;
  let calls = 0;
  let errors = 0;
  for (const { ab, ba } of judgements) {
    for (const result of [ab, ba]) {
      if (!result) continue;
      calls++;
      if (result.error !== undefined) errors++;
    }
    if (!isVerdict(ab) || !isVerdict(ba)) continue;
    prompts++;
    const { outcome, consistent } = combineOrders(ab.winner, ba.winner);
    if (outcome === 'win') wins++;
    else if (outcome === 'loss') losses++;
    else ties++;
    if (!consistent) inconsistent++;
    for (const { choice } of [ab, ba]) {
      if (choice === 0) continue;
      decisive++;
      if (choice === 1) firstPicked++;
    }
  }
  const winRate = prompts > 0 ? (wins + ties / 2) / prompts : null;
  const interval = winRate === null ? null : wilsonInterval(winRate, prompts);
  return {
    wins,
    ties,
    losses,
    inconsistent,
    prompts,
    win_rate: winRate,
    ci_low: interval?.[0] ?? null,
    ci_high: interval?.[1] ?? null,
    consistency: prompts > 0 ? (prompts - inconsistent) / prompts : null,
    position_bias: decisive > 0 ? firstPicked / decisive : null,
    calls,
    errors,
  };
}
