import type { TokenUsage } from './types';

/**
 * How the engine treats a failed call:
 * - `transient`: rate limit, server error, network failure or timeout; retried with backoff.
 * - `invalid`: the judge answered but not with a usable choice; retried once, then an error.
 * - `rejected`: the server refused this request (e.g. 400 after every fallback); an error at once.
 * - `fatal`: no call can succeed (bad key, unknown model, no permission); the run stops.
 */
export type JudgeErrorKind = 'transient' | 'invalid' | 'rejected' | 'fatal';

export class JudgeCallError extends Error {
  constructor(
    message: string,
    readonly kind: JudgeErrorKind,
    readonly options: { retryAfterMs?: number; usage?: TokenUsage; status?: number } = {},
  ) {
    super(message);
    this.name = 'JudgeCallError';
  }
}

/** An error a user can fix (bad flag, missing file); the CLI prints its message alone. */
export class JudgeInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JudgeInputError';
  }
}
