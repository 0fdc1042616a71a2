# The pages' texts in English: the catalogue every other language follows (SPEC §16).
# Variables: { $brand } the operator's brand name, others as each message says.

## Every page
language-switch = Language
nav-main = Main
nav-clients = API clients
nav-generator = Token generator
nav-connected = Connected apps
nav-security = Security
nav-organization = Organization
nav-your-organizations = your organizations
nav-log-out = Log out
go-to-start = Go to the start page

## The organization's tabs
tab-members = Members
tab-scopes = Scopes
tab-approvals = Approvals
tab-audit = Audit log
tab-settings = Settings

## Notices after a change (`?done=…`)
notice-on = The client is on: it can get tokens again.
notice-off = The client is off: it cannot authenticate, and its live tokens stopped working.
notice-saved = Saved.
notice-switched = You are working in another organization now.
notice-joined = Welcome: you are a member of this organization now.
notice-invited = The invitation is on its way. Its link works for 7 days.
notice-deleted = The client is deleted.
notice-created = The client is created. Copy its secret now; later, Show on this page brings it back.
notice-rolled = A new secret is made; the old one no longer works.
notice-rolled-grace = A new secret is made; the old one keeps working until the time shown below.
notice-added = Added.
notice-approved = The application is approved for your organization.
notice-rejected = The request is rejected. If a member asks again, it comes back here.
notice-withdrawn = The approval is withdrawn; this organization's users' refresh tokens for it stopped working.
notice-disabled = The member is disabled: their sessions ended and their tokens and clients stopped working.
notice-enabled = The member is enabled again.
notice-callback = The callback is registered. Get a token now.
notice-password = Your password is changed. Every other browser signed in as you was signed out.
notice-verification-sent = A link to verify your email is on its way. It works for 24 hours.
notice-enrol = Your organization requires a second factor: set up an authenticator app or add a passkey to go on.
notice-totp-removed = The authenticator app is removed.
notice-passkey-added = The passkey is added: use it to sign in, instead of your password or after it.
notice-passkey-removed = The passkey is removed.
notice-session-ended = That browser is signed out.
notice-joined-sso = You joined the organization. It signs its members in through its identity provider: sign out, then sign in there to work in it.
notice-removed = Removed.
notice-sessions-ended = Every other browser is signed out.
notice-verification-not-sent = No link was sent: email is off, the address is verified already, or too many links were sent in the last hour.
# On a page that failed on the server's side (5xx); $id: the request's X-Request-Id.
error-request-id = Request id: { $id } (it helps the operator find what happened).
