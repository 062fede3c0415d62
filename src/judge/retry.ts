// Backoff for rate limits and server errors. Kept separate from the engine so the arithmetic is
// testable without a server.

export interface RetryPolicy {
  /** Retries after a transient failure (429, 5xx, network, timeout). */
  maxRetries: number;
  /** First backoff delay; doubles per retry. Tests set it to a few milliseconds. */
  baseDelayMs: number;
  /** Ceiling for any wait, Retry-After included, so a server cannot park the run for hours. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxRetries: 4, baseDelayMs: 1000, maxDelayMs: 60_000 };

interface HeaderSource {
  get(name: string): string | null;
}

/**
 * The wait a server asks for: `retry-after-ms` (OpenAI's extension, milliseconds) or `Retry-After`
 * as delta-seconds or an HTTP date (RFC 9110 §10.2.3). Undefined when absent or unreadable.
 */
export function retryAfterMs(headers: HeaderSource | undefined | null, now: number = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && /^\s*\d+(\.\d+)?\s*$/.test(ms)) return Number(ms);
  const value = headers.get('retry-after');
  if (value === null) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/**
 * Delay before retry number `retry` (0-based): the server's Retry-After when given, else
 * base·2^retry with equal jitter (half fixed, half random) so parallel workers spread out; both capped.
 */
export function backoffDelayMs(
  policy: RetryPolicy,
  retry: number,
  serverWaitMs?: number,
  random: () => number = Math.random,
): number {
  if (serverWaitMs !== undefined) return Math.min(policy.maxDelayMs, Math.max(0, serverWaitMs));
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return exponential / 2 + (random() * exponential) / 2;
}

/** Resolves after `ms`, or early (without throwing) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
