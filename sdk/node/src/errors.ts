/** Every error the SDK throws is a TesseraError; the subclass says what went wrong. */
export class TesseraError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The client was configured wrongly (no credentials, a bad URL). */
export class ConfigError extends TesseraError {}

/** The token endpoint refused to issue a token (`invalid_client`: wrong id or secret, or the client is OFF). */
export class AuthError extends TesseraError {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description?: string,
  ) {
    super(`the token endpoint answered ${status} ${error}${description ? `: ${description}` : ''}`);
  }
}

/** The API answered with a status other than 2xx, after any retries. */
export class ApiError extends TesseraError {
  constructor(
    readonly status: number,
    readonly error: string | undefined,
    readonly description: string | undefined,
    /** How many times the request was sent. */
    readonly attempts: number,
  ) {
    super(`the API answered ${status}${error ? ` ${error}` : ''}${description ? `: ${description}` : ''} (attempt ${attempts})`);
  }
}

/** No answer within the configured timeout. */
export class TimeoutError extends TesseraError {
  constructor(
    readonly url: string,
    readonly timeoutMs: number,
  ) {
    super(`no answer from ${url} within ${timeoutMs} ms`);
  }
}

/** The server could not be reached. */
export class NetworkError extends TesseraError {
  constructor(
    readonly url: string,
    readonly detail: string,
  ) {
    super(`cannot reach ${url}: ${detail}`);
  }
}

/** A page of a collection that cannot be followed. */
export class PaginationError extends TesseraError {}
