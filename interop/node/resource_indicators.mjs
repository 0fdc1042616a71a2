// Resource indicators (RFC 8707) through openid-client (panva), which nobody here wrote, against
// a running Tessera. Run by crates/cli/tests/e2e/resource_indicators.rs:
//
//   node resource_indicators.mjs ISSUER CLIENT_ID CLIENT_SECRET RESOURCE...
//
// Discovers the server, asks for a client-credentials token for every RESOURCE (the library
// sends `resource` once per value) with client_secret_basic, and prints
// {"access_token", "scope"} on one line; then asks for an unregistered resource and prints
// {"error"} as the library reports the server's error response.
import * as client from 'openid-client';

const [issuer, clientId, clientSecret, ...resources] = process.argv.slice(2);
if (!clientSecret || resources.length === 0) {
  console.error('usage: node resource_indicators.mjs ISSUER CLIENT_ID CLIENT_SECRET RESOURCE...');
  process.exit(2);
}

// The test server listens on http://127.0.0.1 (loopback): allow plain HTTP for it only.
const config = await client.discovery(new URL(issuer), clientId, undefined, client.ClientSecretBasic(clientSecret), {
  execute: [client.allowInsecureRequests],
});

const tokens = await client.clientCredentialsGrant(config, new URLSearchParams(resources.map((r) => ['resource', r])));
console.log(JSON.stringify({ access_token: tokens.access_token, scope: tokens.scope }));

try {
  await client.clientCredentialsGrant(config, { resource: 'https://not-registered.example' });
  console.log(JSON.stringify({ error: null }));
} catch (error) {
  if (error instanceof client.ResponseBodyError) {
    console.log(JSON.stringify({ error: error.error, status: error.status }));
  } else {
    throw error;
  }
}
