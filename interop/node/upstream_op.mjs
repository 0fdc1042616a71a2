// An upstream OpenID Provider for the single sign-on tests: node-oidc-provider (panva), which
// nobody here wrote, on http://127.0.0.1:PORT. Started by crates/testkit/src/upstream_op.rs:
//
//   OP_CLIENT_ID=… OP_CLIENT_SECRET=… OP_REDIRECT_URIS="uri1 uri2" node upstream_op.mjs
//
// Prints {"issuer":"http://127.0.0.1:PORT"} on one line once it listens; exits when stdin
// closes (the test process is gone) or on SIGTERM.
//
// - One confidential client (client_secret_basic, authorization_code, response type code,
//   PKCE S256); ID tokens signed with RS256 by a key generated at start, and carrying the
//   `email` and `profile` claims themselves (conformIdTokenClaims: false).
// - Login: our own minimal pages over the interaction API (the built-in devInteractions have
//   no stable element ids). The login name is the account id (`sub`); any password is
//   accepted. Consent for the requested scopes is granted together with the login, so the
//   round trip is: authorize → login form (#op-login) → back to the client. A consent form
//   (#op-consent) is still shown should the provider ask for consent again (prompt=consent).
// - Test-only control endpoints on the same server:
//   POST /__test/account {"sub","email","email_verified","name"} sets an account's claims;
//   POST /__test/rogue-keys {"on":true|false}: while on, the JWKS endpoint answers freshly
//   generated public keys under the real key's kid, while tokens are still signed by the
//   real key (a client that fetches the keys again still cannot verify).
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';

// stdout carries the issuer line only: the library's notices (console.info) go to stderr.
console.info = console.warn;

let Provider;
try {
  ({ Provider } = await import('oidc-provider'));
} catch (e) {
  console.error(`cannot load oidc-provider (${e.message}); run \`npm ci\` in interop/node`);
  process.exit(3);
}

const clientId = process.env.OP_CLIENT_ID;
const clientSecret = process.env.OP_CLIENT_SECRET;
const redirectUris = (process.env.OP_REDIRECT_URIS ?? '').split(' ').filter(Boolean);
if (!clientId || !clientSecret || redirectUris.length === 0) {
  console.error('OP_CLIENT_ID, OP_CLIENT_SECRET and OP_REDIRECT_URIS are required');
  process.exit(2);
}

const kid = randomUUID();
const rsaJwk = (privateKey) => ({ ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' });
const signingKey = rsaJwk(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);

const accounts = new Map(); // sub → claims set by the test
let rogueJwks = null; // the key set answered instead of the real one, while on

const claimsOf = (sub) => accounts.get(sub) ?? {
  email: sub.includes('@') ? sub : `${sub}@upstream.example`,
  email_verified: true,
  name: sub,
};

// The issuer names the port, so the server listens before the provider exists.
let handler = (req, res) => { res.statusCode = 503; res.end(); };
const server = createServer((req, res) => handler(req, res));
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: redirectUris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
  }],
  jwks: { keys: [signingKey] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  conformIdTokenClaims: false,
  ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600 },
  features: { devInteractions: { enabled: false } },
  async findAccount(ctx, sub) {
    return { accountId: sub, claims: async () => ({ sub, ...claimsOf(sub) }) };
  },
});

const html = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head>`
  + `<body><main><h1>${title}</h1>${body}</main></body></html>`;

async function readBody(req) {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text;
}

// Our routes run before the provider's; everything else is the provider's own.
provider.use(async (ctx, next) => {
  const { method, path } = ctx;
  if (method === 'POST' && path === '/__test/account') {
    const { sub, email, email_verified, name } = JSON.parse(await readBody(ctx.req));
    accounts.set(sub, { email, email_verified, name });
    ctx.status = 204;
    return;
  }
  if (method === 'POST' && path === '/__test/rogue-keys') {
    const { on } = JSON.parse(await readBody(ctx.req));
    rogueJwks = on ? { keys: [publicJwk(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey)] } : null;
    ctx.status = 204;
    return;
  }
  const m = path.match(/^\/interaction\/([^/]+)(?:\/(login|consent))?$/);
  if (m) {
    ctx.set('cache-control', 'no-store');
    try {
      await interaction(ctx, m[1], m[2]);
    } catch (e) {
      ctx.status = 400;
      ctx.type = 'text';
      ctx.body = `interaction failed: ${e.message}`;
    }
    return;
  }
  await next();
  // The jwks route, wherever discovery puts it.
  if (rogueJwks && ctx.oidc?.route === 'jwks' && ctx.status === 200) ctx.body = rogueJwks;
});

function publicJwk(privateKey) {
  const { kty, n, e } = rsaJwk(privateKey);
  return { kty, n, e, kid, alg: 'RS256', use: 'sig' };
}

async function interaction(ctx, uid, action) {
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const { prompt, params } = details;
  if (ctx.method === 'GET' && !action) {
    ctx.type = 'html';
    ctx.body = prompt.name === 'login'
      ? page('Sign in upstream', `<form method="post" action="/interaction/${html(uid)}/login">`
        + '<label>Login <input name="login" autofocus required></label>'
        + '<label>Password <input name="password" type="password"></label>'
        + '<button type="submit" id="op-login">Sign in</button></form>')
      : page('Authorize', `<p>${html(params.client_id)} asks for: ${html(params.scope)}</p>`
        + `<form method="post" action="/interaction/${html(uid)}/consent">`
        + '<button type="submit" id="op-consent">Allow</button></form>');
    return;
  }
  if (ctx.method !== 'POST') throw new Error('method not allowed');
  const form = new URLSearchParams(await readBody(ctx.req));
  if (action === 'login' && prompt.name === 'login') {
    const accountId = (form.get('login') ?? '').trim();
    if (!accountId) throw new Error('login is empty');
    // Consent for what was asked is given with the login (one form fewer).
    const grant = new provider.Grant({ accountId, clientId: params.client_id });
    grant.addOIDCScope(params.scope);
    const result = { login: { accountId }, consent: { grantId: await grant.save() } };
    return provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
  }
  if (action === 'consent' && prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
    if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
    if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    const result = { consent: { grantId: await grant.save() } };
    return provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: true });
  }
  throw new Error(`unexpected ${action} while the provider asks for ${prompt.name}`);
}

handler = provider.callback();
console.log(JSON.stringify({ issuer }));

// Stop with the test: when stdin closes, or on SIGTERM.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));
