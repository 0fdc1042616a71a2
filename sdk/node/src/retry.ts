/** When and how long to wait before sending a request again. */
export interface RetryPolicy {
  /** Retries of 429, 5xx and connection failures after the first attempt (default 4). */
  maxRetries: number;
  /** The first backoff, doubled each retry (default 250 ms), capped at maxDelayMs (default 20 000 ms). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** The longest Retry-After honoured (default 60 000 ms); a longer one fails at once. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxRetries: 4, baseDelayMs: 250, maxDelayMs: 20_000, maxRetryAfterMs: 60_000 };

/** The statuses worth sending again: the server was busy or failed, not the request. */
export const RETRYABLE = new Set([429, 500, 502, 503, 504]);

/** Retry-After (RFC 9110 §10.2.3) in milliseconds: delay-seconds or an HTTP date. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * The wait before retry number attempt+1: Retry-After (never less, up to 10 % more), or
 * exponential backoff jittered into its upper half. Undefined when Retry-After asks for longer
 * than the policy waits.
 */
export function retryDelayMs(
  policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs' | 'maxRetryAfterMs'>,
  attempt: number,
  retryAfter: number | undefined,
): number | undefined {
  if (retryAfter !== undefined) {
    if (retryAfter > policy.maxRetryAfterMs) return undefined;
    return retryAfter + retryAfter * 0.1 * Math.random() + 5;
  }
  const full = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(attempt, 30));
  return full * (0.5 + 0.5 * Math.random());
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
