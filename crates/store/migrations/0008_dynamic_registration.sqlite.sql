--! rollback: yes. The previous release runs on it (--no-migrate); undo SQL below.
--! Adds tables only. Start the previous release with --no-migrate: it does not know this migration
--! and would refuse to migrate. To undo it (loses initial access tokens and registration access
--! tokens; registered clients stay as ordinary clients; undo newer migrations first):
--!     DROP TABLE client_registrations;
--!     DROP TABLE initial_access_tokens;
--!     DELETE FROM _sqlx_migrations WHERE version = 8;
-- Tessera store, version 7: dynamic client registration (RFC 7591) and management (RFC 7592).
-- Initial access tokens are made by an org owner/admin or the operator for one owner; each
-- registration spends one use in the same transaction that inserts the client (one conditional
-- UPDATE, so several nodes on one store agree). A registered client's registration access
-- token is kept as a keyed hash and goes with the client when it is deleted.

CREATE TABLE initial_access_tokens (
    token_hash BLOB PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    owner_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    -- NULL: never expires.
    expires_at INTEGER,
    -- NULL: any number of registrations.
    uses_left  INTEGER CHECK (uses_left IS NULL OR uses_left >= 0)
);

CREATE TABLE client_registrations (
    client_id  TEXT PRIMARY KEY REFERENCES clients(id) ON DELETE CASCADE,
    token_hash BLOB NOT NULL
);
