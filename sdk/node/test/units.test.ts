import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { Client, ConfigError, nextLink, retryAfterMs, retryDelayMs } from '../src/index';

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
    () => new Client({ baseUrl: 'http://127.0.0.1:1', issuer: 'http://127.0.0.1:1', envPrefix: 'NOBODY_SETS_THIS' }),
    (e: unknown) => e instanceof ConfigError && /NOBODY_SETS_THIS_CLIENT_ID/.test(e.message),
  );
});
