--! rollback: yes. The previous release runs on it (--no-migrate); undo SQL below.
--! Adds tables only. Start the previous release with --no-migrate: it does not know this migration
--! and would refuse to migrate. To undo it (every passkey is lost; people who had only passkeys as
--! their second factor sign in with their password alone; undo newer migrations first):
--!     DROP TABLE webauthn_ceremonies;
--!     DROP TABLE passkeys;
--!     DELETE FROM _sqlx_migrations WHERE version = 21;
-- Tessera store, version 21: passkeys (WebAuthn, SPEC §11). A person's registered credentials:
-- the credential id the authenticator names, the name the person gave it, and the verified public
-- key with its signature counter as webauthn-rs keeps it (JSON; nothing secret). And the ceremonies
-- under way: the challenge state between the request that starts one and the one that finishes it,
-- by the keyed hash of a handle the page carries, spent by the first attempt to finish.
CREATE TABLE passkeys (
    id            TEXT PRIMARY KEY,
    person_id     TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    -- One credential belongs to one person only (WebAuthn §7.1 step 22).
    credential_id BLOB NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    credential    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER
);
CREATE INDEX passkeys_person ON passkeys(person_id);

CREATE TABLE webauthn_ceremonies (
    id_hash    BLOB PRIMARY KEY,
    -- Whose passkey is being added or asked for; NULL when signing in without a name first.
    person_id  TEXT REFERENCES people(id) ON DELETE CASCADE,
    -- 'register', 'second_factor', 'step_up' or 'sign_in'.
    purpose    TEXT NOT NULL,
    state      TEXT NOT NULL,
    -- On the lifetime clock, as sessions are.
    expires_at INTEGER NOT NULL
);
CREATE INDEX webauthn_ceremonies_expiry ON webauthn_ceremonies(expires_at);
