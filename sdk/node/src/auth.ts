import { ConfigError } from './errors';
import { GivenToken, GrantTokens, TokenSource } from './tokens';
import { Stats, Transport, TransportOptions, sendAuthorized, transport } from './send';

/**
 * How a client authenticates: exactly one of `token` (a bearer token the caller has, with or
 * without its `Bearer ` prefix), `refreshToken` (with `clientId`, and `clientSecret` unless the
 * client is public) or client credentials (`clientId` and `clientSecret`). Anything not given is
 * read from `${envPrefix}_ACCESS_TOKEN`, `_REFRESH_TOKEN`, `_CLIENT_ID`, `_CLIENT_SECRET` and
 * `_ISSUER` (prefix `TESSERA` by default).
 */
export interface AuthOptions extends TransportOptions {
  token?: string;
  refreshToken?: string;
  /** Called with each new refresh token (they rotate on every use): store it to resume later. */
  onRotate?: (refreshToken: string) => void | Promise<void>;
  clientId?: string;
  clientSecret?: string;
  /** The issuer; tokens come from `${issuer}/oauth2/token`. */
  issuer?: string;
  /** The token endpoint, when it is not `${issuer}/oauth2/token`. */
  tokenUrl?: string;
  /** The scope to ask for (default: what the client or grant allows). */
  scope?: string;
  /** How long before expiry a cached token is replaced (default 30 000 ms, at most half its lifetime). */
  renewMarginMs?: number;
  /** The prefix of the environment variables (default `TESSERA`). */
  envPrefix?: string;
}

function tokenSource(options: AuthOptions, t: Transport): TokenSource {
  const prefix = options.envPrefix ?? 'TESSERA';
  const env = (name: string): string | undefined => {
    const value = process.env[`${prefix}_${name}`];
    return value === undefined || value === '' ? undefined : value;
  };
  const given = options.token ?? (options.refreshToken || options.clientId ? undefined : env('ACCESS_TOKEN'));
  if (given !== undefined) return new GivenToken(given);
  const grant = {
    clientId: options.clientId ?? env('CLIENT_ID') ?? '',
    clientSecret: options.clientSecret ?? (options.clientId ? undefined : env('CLIENT_SECRET')),
    issuer: options.issuer ?? env('ISSUER'),
    tokenUrl: options.tokenUrl,
    scope: options.scope,
    renewMarginMs: options.renewMarginMs,
  };
  if (!grant.clientId) {
    throw new ConfigError(
      `no credentials: pass token, refreshToken or clientId and clientSecret, or set ${prefix}_ACCESS_TOKEN or ${prefix}_CLIENT_ID and ${prefix}_CLIENT_SECRET`,
    );
  }
  const refreshToken = options.refreshToken ?? (options.clientId ? undefined : env('REFRESH_TOKEN'));
  if (refreshToken !== undefined) return new GrantTokens({ ...grant, grant: 'refresh_token', onRotate: options.onRotate }, t, refreshToken);
  return new GrantTokens({ ...grant, grant: 'client_credentials' }, t);
}

/**
 * Tessera's authentication for a generated API client. It is an `openapi-fetch` middleware
 * (`client.use(auth)`, registered last: it sends the request itself) and a `fetch` for any other
 * generator. Either way every request carries a valid bearer token, is sent once more with a new
 * token after a 401, and is retried after 429, 5xx and connection failures with backoff and
 * Retry-After (see `sendAuthorized`).
 */
export class TesseraAuth {
  readonly tokens: TokenSource;
  readonly transport: Transport;

  constructor(options: AuthOptions = {}) {
    this.transport = transport(options);
    this.tokens = tokenSource(options, this.transport);
  }

  /** What the client did so far. */
  get stats(): Stats {
    return { ...this.transport.stats };
  }

  /** The access token held now, if any (no fetch). */
  get accessToken(): string | undefined {
    return this.tokens.current;
  }

  /** The newest refresh token, when authenticating with one (it rotates on every use). */
  get refreshToken(): string | undefined {
    return this.tokens instanceof GrantTokens ? this.tokens.refreshToken : undefined;
  }

  /** A valid access token: the cached one, or a new one. */
  token(): Promise<string> {
    return this.tokens.token();
  }

  /** The openapi-fetch middleware hook: sends the request and hands back the final response. */
  readonly onRequest = ({ request }: { request: Request }): Promise<Response> => sendAuthorized(request, this.tokens, this.transport);

  /** A fetch with Tessera's authentication, for generators that take one. */
  readonly fetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> =>
    sendAuthorized(new Request(input, init), this.tokens, this.transport);
}
