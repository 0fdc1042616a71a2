// The example API's generated Node client against the real servers: Tessera and the example API,
// started by the Rust end-to-end test (examples/api/tests/e2e.rs), which passes their addresses
// and credentials in the environment.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { ApiError, AuthError, TesseraError } from '@tessera/sdk';

import { createApi } from '../src/generated/client';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: these tests run from the Rust end-to-end test`);
  return value;
}

const issuer = required('TESSERA_E2E_ISSUER');
const baseUrl = required('TESSERA_E2E_API');
const customerId = required('TESSERA_CLIENT_ID');
const customerSecret = required('TESSERA_CLIENT_SECRET');
// TESSERA_CLIENT_ID, TESSERA_CLIENT_SECRET and TESSERA_ISSUER hold the customer's credentials:
// a client given nothing else reads them.
const customer = () => createApi({ baseUrl });

async function metric(name: string): Promise<number | undefined> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Revokes `token` at Tessera and waits until the API refuses it. */
async function revoke(token: string, clientId: string, clientSecret: string): Promise<void> {
  const basic = Buffer.from(`${clientId}:${clientSecret}`).toString('base64');
  const revoked = await fetch(`${issuer}/oauth2/revoke`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }).toString(),
  });
  assert.equal(revoked.status, 200);
  assert.ok(
    await eventually(async () => (await fetch(`${baseUrl}/projects`, { headers: { authorization: `Bearer ${token}` } })).status === 401),
    'the guard never refused the revoked token',
  );
}

test('client credentials from the environment: deployments.putCheck, then listChecks page after page', async () => {
  const api = customer();
  const check = await api.deployments.putCheck({
    deploymentNumber: 293,
    name: 'wall-e',
    check: { state: 'DONE', result: 'SUCCESS', description: 'The results are in, everything looks spiffy.' },
  });
  assert.equal(check.deploymentNumber, 293);
  assert.equal(check.state, 'DONE');
  assert.equal(check.updatedBy, customerId);
  // Checks are paginated by next_cursor only (pages of 10): 13 need two pages.
  const names = ['wall-e'];
  for (let n = 0; n < 12; n++) {
    names.push((await api.deployments.putCheck({ deploymentNumber: 293, name: `n${String(n).padStart(2, '0')}`, check: { state: 'PENDING' } })).name);
  }
  const listed: string[] = [];
  for await (const c of api.deployments.listChecks({ deploymentNumber: 293 })) listed.push(c.name);
  assert.deepEqual(listed, [...names].sort());
  assert.equal(api.auth.stats.tokensFetched, 1);
  assert.equal(typeof api.auth.accessToken, 'string', 'the client exposes the token it holds');
  await assert.rejects(
    api.deployments.putCheck({ deploymentNumber: 1, name: 'x', check: { state: 'DONE' } }),
    (e: unknown) => e instanceof ApiError && e.kind === 'api' && e.status === 400 && e.error === 'invalid_request' && e.attempts >= 1,
  );
});

test('projects.list returns every project exactly once over many pages (Link header)', async () => {
  const api = customer();
  const created: string[] = [];
  for (let n = 0; n < 23; n++) created.push((await api.projects.create({ project: { name: `node ${n}` } })).id);
  const listed: string[] = [];
  for await (const project of api.projects.list({ limit: 4 })) listed.push(project.id);
  assert.deepEqual(
    listed.filter((id) => created.includes(id)),
    created,
  );
  assert.equal(new Set(listed).size, listed.length, 'no project twice');
});

test('429 answers are retried after Retry-After, never before', async () => {
  const api = customer();
  for (let n = 0; n < 8; n++) {
    await api.deployments.putCheck({ deploymentNumber: 8, name: `c${n}`, check: { state: 'PENDING' } });
  }
  assert.ok((await metric('example_throttled_total'))! >= 1, 'the quota was never hit');
  assert.equal(await metric('example_early_retries_total'), 0);
  assert.ok(api.auth.stats.retries >= 1);
});

test('a revoked token is refused by the guard and the client renews it transparently', async () => {
  const api = customer();
  const token = await api.auth.token();
  await revoke(token, customerId, customerSecret);
  for await (const _ of api.deployments.listChecks({ deploymentNumber: 1 })) void _;
  assert.equal(api.auth.stats.renewalsAfter401, 1);
  assert.equal(api.auth.stats.tokensFetched, 2);
  assert.notEqual(api.auth.accessToken, token);
});

test("a user's refresh token: the API sees the user, tokens rotate, and a revoked one is renewed", async () => {
  const clientId = required('TESSERA_E2E_USER_CLIENT_ID');
  const clientSecret = required('TESSERA_E2E_USER_CLIENT_SECRET');
  const rotated: string[] = [];
  const first = required('TESSERA_E2E_USER_REFRESH_TOKEN');
  const api = createApi({ baseUrl, issuer, clientId, clientSecret, refreshToken: first, onRotate: (t) => void rotated.push(t) });
  const project = await api.projects.create({ project: { name: 'made by a user' } });
  assert.equal(project.created_by, required('TESSERA_E2E_USER_SUB'));
  assert.equal(rotated.length, 1, 'the refresh token rotated');
  assert.notEqual(rotated[0], first);
  assert.equal(api.auth.refreshToken, rotated[0]);
  await revoke((await api.auth.token())!, clientId, clientSecret);
  const again = await api.projects.create({ project: { name: 'again' } });
  assert.equal(again.created_by, project.created_by);
  assert.equal(api.auth.stats.renewalsAfter401, 1);
  assert.equal(rotated.length, 2);
  // The first refresh token was used up: a client still holding it is refused, and says why.
  const stale = createApi({ baseUrl, issuer, clientId, clientSecret, refreshToken: first });
  await assert.rejects(stale.projects.create({ project: { name: 'x' } }), (e: unknown) => e instanceof AuthError && e.error === 'invalid_grant');
});

test('a given token, with or without its Bearer prefix; once refused it is an ApiError', async () => {
  const basic = Buffer.from(`${customerId}:${customerSecret}`).toString('base64');
  const response = await fetch(`${issuer}/oauth2/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  const { access_token: token } = (await response.json()) as { access_token: string };
  for (const given of [token, `Bearer ${token}`]) {
    const api = createApi({ baseUrl, token: given });
    // A client-credentials token acts for the client's owner.
    assert.equal((await api.projects.create({ project: { name: 'given' } })).created_by, required('TESSERA_E2E_OWNER_SUB'));
    assert.equal(api.auth.accessToken, token);
  }
  await revoke(token, customerId, customerSecret);
  const api = createApi({ baseUrl, token: `Bearer ${token}` });
  await assert.rejects(
    api.projects.create({ project: { name: 'x' } }),
    (e: unknown) => e instanceof ApiError && e.status === 401 && e.error === 'invalid_token',
  );
  assert.equal(api.auth.stats.tokensFetched, 0);
});

test('an expiring token is replaced transparently', async () => {
  const api = createApi({ baseUrl, issuer, clientId: required('TESSERA_E2E_SHORT_CLIENT_ID'), clientSecret: required('TESSERA_E2E_SHORT_CLIENT_SECRET') });
  assert.ok(
    await eventually(async () => {
      for await (const _ of api.deployments.listChecks({ deploymentNumber: 1 })) void _;
      return api.auth.stats.tokensFetched >= 3;
    }),
  );
});

test('every failure is a TesseraError whose kind says what went wrong', async () => {
  const wrong = createApi({ baseUrl, issuer, clientId: customerId, clientSecret: 'wrong' });
  await assert.rejects(
    wrong.projects.create({ project: { name: 'x' } }),
    (e: unknown) => e instanceof AuthError && e.kind === 'auth' && e.status === 401 && e.error === 'invalid_client',
  );
  const nowhere = createApi({ baseUrl: 'http://127.0.0.1:9', token: 'abc', retry: { maxRetries: 1, baseDelayMs: 1 } });
  await assert.rejects(nowhere.projects.create({ project: { name: 'x' } }), (e: unknown) => e instanceof TesseraError && e.kind === 'network');
});
