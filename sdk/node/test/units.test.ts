import { strict as assert } from 'node:assert';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { test } from 'node:test';

import { ApiError, ConfigError, GivenToken, PaginationError, TesseraAuth, nextLink, paginate, retryAfterMs, retryDelayMs, unwrap } from '../src/index';
import { clientSource, operations, readDocument } from '../src/generate';

test('Retry-After is read as seconds or as an HTTP date', () => {
  assert.equal(retryAfterMs('3'), 3000);
  assert.equal(retryAfterMs('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:58 GMT')), 2000);
  assert.equal(retryAfterMs('soon'), undefined);
  assert.equal(retryAfterMs(null), undefined);
});

test('backoff doubles, is capped, is jittered into its upper half, and honours Retry-After', () => {
  const policy = { baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 60_000 };
  for (let attempt = 0; attempt < 8; attempt++) {
    const full = Math.min(1000, 100 * 2 ** attempt);
    const delay = retryDelayMs(policy, attempt, undefined)!;
    assert.ok(delay >= full / 2 && delay <= full, `attempt ${attempt}: ${delay}`);
  }
  const wait = retryDelayMs(policy, 0, 2000)!;
  assert.ok(wait >= 2000 && wait <= 2205, String(wait));
  assert.equal(retryDelayMs(policy, 0, 61_000), undefined);
});

test('the next link is found among other links', () => {
  assert.equal(nextLink('</projects?cursor=2>; rel="next"'), '/projects?cursor=2');
  assert.equal(nextLink('<https://a/p?c=1>; rel="prev", <https://a/p?c=3>; rel=next'), 'https://a/p?c=3');
  assert.equal(nextLink('</p?c=1>; rel="prev"'), undefined);
  assert.equal(nextLink(null), undefined);
});

test('a client without credentials says which variables to set', () => {
  assert.throws(
    () => new TesseraAuth({ issuer: 'http://127.0.0.1:1', envPrefix: 'NOBODY_SETS_THIS' }),
    (e: unknown) => e instanceof ConfigError && e.kind === 'config' && /NOBODY_SETS_THIS_CLIENT_ID/.test(e.message),
  );
  assert.throws(() => new TesseraAuth({ clientId: 'c', clientSecret: 's' }), /no issuer/);
});

test('a given token is taken with or without its Bearer prefix, and is never renewed', async () => {
  for (const text of ['abc.def-ghi_', 'Bearer abc.def-ghi_', 'bearer  abc.def-ghi_', ' BEARER abc.def-ghi_\n']) {
    const auth = new TesseraAuth({ token: text });
    assert.equal(await auth.token(), 'abc.def-ghi_');
    assert.equal(auth.accessToken, 'abc.def-ghi_');
    assert.equal(auth.tokens.discard('abc.def-ghi_'), false);
  }
  for (const bad of ['', 'Bearer ', 'Bearer a b', 'Basic abc']) {
    assert.throws(() => new GivenToken(bad), ConfigError, JSON.stringify(bad));
  }
});

test('unwrap gives the data of a 2xx and an ApiError with the body members otherwise', () => {
  assert.deepEqual(unwrap({ data: { a: 1 }, response: new Response('{}', { status: 200 }) }), { a: 1 });
  assert.throws(
    () => unwrap({ error: { error: 'invalid_request', error_description: 'bad' }, response: new Response('', { status: 400 }) }),
    (e: unknown) => e instanceof ApiError && e.kind === 'api' && e.status === 400 && e.error === 'invalid_request' && e.description === 'bad',
  );
});

function page(body: unknown, link?: string) {
  const response = new Response(JSON.stringify(body), { status: 200, headers: link ? { link } : {} });
  Object.defineProperty(response, 'url', { value: 'http://api.test/things?limit=2' });
  return { data: body, response };
}

test('pagination follows the Link header, then next_cursor, and stops on the last page', async () => {
  const asked: (string | undefined)[] = [];
  const pages: Record<string, ReturnType<typeof page>> = {
    first: page({ items: [1, 2], next_cursor: 'ignored' }, '</things?limit=2&cursor=b>; rel="next"'),
    b: page({ items: [3, 4], next_cursor: 'c' }),
    c: page({ items: [5] }),
  };
  const items: number[] = [];
  for await (const n of paginate(async (cursor: string | undefined) => {
    asked.push(cursor);
    return pages[cursor ?? 'first'] as { data: { items: number[] }; response: Response };
  })) {
    items.push(n);
  }
  assert.deepEqual(items, [1, 2, 3, 4, 5]);
  assert.deepEqual(asked, [undefined, 'b', 'c']);
});

test('pagination refuses a next link to another origin and a page named twice', async () => {
  const offsite = paginate(async () => page({ items: [1] }, '<http://elsewhere.test/things?cursor=2>; rel="next"'));
  await assert.rejects(async () => {
    for await (const _ of offsite) void _;
  }, PaginationError);
  const loop = paginate(async () => page({ items: [1], next_cursor: 'same' }));
  await assert.rejects(async () => {
    for await (const _ of loop) void _;
  }, /twice/);
});

test('the generator names methods by tag and operationId, with paging found from the document', async () => {
  const doc = await readDocument(path.join(__dirname, '../../../../examples/api/openapi.json'));
  const ops = operations(doc);
  assert.deepEqual(
    ops.map((op) => [op.group, op.name, op.method, op.pathParams, op.body?.name, op.paging?.cursorParam]),
    [
      ['projects', 'list', 'get', [], undefined, 'cursor'],
      ['projects', 'create', 'post', [], 'project', undefined],
      ['deployments', 'listChecks', 'get', ['deploymentNumber'], undefined, 'cursor'],
      ['deployments', 'putCheck', 'put', ['deploymentNumber', 'name'], 'check', undefined],
    ],
  );
  const source = clientSource(doc, ops);
  assert.match(source, /putCheck\(args: paths\["\/deployments\/\{deploymentNumber\}\/checks\/\{name\}"\]\["put"\]\['parameters'\]\['path'\]/);
  // Prefixed operationIds lose their tag; clashing names are refused.
  const prefixed = {
    openapi: '3.0.3',
    paths: {
      '/a': { get: { tags: ['Billing Runs'], operationId: 'Billing Runs_get-all' } },
      '/b': { get: { tags: ['x'], operationId: 'same' }, post: { tags: ['x'], operationId: 'same' } },
    },
  };
  assert.throws(() => operations(prefixed), /two operations are named x\.same/);
  delete (prefixed.paths as Record<string, unknown>)['/b'];
  assert.deepEqual(operations(prefixed).map((op) => [op.group, op.name]), [['billingRuns', 'getAll']]);
});

test('the sending rule on a real HTTP server: Retry-After is waited, attempts are counted, a given token is not renewed', async () => {
  const seen: { path: string; authorization?: string }[] = [];
  let flaky = 0;
  const server = createServer((request, response) => {
    seen.push({ path: request.url ?? '', authorization: request.headers.authorization });
    if (request.url === '/flaky' && flaky++ < 2) {
      response.writeHead(503, { 'retry-after': '0' }).end();
    } else if (request.url === '/flaky') {
      response.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_request","error_description":"no"}');
    } else {
      response.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_token"}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const auth = new TesseraAuth({ token: 'Bearer abc', retry: { baseDelayMs: 1 } });
    const flakyAnswer = await auth.fetch(`${base}/flaky`);
    assert.equal(flakyAnswer.status, 400);
    assert.throws(
      () => unwrap({ error: { error: 'invalid_request' }, response: flakyAnswer }),
      (e: unknown) => e instanceof ApiError && e.attempts === 3,
    );
    assert.equal(auth.stats.retries, 2);
    const refused = await auth.fetch(`${base}/private`);
    assert.equal(refused.status, 401, 'a given token cannot be renewed: the refusal is the answer');
    assert.equal(auth.stats.renewalsAfter401, 0);
    assert.deepEqual(
      seen.map((s) => [s.path, s.authorization]),
      [...Array(3).fill(['/flaky', 'Bearer abc']), ['/private', 'Bearer abc']],
    );
  } finally {
    server.close();
  }
});
