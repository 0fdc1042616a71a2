--! rollback: no. The first schema: nothing earlier to go back to.
--! To start over, restore a backup or begin with an empty store.
-- Tessera store, version 1: organizations, users, scopes, clients, signing keys,
-- revoked tokens, the audit log and the change feed that keeps node caches fresh.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE orgs (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE users (
    id                     TEXT PRIMARY KEY,
    org_id                 TEXT NOT NULL REFERENCES orgs(id),
    email                  TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role                   TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    service                INTEGER NOT NULL CHECK (service IN (0, 1)),
    authorize_applications INTEGER NOT NULL CHECK (authorize_applications IN (0, 1)),
    disabled               INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    password_hash          TEXT,
    created_at             INTEGER NOT NULL
);
CREATE INDEX users_org ON users(org_id);

CREATE TABLE scopes (
    org_id     TEXT NOT NULL REFERENCES orgs(id),
    name       TEXT NOT NULL,
    restricted INTEGER NOT NULL CHECK (restricted IN (0, 1)),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, name)
);

CREATE TABLE clients (
    id                    TEXT PRIMARY KEY,
    org_id                TEXT NOT NULL REFERENCES orgs(id),
    name                  TEXT NOT NULL,
    owner_id              TEXT NOT NULL REFERENCES users(id),
    run_as_id             TEXT NOT NULL REFERENCES users(id),
    public                INTEGER NOT NULL CHECK (public IN (0, 1)),
    grants                TEXT NOT NULL,
    scopes                TEXT NOT NULL,
    redirect_uris         TEXT NOT NULL,
    allowed_origins       TEXT NOT NULL,
    allowed_ips           TEXT NOT NULL,
    access_token_ttl      INTEGER,
    requires_org_approval INTEGER NOT NULL CHECK (requires_org_approval IN (0, 1)),
    status                TEXT NOT NULL CHECK (status IN ('on', 'off')),
    -- HMAC-SHA256 of the secret under a key derived from the master key, and the secret sealed
    -- with AES-256-GCM so that its owner can see it again. Both NULL for public clients.
    secret_tag            BLOB,
    secret_sealed         BLOB,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
);
CREATE INDEX clients_org ON clients(org_id);
CREATE INDEX clients_owner ON clients(owner_id);

CREATE TABLE signing_keys (
    kid            TEXT PRIMARY KEY,
    alg            TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('next', 'current', 'retired')),
    private_sealed BLOB NOT NULL,
    public_jwk     TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    activated_at   INTEGER,
    retired_at     INTEGER
);
-- At most one current key: the one every node signs with.
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys(state) WHERE state = 'current';

CREATE TABLE revoked_tokens (
    jti        TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER NOT NULL
);
CREATE INDEX revoked_tokens_expiry ON revoked_tokens(expires_at);

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    org_id  TEXT,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT,
    ip      TEXT,
    detail  TEXT NOT NULL
);
CREATE INDEX audit_log_org ON audit_log(org_id, id);

-- Every committed change to a cached entity appends a row here, in the same transaction.
-- Nodes read the rows past their cursor to drop stale cache entries.
CREATE TABLE changes (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    at        INTEGER NOT NULL
);
