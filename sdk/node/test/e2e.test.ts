// Against the real servers: Tessera and the example API, started by the Rust end-to-end test
// (examples/api/tests/e2e.rs), which passes their addresses and credentials in the environment.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { ApiError, AuthError, Client } from '../src/index';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: these tests run from the Rust end-to-end test`);
  return value;
}

const issuer = required('TESSERA_E2E_ISSUER');
const baseUrl = required('TESSERA_E2E_API');
// TESSERA_CLIENT_ID and TESSERA_CLIENT_SECRET hold the customer's credentials: the client reads them.
const client = () => new Client({ baseUrl, issuer });

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

test('deployments.putCheck and listChecks, with the credentials from the environment', async () => {
  const api = client();
  const check = await api.deployments.putCheck({
    deploymentNumber: 293,
    name: 'wall-e',
    check: { state: 'DONE', result: 'SUCCESS', description: 'The results are in, everything looks spiffy.' },
  });
  assert.equal(check.deploymentNumber, 293);
  assert.equal(check.state, 'DONE');
  assert.equal(check.updatedBy, process.env.TESSERA_CLIENT_ID);
  const checks = await api.deployments.listChecks({ deploymentNumber: 293 });
  assert.deepEqual(checks, [check]);
  await assert.rejects(
    api.deployments.putCheck({ deploymentNumber: 1, name: 'x', check: { state: 'DONE' } }),
    (e: unknown) => e instanceof ApiError && e.status === 400 && e.error === 'invalid_request',
  );
  assert.equal(api.stats.tokensFetched, 1);
});

test('projects.list returns every project exactly once, page after page', async () => {
  const api = client();
  const created: string[] = [];
  for (let n = 0; n < 12; n++) created.push((await api.projects.create({ name: `node ${n}` })).id);
  const listed: string[] = [];
  for await (const project of api.projects.list({ limit: 5 })) listed.push(project.id);
  const mine = listed.filter((id) => created.includes(id));
  assert.deepEqual(mine, created);
  assert.equal(new Set(listed).size, listed.length, 'no project twice');
  // Checks are paginated by next_cursor only (pages of 10).
  const names: string[] = [];
  for (let n = 0; n < 13; n++) names.push((await api.deployments.putCheck({ deploymentNumber: 55, name: `n${String(n).padStart(2, '0')}`, check: { state: 'PENDING' } })).name);
  assert.deepEqual((await api.deployments.listChecks({ deploymentNumber: 55 })).map((c) => c.name), names);
});

test('429 answers are retried after Retry-After, never before', async () => {
  const api = client();
  for (let n = 0; n < 8; n++) {
    await api.deployments.putCheck({ deploymentNumber: 8, name: `c${n}`, check: { state: 'PENDING' } });
  }
  assert.ok((await metric('example_throttled_total'))! >= 1, 'the quota was never hit');
  assert.equal(await metric('example_early_retries_total'), 0);
  assert.ok(api.stats.retries >= 1);
});

test('a revoked token is refused by the guard and the client renews it transparently', async () => {
  const api = client();
  const token = await api.http.accessToken();
  const basic = Buffer.from(`${process.env.TESSERA_CLIENT_ID}:${process.env.TESSERA_CLIENT_SECRET}`).toString('base64');
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
  await api.deployments.listChecks({ deploymentNumber: 1 });
  assert.equal(api.stats.renewalsAfter401, 1);
  assert.equal(api.stats.tokensFetched, 2);
});

test('an expiring token is replaced transparently', async () => {
  const api = new Client({
    baseUrl,
    issuer,
    clientId: required('TESSERA_E2E_SHORT_CLIENT_ID'),
    clientSecret: required('TESSERA_E2E_SHORT_CLIENT_SECRET'),
  });
  assert.ok(
    await eventually(async () => {
      await api.deployments.listChecks({ deploymentNumber: 1 });
      return api.stats.tokensFetched >= 3;
    }),
  );
});

test('wrong credentials are an AuthError that says invalid_client', async () => {
  const api = new Client({ baseUrl, issuer, clientId: process.env.TESSERA_CLIENT_ID, clientSecret: 'wrong' });
  await assert.rejects(api.projects.create({ name: 'x' }), (e: unknown) => e instanceof AuthError && e.status === 401 && e.error === 'invalid_client');
});
