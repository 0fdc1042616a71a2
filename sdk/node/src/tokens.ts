import { AuthError, ConfigError, NetworkError, TesseraError, TimeoutError, responseErrorMembers } from './errors';
import { RETRYABLE, retryAfterMs, retryDelayMs, sleep } from './retry';
import { Transport, fetchOnce } from './send';

/**
 * Where a client's access tokens come from. `token()` gives the token to send (cached while it
 * is fresh); `discard(token)` is called when the API refused it and says whether another can be
 * had; `current` is the token held now, without fetching.
 */
export interface TokenSource {
  token(): Promise<string>;
  discard(token: string): boolean;
  readonly current: string | undefined;
}

/** A token the caller already has, as it is or with its `Bearer ` prefix. It cannot be renewed. */
export class GivenToken implements TokenSource {
  readonly current: string;

  constructor(token: string) {
    const bare = token.trim().replace(/^bearer(\s+|$)/i, '');
    // RFC 6750 §2.1: b64token characters only; anything else is a paste gone wrong.
    if (!/^[A-Za-z0-9\-._~+/]+=*$/.test(bare)) throw new ConfigError('the given token is empty or is not a bearer token');
    this.current = bare;
  }

  async token(): Promise<string> {
    return this.current;
  }

  discard(): boolean {
    return false;
  }
}

export interface GrantOptions {
  /** The issuer; tokens come from `${issuer}/oauth2/token`. */
  issuer?: string;
  /** The token endpoint, when it is not `${issuer}/oauth2/token`. */
  tokenUrl?: string;
  clientId: string;
  /** Absent for a public client (refresh grant only). */
  clientSecret?: string;
  /** The scope to ask for (default: what the client or grant allows). */
  scope?: string;
  /** How long before expiry a cached token is replaced (default 30 000 ms, at most half its lifetime). */
  renewMarginMs?: number;
}

export interface RefreshOptions extends GrantOptions {
  refreshToken: string;
  /** Called with each new refresh token (they rotate on use): store it to resume later. */
  onRotate?: (refreshToken: string) => void | Promise<void>;
}

function tokenEndpoint(options: GrantOptions): URL {
  const text = options.tokenUrl ?? (options.issuer ? `${options.issuer.replace(/\/+$/, '')}/oauth2/token` : undefined);
  if (!text) throw new ConfigError('no issuer: pass issuer (or tokenUrl)');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`the token URL ${JSON.stringify(text)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`the token URL ${url.href} is not http(s)`);
  return url;
}

/**
 * Tokens from the token endpoint by a grant (client credentials or a refresh token), cached
 * until shortly before they expire, one fetch at a time however many requests wait.
 */
export class GrantTokens implements TokenSource {
  private readonly url: URL;
  private cached?: { token: string; renewAt: number };
  private fetching?: Promise<string>;
  private refresh?: string;

  constructor(
    private readonly options: GrantOptions & { grant: 'client_credentials' | 'refresh_token'; onRotate?: RefreshOptions['onRotate'] },
    private readonly transport: Transport,
    refreshToken?: string,
  ) {
    if (!options.clientId) throw new ConfigError('no client id');
    if (options.grant === 'client_credentials' && !options.clientSecret) throw new ConfigError('the client-credentials grant needs a client secret');
    if (options.grant === 'refresh_token' && !refreshToken) throw new ConfigError('no refresh token');
    this.url = tokenEndpoint(options);
    this.refresh = refreshToken;
  }

  get current(): string | undefined {
    return this.cached?.token;
  }

  /** The newest refresh token (refresh grant): each use returns a new one. */
  get refreshToken(): string | undefined {
    return this.refresh;
  }

  async token(): Promise<string> {
    if (this.cached && Date.now() < this.cached.renewAt) return this.cached.token;
    this.fetching ??= this.fetch().finally(() => {
      this.fetching = undefined;
    });
    return this.fetching;
  }

  discard(token: string): boolean {
    if (this.cached?.token === token) this.cached = undefined;
    return true;
  }

  private form(): URLSearchParams {
    const o = this.options;
    const form = new URLSearchParams({ grant_type: o.grant });
    if (o.grant === 'refresh_token') form.set('refresh_token', this.refresh!);
    if (!o.clientSecret) form.set('client_id', o.clientId);
    if (o.scope) form.set('scope', o.scope);
    return form;
  }

  private async fetch(): Promise<string> {
    const o = this.options;
    const t = this.transport;
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (o.clientSecret) {
      // RFC 6749 §2.3.1: each part form-encoded before Basic.
      const encode = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
      headers.authorization = `Basic ${Buffer.from(`${encode(o.clientId)}:${encode(o.clientSecret)}`).toString('base64')}`;
    }
    for (let attempt = 0; ; attempt++) {
      const sent = Date.now();
      let delay: number | undefined;
      let failure: TesseraError;
      try {
        const response = await fetchOnce(t, new Request(this.url, { method: 'POST', headers, body: this.form() }));
        if (response.ok) {
          const body = (await response.json()) as { access_token?: unknown; expires_in?: unknown; refresh_token?: unknown };
          if (typeof body.access_token !== 'string') throw new AuthError(response.status, 'invalid_response', 'no access_token in the token response');
          t.stats.tokensFetched++;
          if (o.grant === 'refresh_token' && typeof body.refresh_token === 'string' && body.refresh_token !== this.refresh) {
            this.refresh = body.refresh_token;
            await o.onRotate?.(body.refresh_token);
          }
          const lifetime = (typeof body.expires_in === 'number' ? body.expires_in : 60) * 1000;
          const margin = Math.min(o.renewMarginMs ?? 30_000, lifetime / 2);
          this.cached = { token: body.access_token, renewAt: sent + lifetime - margin };
          return body.access_token;
        }
        const { error, description } = await responseErrorMembers(response);
        failure = new AuthError(response.status, error ?? 'unknown_error', description);
        if (RETRYABLE.has(response.status)) delay = retryDelayMs(t.retry, attempt, retryAfterMs(response.headers.get('retry-after')));
      } catch (e) {
        if (!(e instanceof NetworkError || e instanceof TimeoutError)) throw e;
        // A refresh request that timed out may have rotated the token already: sending the old
        // one again would look like reuse, which ends the whole grant. Let the caller decide.
        if (e instanceof TimeoutError && o.grant === 'refresh_token') throw e;
        failure = e;
        delay = retryDelayMs(t.retry, attempt, undefined);
      }
      if (delay === undefined || attempt >= t.retry.maxRetries) throw failure;
      t.stats.retries++;
      await sleep(delay);
    }
  }
}
