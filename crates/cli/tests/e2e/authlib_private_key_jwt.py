"""private_key_jwt interop: Python's authlib (with requests) gets a client-credentials token from
Tessera with its own PrivateKeyJWT client authentication, then verifies the access token
against Tessera's published JWKS with joserfc (authlib's JOSE library). Run by
crates/cli/tests/e2e/interop.rs; prints one JSON object on stdout.

usage: authlib_private_key_jwt.py ISSUER CLIENT_ID PRIVATE_KEY_PEM_FILE KID
"""

import json
import sys

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet


def main():
    issuer, client_id, key_file, kid = sys.argv[1:5]
    metadata = requests.get(issuer + "/.well-known/openid-configuration", timeout=10).json()
    token_endpoint = metadata["token_endpoint"]
    assert "private_key_jwt" in metadata["token_endpoint_auth_methods_supported"], metadata
    assert "ES256" in metadata["token_endpoint_auth_signing_alg_values_supported"], metadata

    with open(key_file, encoding="ascii") as f:
        private_key = ECKey.import_key(f.read())
    session = OAuth2Session(client_id, private_key, token_endpoint_auth_method="private_key_jwt")
    session.register_client_auth_method(PrivateKeyJWT(token_endpoint, alg="ES256", headers={"kid": kid}))
    token = session.fetch_token(token_endpoint, grant_type="client_credentials", scope="read")
    # A second token: authlib makes a fresh jti for every assertion.
    second = session.fetch_token(token_endpoint, grant_type="client_credentials")

    jwks = KeySet.import_key_set(requests.get(metadata["jwks_uri"], timeout=10).json())
    verified = jwt.decode(token["access_token"], jwks, algorithms=["ES256"])
    assert verified.header["typ"] == "at+jwt", verified.header
    claims = verified.claims
    jwt.JWTClaimsRegistry(iss={"essential": True, "value": issuer}, exp={"essential": True}).validate(claims)
    print(json.dumps({"token": token, "claims": claims, "second_differs": second["access_token"] != token["access_token"]}))


if __name__ == "__main__":
    main()
