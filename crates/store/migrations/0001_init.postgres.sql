--! rollback: no. The first schema: nothing earlier to go back to.
--! To start over, restore a backup or begin with an empty store.
-- Tessera store, version 1 (PostgreSQL): organizations, users, scopes, clients, signing keys,
-- revoked tokens, the audit log and the change feed that keeps node caches fresh.
-- The same schema as migrations/sqlite/0001_init.sql, in PostgreSQL's types.

-- A migration waits at most this long for a lock and then fails (the node retries at its
-- next start) instead of queueing, with its lock request, in front of every running node.
SET LOCAL lock_timeout = '5s';

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE orgs (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id                     TEXT PRIMARY KEY,
    org_id                 TEXT NOT NULL REFERENCES orgs(id),
    email                  TEXT NOT NULL,
    role                   TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    service                BOOLEAN NOT NULL,
    authorize_applications BOOLEAN NOT NULL,
    disabled               BOOLEAN NOT NULL DEFAULT FALSE,
    password_hash          TEXT,
    created_at             BIGINT NOT NULL
);
-- Emails are unique whatever their case (SQLite: COLLATE NOCASE); looked up by lower(email).
CREATE UNIQUE INDEX users_email ON users (lower(email));
CREATE INDEX users_org ON users(org_id);

CREATE TABLE scopes (
    org_id     TEXT NOT NULL REFERENCES orgs(id),
    name       TEXT NOT NULL,
    restricted BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, name)
);

CREATE TABLE clients (
    id                    TEXT PRIMARY KEY,
    org_id                TEXT NOT NULL REFERENCES orgs(id),
    name                  TEXT NOT NULL,
    owner_id              TEXT NOT NULL REFERENCES users(id),
    run_as_id             TEXT NOT NULL REFERENCES users(id),
    public                BOOLEAN NOT NULL,
    grants                TEXT NOT NULL,
    scopes                TEXT NOT NULL,
    -- JSON arrays of strings.
    redirect_uris         TEXT NOT NULL,
    allowed_origins       TEXT NOT NULL,
    allowed_ips           TEXT NOT NULL,
    access_token_ttl      BIGINT,
    requires_org_approval BOOLEAN NOT NULL,
    status                TEXT NOT NULL CHECK (status IN ('on', 'off')),
    -- HMAC-SHA256 of the secret under a key derived from the master key, and the secret sealed
    -- with AES-256-GCM so that its owner can see it again. Both NULL for public clients.
    secret_tag            BYTEA,
    secret_sealed         BYTEA,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL
);
CREATE INDEX clients_org ON clients(org_id);
CREATE INDEX clients_owner ON clients(owner_id);

CREATE TABLE signing_keys (
    kid            TEXT PRIMARY KEY,
    alg            TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('next', 'current', 'retired')),
    private_sealed BYTEA NOT NULL,
    public_jwk     TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    activated_at   BIGINT,
    retired_at     BIGINT
);
-- At most one current key: the one every node signs with.
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys(state) WHERE state = 'current';

CREATE TABLE revoked_tokens (
    jti        TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT NOT NULL
);
CREATE INDEX revoked_tokens_expiry ON revoked_tokens(expires_at);

CREATE TABLE audit_log (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      BIGINT NOT NULL,
    org_id  TEXT,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT,
    ip      TEXT,
    detail  TEXT NOT NULL
);
CREATE INDEX audit_log_org ON audit_log(org_id, id);

-- Every committed change to a cached entity appends a row here, in the same transaction, and
-- notifies the channel `tessera_changes` on commit. Nodes read the rows past their cursor to
-- drop stale cache entries. Writers take one advisory lock before drawing a `seq`, so rows
-- become visible in `seq` order and a reader's cursor never skips a row committed late.
CREATE TABLE changes (
    seq       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    at        BIGINT NOT NULL
);
