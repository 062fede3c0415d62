// The spend cap, enforced before a call starts. Counting tokens only when calls return lets every
// worker start at once while the total still reads zero (a cap of 1,000 tokens at concurrency 32
// spent 32,000). Instead each attempt reserves what it may cost — its prompt's estimate plus the
// reply's token limit — and the reservation is settled to what the server reported when it returns.
import type { TokenUsage } from './types';

/** A spend cap; a call starts only when its reservation fits under it. */
export interface JudgeBudget {
  /** Input plus output tokens. */
  maxTokens?: number;
  /** Money, priced with the two per-1,000-token prices below. */
  maxCost?: number;
  pricePer1kInput?: number;
  pricePer1kOutput?: number;
}

export function costOf(usage: TokenUsage, budget: JudgeBudget | undefined): number | undefined {
  if (budget?.pricePer1kInput === undefined && budget?.pricePer1kOutput === undefined) return undefined;
  return (
    (usage.input_tokens / 1000) * (budget.pricePer1kInput ?? 0) + (usage.output_tokens / 1000) * (budget.pricePer1kOutput ?? 0)
  );
}

/** Tokens held for one attempt until it settles. */
export interface Reservation {
  /** The provider's estimate, before calibration. */
  readonly estimate: TokenUsage;
  /** What is held against the cap: the estimate scaled by what earlier replies showed. */
  readonly held: TokenUsage;
  settled: boolean;
}

const add = (a: TokenUsage, b: TokenUsage): TokenUsage => ({
  input_tokens: a.input_tokens + b.input_tokens,
  output_tokens: a.output_tokens + b.output_tokens,
});

export class SpendLedger {
  private spent: TokenUsage;
  private reserved: TokenUsage = { input_tokens: 0, output_tokens: 0 };
  private open = 0;
  /**
   * Estimates (4 characters ≈ 1 token) undercount some text, e.g. code or non-Latin scripts. Once a
   * server reports more than was estimated, later reservations grow by the same ratio, so the cap
   * holds after the first surprise instead of drifting by it on every call.
   */
  private scale = { input: 1, output: 1 };
  /**
   * Whether a reply has shown how the estimates compare with the server's count. Until one has,
   * a capped run keeps one attempt in flight: if the estimates undercount, only that one attempt
   * can pass the cap, not a whole first wave of them.
   */
  private calibrated = false;
  private waiters: (() => void)[] = [];

  /** `spent`: what earlier runs in the same folder already used; the cap covers it too. */
  constructor(
    private readonly budget: JudgeBudget | undefined,
    spent: TokenUsage,
  ) {
    this.spent = { input_tokens: spent.input_tokens, output_tokens: spent.output_tokens };
  }

  /** Attempts holding a reservation now. */
  get inFlight(): number {
    return this.open;
  }

  /** Spent plus reserved: the most this run can have cost once everything in flight returns. */
  get committed(): TokenUsage {
    return add(this.spent, this.reserved);
  }

  /** Holds the attempt's estimated cost; undefined when it would take the total past the cap. */
  tryReserve(estimate: TokenUsage): Reservation | undefined {
    const held = {
      input_tokens: Math.ceil(estimate.input_tokens * this.scale.input),
      output_tokens: Math.ceil(estimate.output_tokens * this.scale.output),
    };
    const free = held.input_tokens + held.output_tokens === 0;
    if (this.capped && !this.calibrated && this.open > 0 && !free) return undefined;
    if (!this.fits(add(this.committed, held))) return undefined;
    this.reserved = add(this.reserved, held);
    this.open++;
    return { estimate, held, settled: false };
  }

  /**
   * Replaces a reservation with what the attempt actually used (the held amount when the usage is
   * unknown, e.g. a timed-out request the server may still bill) and wakes workers waiting for room.
   * `measured`: the usage comes from a reply the server counted (a verdict or an unusable answer),
   * so it can calibrate the estimates; a refused request that cost nothing cannot.
   */
  settle(reservation: Reservation, actual: TokenUsage | undefined, measured = actual !== undefined): void {
    if (reservation.settled) return;
    reservation.settled = true;
    this.reserved = {
      input_tokens: this.reserved.input_tokens - reservation.held.input_tokens,
      output_tokens: this.reserved.output_tokens - reservation.held.output_tokens,
    };
    this.open--;
    this.spent = add(this.spent, actual ?? reservation.held);
    if (actual && measured) {
      // A server that reports no usage leaves only the estimates to go by: nothing to scale.
      if (!actual.estimated) this.calibrate(reservation.estimate, actual);
      this.calibrated = true;
    }
    this.wake();
  }

  /** Resolves at the next settle (when a reservation that did not fit may fit) or wake. */
  nextSettle(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Releases everyone waiting for room, e.g. because the run is stopping and nothing will settle. */
  wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }

  private calibrate(estimate: TokenUsage, actual: TokenUsage): void {
    if (estimate.input_tokens > 0) this.scale.input = Math.max(this.scale.input, actual.input_tokens / estimate.input_tokens);
    if (estimate.output_tokens > 0) this.scale.output = Math.max(this.scale.output, actual.output_tokens / estimate.output_tokens);
  }

  private get capped(): boolean {
    return this.budget?.maxTokens !== undefined || this.budget?.maxCost !== undefined;
  }

  private fits(total: TokenUsage): boolean {
    const budget = this.budget;
    if (!budget) return true;
    if (budget.maxTokens !== undefined && total.input_tokens + total.output_tokens > budget.maxTokens) return false;
    return budget.maxCost === undefined || (costOf(total, budget) ?? 0) <= budget.maxCost;
  }
}
