# portal pages (en). Keys start with "portal-".
# Variables: { $name } a client's name, { $answer } what a server answered, { $count } a number.
# A message that goes on right after inline markup (`<code>…</code>`, a link) and must start
# with a space keeps it as {" "}.

## Shared by the client pages
portal-clients = API clients
portal-new-client = New API client
portal-cancel = Cancel
portal-status-on = On
portal-status-off = Off
portal-name = Name
portal-client-id = Client ID
portal-grants = Grants
portal-scopes = Scopes
portal-owner = Owner
portal-status = Status
portal-redirect-uris = Redirect URIs
portal-allowed-origins = Allowed origins
portal-allowed-ips = Allowed IP ranges
portal-resources = Resources
portal-copy = Copy
# What the copy buttons' status line tells screen readers (assets/copy.js).
portal-copied = Copied.
portal-copy-failed = The browser did not allow copying: select the text and copy it.

## The list of clients
portal-clients-new = New client
portal-clients-none = You have no API clients yet. Create one to get tokens for the API.

## What will use a new client
portal-kind-intro = What will use it? The answer sets how it gets tokens; you can change that later under Advanced settings.
portal-kind-server = Server or script
portal-kind-server-text = A back-end service, scheduled job or command-line script calling the API as itself, with its own ID and secret.
portal-kind-web-app = Web app with a back end
portal-kind-web-app-text = Signs people in and calls the API for them; its server keeps the secret.
portal-kind-single-page = Single-page app
portal-kind-single-page-text = Runs in the browser (React, Vue, Angular…); it keeps no secret and proves itself with PKCE.
portal-kind-native = Mobile or desktop app
portal-kind-native-text = An app on the person's phone or computer; it keeps no secret and comes back through a redirect.
portal-kind-device = Device without a browser
portal-kind-device-text = A TV, console or command-line tool: the person approves a short code on their phone or laptop.
portal-kind-exchanging = Service acting for users
portal-kind-exchanging-text = A back-end service that trades a person's token for a narrower one to call another API (token exchange).

## The client form
portal-form-edit = Edit { $name }
portal-form-for = For:
portal-form-change = Change
portal-form-name-hint = (your customers see it when they authorize the app)
portal-form-scopes-hint = (what its tokens may do; choose at least one)
portal-form-no-scopes = Your organization has no scopes yet: an admin adds them under Organization, Scopes.
portal-form-restricted = restricted
portal-form-restricted-not-allowed = restricted: only owners and admins may grant it
portal-form-advanced = Advanced settings
portal-form-public = Public client
portal-form-public-hint = (runs where a secret cannot be kept: in a browser, on a phone or a device; it proves itself with PKCE)
portal-form-grant-removed = A grant removed stops working at the client's next token request; access tokens already issued live out their lifetime.
portal-form-redirect-uris-hint = (where users come back after signing in; one per line, matched exactly)
portal-form-allowed-origins-hint = (the web addresses your browser app runs at, for CORS; one per line: https://app.example.com)
portal-form-public-key = Public key
# Around <code>private_key_jwt</code>.
portal-form-public-key-hint = (optional: paste a JWK, a JWKS or a PEM public key, and the client authenticates with a JWT it signs,
portal-form-public-key-hint-end = , instead of a secret; never the private key)
# Around <code>resource</code>.
portal-form-resources-hint = (APIs this client may ask tokens for with
portal-form-resources-hint-end = , RFC 8707; absolute URIs, one per line)
portal-form-allowed-ips-hint = (one per line, CIDR; empty: any)
portal-form-run-as = Run as user
portal-form-run-as-hint = (whose identity client-credentials tokens carry)
portal-form-ttl = Access-token lifetime in seconds
portal-form-ttl-hint = (empty: the server's default)
portal-form-org-approval = Requires approval by an admin of each user's organization
portal-form-pkce = PKCE in the code flow
# Around <code>code_challenge</code>.
portal-form-pkce-hint = (optional only for a legacy confidential client that sends no
portal-form-pkce-hint-end = ; a public client always uses PKCE)
portal-form-pkce-required = Required
portal-form-pkce-optional = Optional
portal-form-par = Requires pushed authorization requests (PAR, RFC 9126)
portal-form-dpop = Requires DPoP-bound access tokens (every token request carries a DPoP proof, RFC 9449)
portal-form-save = Save
portal-form-create = Create client
portal-form-correct = Please correct the fields marked below.
# What each grant is for, after its name.
portal-grant-client-credentials = a server calling the API as itself
portal-grant-authorization-code = an app acting for its users, through sign-in and consent
portal-grant-refresh-token = keeps users signed in (with authorization_code)
portal-grant-implicit = legacy browser apps: the token comes back in the URL fragment
portal-grant-device-code = TVs, consoles and command-line tools: the user approves a code on another device
portal-grant-token-exchange = a service exchanging a user's token for a narrower one for a downstream API (RFC 8693)
# Problems with the form, as clauses: the page starts them with a capital and ends them with a full stop.
portal-problem-no-grant = pick at least one grant
portal-problem-no-scope = choose at least one scope
portal-problem-ttl = the access-token lifetime must be a whole number of seconds
portal-problem-pkce = choose whether PKCE is required or optional

## A client's page
portal-client-secret = Client secret
portal-client-secret-public = None: a public client authenticates with PKCE.
# Followed by " (<code>private_key_jwt</code>)."
portal-client-secret-key = None: this client authenticates with a JWT signed by its private key
# For screen readers, after "Copy".
portal-client-copy-id = the client ID
portal-client-copy-secret = the secret
portal-client-keep-safe = Keep it safe: anyone holding it can get tokens as this client.
portal-client-show = Show
portal-client-owner-only = Only the client's owner may see it.
# Followed by the time, in bold, and a full stop.
portal-client-previous-secret = The previous secret works too until
portal-client-public-keys = Public keys
# Followed by the key set's address.
portal-client-fetched-from = fetched from
portal-client-created = Created
portal-client-last-used = Last used
portal-client-never-used = not yet
portal-client-run-as = Run as
portal-client-none = none
portal-client-no-resources = none (tokens carry the default audience)
portal-client-any = any
portal-client-ttl = Access-token lifetime
portal-client-server-default = server default
portal-client-org-approval = Organization approval
portal-client-required = required
portal-client-not-required = not required
portal-client-pkce = PKCE
portal-client-pkce-optional = optional (a legacy client: the code flow may leave it out)
portal-client-par = Pushed authorization requests
portal-client-dpop = DPoP-bound access tokens
portal-client-edit = Edit
portal-client-roll = Roll secret
portal-client-turn-off = Turn off
portal-client-turn-on = Turn on
portal-client-get-token = Get a token
portal-client-delete = Delete
portal-status-refused = This cannot be done
portal-status-invalid = The status must be on or off.

## Asking before a change to a client
portal-confirm-delete = Delete { $name }?
portal-confirm-delete-text = The client and its secret are removed for good; every token it holds stops working.
portal-confirm-delete-button = Delete client
portal-confirm-off = Turn { $name } off?
portal-confirm-off-text = It can no longer get tokens, and the tokens it holds stop working at once. You can turn it on again later.
portal-confirm-roll = Roll the secret of { $name }?
portal-confirm-roll-text = A new secret is made and shown next. Until the current one stops working, both are accepted: time to move whatever uses it to the new one. Tokens already issued keep working until they expire.
portal-confirm-grace = When does the current secret stop working?
portal-grace-now = At once
portal-grace-hour = In 1 hour
portal-grace-day = In 24 hours
portal-grace-week = In 7 days

## The access-token generator
portal-generator = Access-token generator
portal-generator-intro = Get an access token for one of your clients, to try the API by hand. A client with the client-credentials grant gets one at once; a browser client takes you through the sign-in and consent pages its users see, and back here.
portal-generator-no-clients = You have no API clients.
# A link, then portal-generator-create-one-end.
portal-generator-create-one = Create one
portal-generator-create-one-end = {" "}first.
portal-generator-client = Client
portal-generator-scope = Scope
portal-generator-scope-hint = (empty: everything the client may get)
portal-generator-get = Get a token
# Around the callback's address, <code>…</code>.
portal-generator-callback = To use the walk-through, this client must accept
portal-generator-callback-end = as a redirect URI.
portal-generator-add-callback = Add it to the client
portal-generator-your-token = Your access token
portal-generator-token = Access token
portal-generator-copy-token = Copy the token
portal-generator-expires = Expires
# $count: seconds.
portal-generator-expires-in = in { $count } s
portal-generator-decoded = What it says
portal-generator-header = Header
portal-generator-claims = Claims
# Followed by ":" (and portal-generator-api-url before it when the API's address is not known).
portal-generator-call = Call the API with it
# Around <code>$API_URL</code> and <code>serve --api-base-url</code>.
portal-generator-api-url = (set
portal-generator-api-url-middle = to your API's address; the operator can put it here with
portal-generator-api-url-end = )
portal-generator-copy-command = Copy the command
portal-generator-yourself = Or get tokens yourself (the secret is on the client's page):
# The kind of client, after its name in the list.
portal-generator-kind-client-credentials = client credentials
portal-generator-kind-code = browser, code flow
portal-generator-kind-implicit = browser, implicit
portal-generator-kind-none = no token grant
# $answer: the error code and its description, "invalid_scope: …".
portal-generator-token-endpoint-answered = The token endpoint answered { $answer }
portal-generator-not-approved = This application is not approved for your organization yet.
portal-generator-too-many-attempts = Too many failed attempts for this client; try again later.
portal-generator-no-grant = This client has no grant that gives access tokens.
portal-generator-expired = This walk-through has expired. Start again.
# $answer: the error code and its description, "access_denied: …".
portal-generator-server-answered = The authorization server answered { $answer }
portal-generator-not-yours = This answer does not belong to the walk-through you started. Start again.

## The implicit walk-through's script (assets/generator.js), read from the page.
# Followed by the error code the authorization server sent.
portal-generator-script-answered = The authorization server answered:{" "}
portal-generator-no-token = No token came back for this walk-through. Start again from the generator.
