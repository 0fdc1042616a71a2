// A pushed authorization request and the code flow, done by openid-client (panva), which
// nobody here wrote, against a running Tessera. Run by crates/cli/tests/e2e/par.rs:
//
//   node par_code_flow.mjs ISSUER CLIENT_ID CLIENT_SECRET REDIRECT_URI
//
// 1. discovers the server, pushes the authorization request (RFC 9126) with PKCE, state and
//    nonce, and prints {"authorization_url": "…"} on one line;
// 2. reads the URL the browser was sent back to (the callback with code, state and iss) from
//    standard input;
// 3. redeems the code (checking iss, state, the ID token's signature, nonce and audience) and
//    prints {"access_token", "scope", "sub", "nonce"} on one line.
import * as client from 'openid-client';
import { createInterface } from 'node:readline';

const [issuer, clientId, clientSecret, redirectUri] = process.argv.slice(2);
if (!redirectUri) {
  console.error('usage: node par_code_flow.mjs ISSUER CLIENT_ID CLIENT_SECRET REDIRECT_URI');
  process.exit(2);
}

// The test server listens on http://127.0.0.1 (loopback): allow plain HTTP for it only.
const config = await client.discovery(new URL(issuer), clientId, undefined, client.ClientSecretBasic(clientSecret), {
  execute: [client.allowInsecureRequests],
});
if (!config.serverMetadata().pushed_authorization_request_endpoint) {
  throw new Error('discovery names no pushed_authorization_request_endpoint');
}

const codeVerifier = client.randomPKCECodeVerifier();
const state = client.randomState();
const nonce = client.randomNonce();
const url = await client.buildAuthorizationUrlWithPAR(config, {
  redirect_uri: redirectUri,
  scope: 'openid read',
  code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
  code_challenge_method: 'S256',
  state,
  nonce,
});
console.log(JSON.stringify({ authorization_url: url.href }));

const lines = createInterface({ input: process.stdin });
const callback = await new Promise((resolve) => lines.once('line', resolve));
lines.close();

const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
  pkceCodeVerifier: codeVerifier,
  expectedState: state,
  expectedNonce: nonce,
  idTokenExpected: true,
});
const claims = tokens.claims();
console.log(JSON.stringify({ access_token: tokens.access_token, scope: tokens.scope, sub: claims.sub, nonce: claims.nonce }));
