import { ApiError, AuthError, ConfigError, NetworkError, PaginationError, TesseraError, TimeoutError } from './errors';

/** Options of a client; anything not given is read from the environment. */
export interface ClientOptions {
  /** Default: `${envPrefix}_CLIENT_ID`. */
  clientId?: string;
  /** Default: `${envPrefix}_CLIENT_SECRET`. */
  clientSecret?: string;
  /** The API's base URL. Default: `${envPrefix}_API_URL`. */
  baseUrl?: string;
  /** The issuer; tokens come from `${issuer}/oauth2/token`. Default: `${envPrefix}_ISSUER`. */
  issuer?: string;
  /** The token endpoint, when it is not `${issuer}/oauth2/token`. */
  tokenUrl?: string;
  /** The scope to ask for (default: everything the client is registered for). */
  scope?: string;
  /** Per-request timeout (default 30 000 ms). */
  timeoutMs?: number;
  /** Retries of 429, 5xx and connection failures after the first attempt (default 4). */
  maxRetries?: number;
  /** The first backoff, doubled each retry (default 250 ms), capped at maxDelayMs (default 20 000 ms). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** The longest Retry-After honoured (default 60 000 ms); a longer one fails at once. */
  maxRetryAfterMs?: number;
  /** How long before expiry a cached token is replaced (default 30 000 ms, at most half its lifetime). */
  renewMarginMs?: number;
  /** The prefix of the environment variables (default `TESSERA`). */
  envPrefix?: string;
}

/** Counters of what the client did. */
export interface Stats {
  tokensFetched: number;
  renewalsAfter401: number;
  retries: number;
}

interface Settings {
  clientId: string;
  clientSecret: string;
  baseUrl: URL;
  tokenUrl: URL;
  scope?: string;
  timeoutMs: number;
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  maxRetryAfterMs: number;
  renewMarginMs: number;
}

function parseUrl(what: string, text: string): URL {
  try {
    const url = new URL(text.replace(/\/+$/, ''));
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
    return url;
  } catch {
    throw new ConfigError(`${what} ${JSON.stringify(text)} is not an http(s) URL`);
  }
}

function settings(options: ClientOptions): Settings {
  const prefix = options.envPrefix ?? 'TESSERA';
  const env = (name: string): string | undefined => {
    const value = process.env[`${prefix}_${name}`];
    return value === undefined || value === '' ? undefined : value;
  };
  const clientId = options.clientId ?? env('CLIENT_ID');
  const clientSecret = options.clientSecret ?? env('CLIENT_SECRET');
  if (!clientId || !clientSecret) {
    throw new ConfigError(`no credentials: pass clientId and clientSecret or set ${prefix}_CLIENT_ID and ${prefix}_CLIENT_SECRET`);
  }
  const base = options.baseUrl ?? env('API_URL');
  if (!base) throw new ConfigError(`no API URL: pass baseUrl or set ${prefix}_API_URL`);
  const issuer = options.issuer ?? env('ISSUER');
  const token = options.tokenUrl ?? (issuer ? `${issuer.replace(/\/+$/, '')}/oauth2/token` : undefined);
  if (!token) throw new ConfigError(`no issuer: pass issuer (or tokenUrl) or set ${prefix}_ISSUER`);
  return {
    clientId,
    clientSecret,
    baseUrl: parseUrl('the API URL', base),
    tokenUrl: parseUrl('the token URL', token),
    scope: options.scope,
    timeoutMs: options.timeoutMs ?? 30_000,
    maxRetries: options.maxRetries ?? 4,
    baseDelayMs: options.baseDelayMs ?? 250,
    maxDelayMs: options.maxDelayMs ?? 20_000,
    maxRetryAfterMs: options.maxRetryAfterMs ?? 60_000,
    renewMarginMs: options.renewMarginMs ?? 30_000,
  };
}

/** Retry-After (RFC 9110 §10.2.3) in milliseconds: delay-seconds or an HTTP date. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The wait before retry number attempt+1: Retry-After (never less, up to 10 % more) or jittered exponential backoff. */
export function retryDelayMs(
  policy: Pick<Settings, 'baseDelayMs' | 'maxDelayMs' | 'maxRetryAfterMs'>,
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

/** The target of a rel="next" link in a Link header (RFC 8288). */
export function nextLink(header: string | null): string | undefined {
  if (!header) return undefined;
  for (const link of header.split(',')) {
    const match = /^\s*<([^>]*)>\s*;(.*)$/.exec(link);
    if (!match) continue;
    const isNext = match[2].split(';').some((param) => {
      const [key, value] = param.split('=').map((s) => s.trim());
      return key?.toLowerCase() === 'rel' && (value ?? '').replace(/"/g, '').split(' ').includes('next');
    });
    if (isNext) return match[1];
  }
  return undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const RETRYABLE = new Set([429, 500, 502, 503, 504]);

interface CachedToken {
  token: string;
  renewAt: number;
}

async function errorBody(response: Response): Promise<{ error?: string; description?: string }> {
  try {
    const body = (await response.json()) as Record<string, unknown>;
    const error = typeof body.error === 'string' ? body.error : body.error === undefined ? undefined : JSON.stringify(body.error);
    const description =
      typeof body.error_description === 'string' ? body.error_description : typeof body.message === 'string' ? body.message : undefined;
    return { error, description };
  } catch {
    return {};
  }
}

/** The HTTP core shared by every named method: tokens, retries, pagination. */
export class HttpClient {
  private readonly settings: Settings;
  private cached?: CachedToken;
  private fetching?: Promise<CachedToken>;
  readonly stats: Stats = { tokensFetched: 0, renewalsAfter401: 0, retries: 0 };

  constructor(options: ClientOptions = {}) {
    this.settings = settings(options);
  }

  /** A valid access token: the cached one, or a new one (one fetch at a time). */
  async accessToken(): Promise<string> {
    if (this.cached && Date.now() < this.cached.renewAt) return this.cached.token;
    this.fetching ??= this.fetchToken().finally(() => {
      this.fetching = undefined;
    });
    this.cached = await this.fetching;
    return this.cached.token;
  }

  private discard(token: string): void {
    if (this.cached?.token === token) this.cached = undefined;
  }

  private async fetchToken(): Promise<CachedToken> {
    const s = this.settings;
    const basic = Buffer.from(`${encodeURIComponent(s.clientId)}:${encodeURIComponent(s.clientSecret)}`).toString('base64');
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (s.scope) form.set('scope', s.scope);
    for (let attempt = 0; ; attempt++) {
      const sent = Date.now();
      let delay: number | undefined;
      let failure: TesseraError;
      try {
        const response = await this.fetchWithTimeout(s.tokenUrl, {
          method: 'POST',
          headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
          body: form.toString(),
        });
        if (response.ok) {
          const body = (await response.json()) as { access_token?: unknown; expires_in?: unknown };
          if (typeof body.access_token !== 'string') throw new AuthError(response.status, 'invalid_response', 'no access_token in the token response');
          this.stats.tokensFetched++;
          const lifetime = (typeof body.expires_in === 'number' ? body.expires_in : 60) * 1000;
          return { token: body.access_token, renewAt: sent + lifetime - Math.min(s.renewMarginMs, lifetime / 2) };
        }
        const { error, description } = await errorBody(response);
        failure = new AuthError(response.status, error ?? 'unknown_error', description);
        if (RETRYABLE.has(response.status)) delay = retryDelayMs(s, attempt, retryAfterMs(response.headers.get('retry-after')));
      } catch (e) {
        if (e instanceof AuthError || e instanceof TimeoutError) throw e;
        failure = e instanceof TesseraError ? e : new NetworkError(s.tokenUrl.href, String(e));
        delay = retryDelayMs(s, attempt, undefined);
      }
      if (delay === undefined || attempt >= s.maxRetries) throw failure;
      this.stats.retries++;
      await sleep(delay);
    }
  }

  private async fetchWithTimeout(url: URL, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(this.settings.timeoutMs) });
    } catch (e) {
      const name = (e as { name?: string }).name;
      if (name === 'TimeoutError' || name === 'AbortError') throw new TimeoutError(url.href, this.settings.timeoutMs);
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new NetworkError(url.href, cause?.code ?? cause?.message ?? String(e));
    }
  }

  /** The URL of `path` (with any query) under the base URL. */
  url(path: string): URL {
    return new URL(`${this.settings.baseUrl.href.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`);
  }

  /**
   * Sends one API request with the bearer token: renews the token once on a 401, retries 429,
   * 5xx and connection failures with backoff (Retry-After when given). Resolves with the
   * response of a 2xx; rejects with an ApiError otherwise.
   */
  async send(method: string, url: URL, body?: unknown): Promise<Response> {
    const s = this.settings;
    const idempotent = method !== 'POST' && method !== 'PATCH';
    let renewed = false;
    for (let attempt = 0; ; ) {
      const token = await this.accessToken();
      const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
      if (body !== undefined) headers['content-type'] = 'application/json';
      let delay: number | undefined;
      let failure: TesseraError;
      try {
        const response = await this.fetchWithTimeout(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
        if (response.ok) return response;
        if (response.status === 401 && !renewed) {
          // The token may have been revoked or expired early: one fresh token, then again.
          renewed = true;
          this.discard(token);
          this.stats.renewalsAfter401++;
          await response.body?.cancel();
          continue;
        }
        const retryAfter = retryAfterMs(response.headers.get('retry-after'));
        const { error, description } = await errorBody(response);
        failure = new ApiError(response.status, error, description, attempt + 1);
        if (RETRYABLE.has(response.status)) delay = retryDelayMs(s, attempt, retryAfter);
      } catch (e) {
        if (!(e instanceof NetworkError || e instanceof TimeoutError)) throw e;
        failure = e;
        // A connection failure never reached the API; a timeout may have: retry only idempotent ones.
        if (e instanceof NetworkError || idempotent) delay = retryDelayMs(s, attempt, undefined);
      }
      if (delay === undefined || attempt >= s.maxRetries) throw failure;
      attempt++;
      this.stats.retries++;
      await sleep(delay);
    }
  }

  /** Sends a request and parses the JSON answer. */
  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.send(method, this.url(path), body);
    const text = await response.text();
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  /**
   * Every item of a paginated collection: follows a `Link: <…>; rel="next"` header (same
   * origin only, so the token never travels elsewhere) or a `next_cursor` member (sent back as
   * `?cursor=`); items are the `items` member, or the body itself when it is an array.
   */
  async *paginate<T>(path: string): AsyncGenerator<T, void, undefined> {
    let next: URL | undefined = this.url(path);
    const seen = new Set<string>();
    while (next) {
      if (seen.has(next.href)) throw new PaginationError(`the server sent ${next.href} twice`);
      seen.add(next.href);
      const url: URL = next;
      const response = await this.send('GET', url);
      const body = (await response.json()) as unknown;
      let items: unknown;
      let cursor: unknown;
      if (Array.isArray(body)) {
        items = body;
      } else if (body !== null && typeof body === 'object') {
        items = (body as Record<string, unknown>).items;
        cursor = (body as Record<string, unknown>).next_cursor;
      }
      if (!Array.isArray(items)) throw new PaginationError('a page must be an array or an object with an items array');
      const link = nextLink(response.headers.get('link'));
      if (link !== undefined) {
        next = new URL(link, url);
        if (next.origin !== url.origin) throw new PaginationError(`the next link ${next.href} points to another origin`);
      } else if (typeof cursor === 'string' && cursor !== '') {
        next = new URL(url.href);
        next.searchParams.set('cursor', cursor);
      } else {
        next = undefined;
      }
      for (const item of items) yield item as T;
    }
  }
}
