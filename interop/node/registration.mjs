// Dynamic client registration (RFC 7591) done by openid-client (panva), which nobody here
// wrote, against a running Tessera. Run by crates/cli/tests/e2e/registration.rs:
//
//   node registration.mjs ISSUER INITIAL_ACCESS_TOKEN
//
// Discovers the server, registers a client-credentials client with the initial access token,
// gets a token with the credentials the registration answered, and prints
// {"client_id", "access_token", "scope", "registration_client_uri"} on one line.
import * as client from 'openid-client';

const [issuer, initialAccessToken] = process.argv.slice(2);
if (!initialAccessToken) {
  console.error('usage: node registration.mjs ISSUER INITIAL_ACCESS_TOKEN');
  process.exit(2);
}

// The test server listens on http://127.0.0.1 (loopback): allow plain HTTP for it only.
const config = await client.dynamicClientRegistration(
  new URL(issuer),
  {
    client_name: 'Registered by openid-client',
    grant_types: ['client_credentials'],
    scope: 'read',
    token_endpoint_auth_method: 'client_secret_post',
  },
  undefined,
  { initialAccessToken, execute: [client.allowInsecureRequests] },
);
const metadata = config.clientMetadata();
const tokens = await client.clientCredentialsGrant(config, { scope: 'read' });
console.log(
  JSON.stringify({
    client_id: metadata.client_id,
    access_token: tokens.access_token,
    scope: tokens.scope,
    registration_client_uri: metadata.registration_client_uri,
  }),
);
