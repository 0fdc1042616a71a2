"""Token exchange (RFC 8693) through Authlib's OAuth2Session, which nobody here wrote, against a
running Tessera. Authlib has no token-exchange client of its own; its generic token request
(`fetch_token` with a grant type it does not know) sends the parameters as given, with
client_secret_basic. Run by crates/cli/tests/e2e/token_exchange.rs:

    python3 token_exchange.py TOKEN_ENDPOINT CLIENT_ID CLIENT_SECRET SUBJECT_TOKEN RESOURCE

Prints the token response on one line, then the error Authlib reports for an exchange of a
bogus subject token, as {"error": ...}.
"""

import json
import sys

from authlib.integrations.requests_client import OAuth2Session, OAuthError

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"


def main() -> int:
    if len(sys.argv) != 6:
        print(__doc__, file=sys.stderr)
        return 2
    token_endpoint, client_id, client_secret, subject_token, resource = sys.argv[1:]
    session = OAuth2Session(client_id, client_secret, token_endpoint_auth_method="client_secret_basic")
    token = session.fetch_token(
        token_endpoint,
        grant_type=GRANT_TYPE,
        subject_token=subject_token,
        subject_token_type=ACCESS_TOKEN,
        resource=resource,
        scope="read",
    )
    print(json.dumps(dict(token)), flush=True)
    try:
        session.fetch_token(token_endpoint, grant_type=GRANT_TYPE, subject_token="not-a-token", subject_token_type=ACCESS_TOKEN)
        print(json.dumps({"error": None}))
    except OAuthError as error:
        print(json.dumps({"error": error.error}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
