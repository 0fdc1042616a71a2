--! rollback: yes. The previous release runs on it (--no-migrate); undo SQL below.
--! Adds tables only. Start the previous release with --no-migrate: it does not know this migration
--! and would refuse to migrate. To undo it (every authenticator app and recovery code is lost, and
--! the users who had one sign in with their password alone; undo newer migrations first):
--!     DROP TABLE login_challenges;
--!     DROP TABLE recovery_codes;
--!     DROP TABLE totp_factors;
--!     DELETE FROM _sqlx_migrations WHERE version = 15;
-- Tessera store, version 15: second factors (SPEC §11). A user's authenticator app (RFC 6238 TOTP):
-- its secret sealed under the master key, whether it was confirmed with a first code, and the last
-- time step accepted (each code works once). Their single-use recovery codes, as keyed hashes. And
-- the sign-ins waiting for their second factor, by the keyed hash of a cookie of their own.
CREATE TABLE totp_factors (
    user_id       TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret_sealed BLOB NOT NULL,
    created_at    INTEGER NOT NULL,
    -- NULL until the first correct code: an unconfirmed factor is not asked for at sign-in.
    confirmed_at  INTEGER,
    last_step     INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE recovery_codes (
    user_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash BLOB NOT NULL,
    used_at   INTEGER,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE login_challenges (
    id_hash    BLOB PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- Where the sign-in goes once the second factor is given (a path on this server).
    return_to  TEXT NOT NULL,
    -- On the lifetime clock, as sessions are.
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    ip         TEXT,
    user_agent TEXT
);
CREATE INDEX login_challenges_expiry ON login_challenges(expires_at);
