/**
 * Every error the SDK throws is a TesseraError. Its `kind` says what went wrong (one switch
 * covers every failure); the subclass carries the details of that kind.
 */
export type ErrorKind = 'config' | 'auth' | 'api' | 'timeout' | 'network' | 'pagination';

export abstract class TesseraError extends Error {
  abstract readonly kind: ErrorKind;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The client was configured wrongly (no credentials, a bad URL). */
export class ConfigError extends TesseraError {
  readonly kind = 'config' as const;
}

/**
 * The token endpoint refused to issue a token: `invalid_client` (wrong id or secret, or the
 * client is OFF), `invalid_grant` (the refresh token is no longer valid), ...
 */
export class AuthError extends TesseraError {
  readonly kind = 'auth' as const;
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description?: string,
  ) {
    super(`the token endpoint answered ${status} ${error}${description ? `: ${description}` : ''}`);
  }
}

/**
 * The API answered with a status other than 2xx, after any retries. A 401 after a renewal (or
 * with a given token, which cannot be renewed) says the API refuses the token.
 */
export class ApiError extends TesseraError {
  readonly kind = 'api' as const;
  constructor(
    readonly status: number,
    /** The `error` member of a JSON error body, if any. */
    readonly error: string | undefined,
    /** The `error_description` (or `message`) member, if any. */
    readonly description: string | undefined,
    /** How many times the request was sent. */
    readonly attempts: number,
  ) {
    super(`the API answered ${status}${error ? ` ${error}` : ''}${description ? `: ${description}` : ''} (attempt ${attempts})`);
  }
}

/** No answer within the configured timeout. */
export class TimeoutError extends TesseraError {
  readonly kind = 'timeout' as const;
  constructor(
    readonly url: string,
    readonly timeoutMs: number,
  ) {
    super(`no answer from ${url} within ${timeoutMs} ms`);
  }
}

/** The server could not be reached. */
export class NetworkError extends TesseraError {
  readonly kind = 'network' as const;
  constructor(
    readonly url: string,
    readonly detail: string,
  ) {
    super(`cannot reach ${url}: ${detail}`);
  }
}

/** A page of a collection that cannot be followed. */
export class PaginationError extends TesseraError {
  readonly kind = 'pagination' as const;
}

/** The `error` and `error_description` (or `message`) of a JSON error body, if it is one. */
export function errorMembers(body: unknown): { error?: string; description?: string } {
  if (body === null || typeof body !== 'object') return {};
  const b = body as Record<string, unknown>;
  const error = typeof b.error === 'string' ? b.error : b.error === undefined ? undefined : JSON.stringify(b.error);
  const description = typeof b.error_description === 'string' ? b.error_description : typeof b.message === 'string' ? b.message : undefined;
  return { error, description };
}

/** The error members of a response's JSON body; the body is consumed. */
export async function responseErrorMembers(response: Response): Promise<{ error?: string; description?: string }> {
  try {
    return errorMembers(JSON.parse(await response.text()));
  } catch {
    return {};
  }
}
