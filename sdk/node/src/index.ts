/**
 * @tessera/sdk: Tessera's authentication for the clients of an API it protects, generated from
 * the API's OpenAPI document. It brings tokens (client credentials, a refresh token kept
 * rotated, or a token the caller has), renewal on 401, retries (429 and 5xx, with backoff and
 * Retry-After) and pagination (async iterators); `openapi-fetch` brings the typed requests, and
 * `tessera-sdk generate` one named method per operation:
 *
 * ```sh
 * npx tessera-sdk generate openapi.json src/api
 * ```
 * ```ts
 * import { createApi } from './api/client';
 * const api = createApi({ baseUrl, issuer, clientId, clientSecret });
 * const check = await api.deployments.putCheck({ deploymentNumber: 293, name: 'wall-e', check: { state: 'DONE', result: 'SUCCESS' } });
 * for await (const project of api.projects.list({ limit: 50 })) console.log(project.name);
 * ```
 *
 * By hand: `createClient<paths>({ baseUrl }).use(new TesseraAuth({ ... }))`.
 */

export * from './errors';
export { AuthOptions, TesseraAuth } from './auth';
export { GivenToken, GrantTokens, TokenSource } from './tokens';
export { FetchResult, ItemOf, PageShape, nextLink, paginate, unwrap } from './paginate';
export { DEFAULT_RETRY, RetryPolicy, retryAfterMs, retryDelayMs } from './retry';
export { Stats, Transport, TransportOptions, sendAuthorized } from './send';
