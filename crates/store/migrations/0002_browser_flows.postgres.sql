--! rollback: yes. The previous release runs on it (--no-migrate); undo SQL below.
--! Adds tables only. Start the previous release with --no-migrate: it does not know this migration
--! and would refuse to migrate. To undo it (loses browser sessions, grants with their codes and
--! refresh tokens, consents and organization approvals; undo newer migrations first):
--!     DROP TABLE org_approvals;
--!     DROP TABLE consents;
--!     DROP TABLE refresh_tokens;
--!     DROP TABLE authorization_codes;
--!     DROP TABLE grants;
--!     DROP TABLE sessions;
--!     DELETE FROM _sqlx_migrations WHERE version = 2;
-- Tessera store, version 2 (PostgreSQL): the browser flows. Browser sessions, authorization
-- codes, grants (the family of tokens that descend from one authorization), refresh tokens,
-- remembered consent and org approvals. Codes, refresh tokens and session ids are stored only
-- as keyed hashes (HMAC-SHA256 under a key derived from the master key).

SET LOCAL lock_timeout = '5s';

CREATE TABLE sessions (
    id_hash      BYTEA PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- When the user last entered their password (OIDC auth_time, max_age).
    auth_time    BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    -- The absolute end; the idle end is last_seen_at plus the idle timeout.
    expires_at   BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expiry ON sessions(expires_at);

-- One authorization by one user for one client; every code, refresh token and access token
-- issued from it carries its id, so revoking it stops them all.
CREATE TABLE grants (
    id         TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    auth_time  BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    -- When the refresh family dies, counted from the grant; NULL: never (lifetime 0).
    expires_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX grants_user ON grants(user_id);
CREATE INDEX grants_client ON grants(client_id);

CREATE TABLE authorization_codes (
    code_hash      BYTEA PRIMARY KEY,
    grant_id       TEXT NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
    redirect_uri   TEXT,
    code_challenge TEXT,
    nonce          TEXT,
    issued_at      BIGINT NOT NULL,
    consumed_at    BIGINT
);
CREATE INDEX authorization_codes_issued ON authorization_codes(issued_at);
CREATE INDEX authorization_codes_grant ON authorization_codes(grant_id);

CREATE TABLE refresh_tokens (
    token_hash BYTEA PRIMARY KEY,
    grant_id   TEXT NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
    state      TEXT NOT NULL CHECK (state IN ('active', 'rotated')),
    issued_at  BIGINT NOT NULL
);
CREATE INDEX refresh_tokens_grant ON refresh_tokens(grant_id);
-- At most one live token per family: a rotation race has exactly one winner.
CREATE UNIQUE INDEX refresh_tokens_one_active ON refresh_tokens(grant_id) WHERE state = 'active';

CREATE TABLE consents (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

CREATE TABLE org_approvals (
    client_id   TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    org_id      TEXT NOT NULL REFERENCES orgs(id),
    approved_by TEXT NOT NULL,
    approved_at BIGINT NOT NULL,
    PRIMARY KEY (client_id, org_id)
);
CREATE INDEX org_approvals_org ON org_approvals(org_id);
