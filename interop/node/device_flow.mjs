// The device authorization grant (RFC 8628), done by openid-client (panva), which nobody here
// wrote, against a running Tessera. Run by crates/cli/tests/e2e/device.rs:
//
//   node device_flow.mjs ISSUER CLIENT_ID
//
// 1. discovers the server (a public client: client_id only), starts a device authorization and
//    prints the server's answer (user_code, verification_uri_complete, …) on one line;
// 2. polls the token endpoint the way the library does (honouring interval and slow_down) until
//    the user has decided, and prints {"access_token", "scope", "sub", "refresh_token"} on one
//    line, or {"error": "…"} when the user denied.
import * as client from 'openid-client';

const [issuer, clientId] = process.argv.slice(2);
if (!clientId) {
  console.error('usage: node device_flow.mjs ISSUER CLIENT_ID');
  process.exit(2);
}

// The test server listens on http://127.0.0.1 (loopback): allow plain HTTP for it only.
const config = await client.discovery(new URL(issuer), clientId, undefined, client.None(), {
  execute: [client.allowInsecureRequests],
});
if (!config.serverMetadata().device_authorization_endpoint) {
  throw new Error('discovery names no device_authorization_endpoint');
}

const started = await client.initiateDeviceAuthorization(config, { scope: 'openid read' });
console.log(JSON.stringify(started));

try {
  const tokens = await client.pollDeviceAuthorizationGrant(config, started);
  const claims = tokens.claims();
  console.log(JSON.stringify({ access_token: tokens.access_token, scope: tokens.scope, sub: claims?.sub, refresh_token: tokens.refresh_token }));
} catch (error) {
  if (error instanceof client.ResponseBodyError) {
    console.log(JSON.stringify({ error: error.error }));
  } else {
    throw error;
  }
}
