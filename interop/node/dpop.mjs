// DPoP (RFC 9449) done by openid-client (panva), which nobody here wrote, against a running
// Tessera. Run by crates/cli/tests/e2e/dpop.rs:
//
//   node dpop.mjs ISSUER CC_CLIENT_ID CC_CLIENT_SECRET PUBLIC_CLIENT_ID REDIRECT_URI
//
// 1. a client-credentials token with DPoP for the confidential client (one that requires DPoP);
// 2. the code flow of the public client with DPoP and PKCE: prints {"authorization_url": "…"} on
//    one line, reads the URL the browser was sent back to from standard input, redeems the code;
// 3. refreshes with DPoP (the public client's refresh token is bound to its key);
// 4. calls userinfo (fetchUserInfo) and /session/user (fetchProtectedResource) with DPoP;
// then prints one line of JSON with what it got, the RFC 7638 thumbprints of its two keys, and
// how many `use_dpop_nonce` answers it met (and retried, as openid-client does by itself once
// per request) when the server demands nonces.
import * as client from 'openid-client';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';

const [issuer, ccId, ccSecret, publicId, redirectUri] = process.argv.slice(2);
if (!redirectUri) {
  console.error('usage: node dpop.mjs ISSUER CC_CLIENT_ID CC_CLIENT_SECRET PUBLIC_CLIENT_ID REDIRECT_URI');
  process.exit(2);
}

// Counts the server's use_dpop_nonce answers (400 at the token endpoint, 401 with a DPoP
// challenge at resources) that openid-client then retries with the nonce it was given.
let nonceChallenges = 0;
async function countingFetch(url, options) {
  const response = await fetch(url, options);
  const challenge = response.headers.get('www-authenticate') ?? '';
  if (response.status === 401 && challenge.includes('use_dpop_nonce')) {
    nonceChallenges += 1;
  } else if (response.status === 400) {
    const body = await response.clone().json().catch(() => ({}));
    if (body.error === 'use_dpop_nonce') nonceChallenges += 1;
  }
  return response;
}

// RFC 7638 thumbprint of an EC P-256 public key: SHA-256 of its required members in order.
async function thumbprint(publicKey) {
  const { crv, kty, x, y } = await crypto.subtle.exportKey('jwk', publicKey);
  return createHash('sha256').update(JSON.stringify({ crv, kty, x, y })).digest('base64url');
}

// The test server listens on http://127.0.0.1 (loopback): allow plain HTTP for it only.
const options = { execute: [client.allowInsecureRequests] };

// 1. Client credentials, DPoP-bound.
const ccConfig = await client.discovery(new URL(issuer), ccId, undefined, client.ClientSecretBasic(ccSecret), options);
ccConfig[client.customFetch] = countingFetch;
if (!ccConfig.serverMetadata().dpop_signing_alg_values_supported?.includes('ES256')) {
  throw new Error('discovery names no dpop_signing_alg_values_supported with ES256');
}
const ccKeys = await client.randomDPoPKeyPair('ES256');
const ccDPoP = client.getDPoPHandle(ccConfig, ccKeys);
const cc = await client.clientCredentialsGrant(ccConfig, { scope: 'read' }, { DPoP: ccDPoP });

// 2. The code flow of the public client.
const config = await client.discovery(new URL(issuer), publicId, undefined, client.None(), options);
config[client.customFetch] = countingFetch;
const keys = await client.randomDPoPKeyPair('ES256');
const DPoP = client.getDPoPHandle(config, keys);
const codeVerifier = client.randomPKCECodeVerifier();
const state = client.randomState();
const url = client.buildAuthorizationUrl(config, {
  redirect_uri: redirectUri,
  scope: 'openid read',
  code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
  code_challenge_method: 'S256',
  state,
});
console.log(JSON.stringify({ authorization_url: url.href }));

const lines = createInterface({ input: process.stdin });
const callback = await new Promise((resolve) => lines.once('line', resolve));
lines.close();

const tokens = await client.authorizationCodeGrant(
  config,
  new URL(callback),
  { pkceCodeVerifier: codeVerifier, expectedState: state, idTokenExpected: true },
  undefined,
  { DPoP },
);
const sub = tokens.claims().sub;

// 3. Refresh, with a proof by the same key.
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP });

// 4. Resources, with the refreshed (bound) access token.
const userinfo = await client.fetchUserInfo(config, refreshed.access_token, sub, { DPoP });
const sessionUser = await client.fetchProtectedResource(
  config,
  refreshed.access_token,
  new URL(`${issuer}/session/user`),
  'GET',
  undefined,
  undefined,
  { DPoP },
);

console.log(
  JSON.stringify({
    client_credentials: { token_type: cc.token_type, access_token: cc.access_token, jkt: await thumbprint(ccKeys.publicKey) },
    code: {
      token_type: tokens.token_type,
      access_token: tokens.access_token,
      refresh_token: tokens.refresh_token,
      jkt: await thumbprint(keys.publicKey),
    },
    refreshed: { token_type: refreshed.token_type, access_token: refreshed.access_token, refresh_token: refreshed.refresh_token },
    userinfo_sub: userinfo.sub,
    session_user: { status: sessionUser.status, body: await sessionUser.json() },
    nonce_challenges: nonceChallenges,
  }),
);
