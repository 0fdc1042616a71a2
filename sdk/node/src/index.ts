/**
 * @tessera/sdk: the Node.js client of the example API protected by Tessera. It handles
 * authentication (client credentials, cached tokens, renewal on 401), retrying (429 and 5xx,
 * with backoff and Retry-After) and pagination (async iterators), and has one named method per
 * API method:
 *
 * ```js
 * const { Client } = require('@tessera/sdk');
 * const client = new Client({ clientId, clientSecret, baseUrl, issuer });
 * const check = await client.deployments.putCheck({
 *   deploymentNumber: 293,
 *   name: 'wall-e',
 *   check: { state: 'DONE', result: 'SUCCESS', description: 'The results are in, everything looks spiffy.' },
 * });
 * for await (const project of client.projects.list()) console.log(project.name);
 * ```
 */

import { ClientOptions, HttpClient, Stats } from './http';

export * from './errors';
export { ClientOptions, HttpClient, Stats, nextLink, retryAfterMs, retryDelayMs } from './http';

export type CheckState = 'PENDING' | 'IN_PROGRESS' | 'DONE';
export type CheckResult = 'SUCCESS' | 'FAILURE' | 'ERROR' | 'NEUTRAL';

export interface Project {
  id: string;
  name: string;
  created_by: string;
}

export interface Check {
  deploymentNumber: number;
  name: string;
  state: CheckState;
  result?: CheckResult;
  description?: string;
  updatedBy: string;
}

export interface PutCheckRequest {
  deploymentNumber: number;
  name: string;
  check: { state: CheckState; result?: CheckResult; description?: string };
}

/** `projects.*` */
export class Projects {
  constructor(private readonly http: HttpClient) {}

  /** `GET /projects`: every project, page after page (`limit`: page size). */
  list(options: { limit?: number } = {}): AsyncGenerator<Project, void, undefined> {
    return this.http.paginate<Project>(options.limit === undefined ? '/projects' : `/projects?limit=${options.limit}`);
  }

  /** `POST /projects`. */
  create(options: { name: string }): Promise<Project> {
    return this.http.json<Project>('POST', '/projects', { name: options.name });
  }
}

/** `deployments.*` */
export class Deployments {
  constructor(private readonly http: HttpClient) {}

  /** `PUT /deployments/{deploymentNumber}/checks/{name}`: creates or updates the status of a check. */
  putCheck(options: PutCheckRequest): Promise<Check> {
    const path = `/deployments/${encodeURIComponent(String(options.deploymentNumber))}/checks/${encodeURIComponent(options.name)}`;
    return this.http.json<Check>('PUT', path, options.check);
  }

  /** `GET /deployments/{deploymentNumber}/checks`: every check of the deployment, page after page. */
  async listChecks(options: { deploymentNumber: number }): Promise<Check[]> {
    const checks: Check[] = [];
    for await (const check of this.http.paginate<Check>(`/deployments/${encodeURIComponent(String(options.deploymentNumber))}/checks`)) {
      checks.push(check);
    }
    return checks;
  }
}

/** The API's client. Options not given are read from TESSERA_CLIENT_ID, TESSERA_CLIENT_SECRET, TESSERA_API_URL, TESSERA_ISSUER. */
export class Client {
  readonly http: HttpClient;
  readonly projects: Projects;
  readonly deployments: Deployments;

  constructor(options: ClientOptions = {}) {
    this.http = new HttpClient(options);
    this.projects = new Projects(this.http);
    this.deployments = new Deployments(this.http);
  }

  /** What the client did so far. */
  get stats(): Stats {
    return { ...this.http.stats };
  }
}
