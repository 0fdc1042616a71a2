--! rollback: yes. The previous release runs on it (--no-migrate); undo SQL below.
--! Adds a column with a default and tables. Start the previous release with --no-migrate: it does
--! not know this migration and would refuse to migrate. It ignores the column: clients registered
--! with --require-par are served without PAR. To undo it (loses pending pushed requests and device
--! authorizations; undo newer migrations first):
--!     DROP TABLE device_authorizations;
--!     DROP TABLE pushed_requests;
--!     ALTER TABLE clients DROP COLUMN require_pushed_authorization_requests;
--!     DELETE FROM _sqlx_migrations WHERE version = 6;
-- Tessera store, version 5: pushed authorization requests (RFC 9126) and device authorizations
-- (RFC 8628, below). A client may be registered
-- as having to push its authorization requests; a pushed request is stored under the keyed
-- hash of its request_uri's reference, opened once by the authorization endpoint and consumed
-- by the answer to the client (single-use, so several nodes on one store agree).

ALTER TABLE clients ADD COLUMN require_pushed_authorization_requests INTEGER NOT NULL DEFAULT 0
    CHECK (require_pushed_authorization_requests IN (0, 1));

CREATE TABLE pushed_requests (
    reference_hash BLOB PRIMARY KEY,
    client_id      TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    -- The validated authorization request, form-encoded.
    params         TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    -- Unopened after this, it is refused.
    expires_at     INTEGER NOT NULL,
    -- First used at the authorization endpoint; the login and consent window counts from here.
    opened_at      INTEGER,
    consumed_at    INTEGER
);
CREATE INDEX pushed_requests_client ON pushed_requests(client_id);
CREATE INDEX pushed_requests_expiry ON pushed_requests(expires_at);

-- The device authorization grant (RFC 8628). The device code and the user code are stored only
-- as keyed hashes; every change of state is one conditional UPDATE (a poll only if no other
-- poll came in between, an approval only while pending, tokens only once), so nodes agree.
CREATE TABLE device_authorizations (
    device_code_hash BLOB PRIMARY KEY,
    user_code_hash   BLOB NOT NULL UNIQUE,
    client_id        TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    scope            TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    -- Seconds between polls; slow_down raises it.
    poll_interval    INTEGER NOT NULL,
    last_polled_at   INTEGER,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'consumed')),
    user_id          TEXT REFERENCES users(id) ON DELETE CASCADE,
    auth_time        INTEGER
);
CREATE INDEX device_authorizations_expiry ON device_authorizations(expires_at);
