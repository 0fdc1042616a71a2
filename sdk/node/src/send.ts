import { NetworkError, TimeoutError } from './errors';
import { DEFAULT_RETRY, RETRYABLE, RetryPolicy, retryAfterMs, retryDelayMs, sleep } from './retry';
import type { TokenSource } from './tokens';

/** Counters of what a client did, for programs that watch it (and tests). */
export interface Stats {
  tokensFetched: number;
  renewalsAfter401: number;
  retries: number;
}

/** How requests travel: the fetch to use, each request's timeout, the retry policy, the counters. */
export interface Transport {
  fetch: typeof fetch;
  timeoutMs: number;
  retry: RetryPolicy;
  stats: Stats;
}

export interface TransportOptions {
  /** The fetch to send with (default: the global fetch). */
  fetch?: typeof fetch;
  /** Per-request timeout (default 30 000 ms). */
  timeoutMs?: number;
  /** Retries of 429, 5xx and connection failures (defaults in DEFAULT_RETRY). */
  retry?: Partial<RetryPolicy>;
}

export function transport(options: TransportOptions = {}, stats?: Stats): Transport {
  return {
    fetch: options.fetch ?? ((input, init) => fetch(input, init)),
    timeoutMs: options.timeoutMs ?? 30_000,
    retry: { ...DEFAULT_RETRY, ...options.retry },
    stats: stats ?? { tokensFetched: 0, renewalsAfter401: 0, retries: 0 },
  };
}

/** Sends `request` once, within the timeout; never follows redirects (a token must not travel). */
export async function fetchOnce(t: Transport, request: Request): Promise<Response> {
  try {
    return await t.fetch(request, { redirect: 'manual', signal: AbortSignal.timeout(t.timeoutMs) });
  } catch (e) {
    const name = (e as { name?: string }).name;
    if (name === 'TimeoutError' || name === 'AbortError') throw new TimeoutError(request.url, t.timeoutMs);
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new NetworkError(request.url, cause?.code ?? cause?.message ?? String(e));
  }
}

/** How many times each response's request was sent (read by the named methods' errors). */
const attemptsOf = new WeakMap<Response, number>();

export function attempts(response: Response): number {
  return attemptsOf.get(response) ?? 1;
}

/**
 * The one rule for sending an API request: with the bearer token of `tokens`; once more with a
 * fresh token after a 401 (the token may have been revoked or expired early); again after 429,
 * 5xx and connection failures with backoff, waiting what Retry-After says when the API says it.
 * A timeout is retried only for idempotent methods (the API may have acted). Resolves with the
 * last response, whatever its status; rejects only when no response came.
 */
export async function sendAuthorized(request: Request, tokens: TokenSource, t: Transport): Promise<Response> {
  const idempotent = request.method !== 'POST' && request.method !== 'PATCH';
  let renewed = false;
  for (let attempt = 0; ; ) {
    const token = await tokens.token();
    const sent = request.clone();
    sent.headers.set('authorization', `Bearer ${token}`);
    if (!sent.headers.has('accept')) sent.headers.set('accept', 'application/json');
    let delay: number | undefined;
    try {
      const response = await fetchOnce(t, sent);
      attemptsOf.set(response, attempt + 1);
      if (response.status === 401 && !renewed && tokens.discard(token)) {
        renewed = true;
        t.stats.renewalsAfter401++;
        await response.body?.cancel();
        continue;
      }
      if (!RETRYABLE.has(response.status) || attempt >= t.retry.maxRetries) return response;
      delay = retryDelayMs(t.retry, attempt, retryAfterMs(response.headers.get('retry-after')));
      if (delay === undefined) return response;
      await response.body?.cancel();
    } catch (e) {
      if (!(e instanceof NetworkError || e instanceof TimeoutError)) throw e;
      // A connection failure never reached the API; a timeout may have.
      if (attempt >= t.retry.maxRetries || (e instanceof TimeoutError && !idempotent)) throw e;
      delay = retryDelayMs(t.retry, attempt, undefined)!;
    }
    attempt++;
    t.stats.retries++;
    await sleep(delay);
  }
}
