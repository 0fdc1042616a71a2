--! rollback: yes. The previous release runs on it (--no-migrate); undo SQL below.
--! Adds a column with a default and tables. Start the previous release with --no-migrate: it does
--! not know this migration and would refuse to migrate. It ignores the column: clients registered
--! with --require-par are served without PAR. To undo it (loses pending pushed requests and device
--! authorizations; undo newer migrations first):
--!     DROP TABLE device_authorizations;
--!     DROP TABLE pushed_requests;
--!     ALTER TABLE clients DROP COLUMN require_pushed_authorization_requests;
--!     DELETE FROM _sqlx_migrations WHERE version = 6;
-- Tessera store, version 6 (PostgreSQL): pushed authorization requests (RFC 9126). A client may
-- be registered as having to push its authorization requests; a pushed request is stored under
-- the keyed hash of its request_uri's reference, opened once by the authorization endpoint and
-- consumed by the answer to the client (single-use: one UPDATE decides, on every node).

SET LOCAL lock_timeout = '5s';

-- A constant default: no table rewrite, only a brief lock.
ALTER TABLE clients ADD COLUMN require_pushed_authorization_requests BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE pushed_requests (
    reference_hash BYTEA PRIMARY KEY,
    client_id      TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    -- The validated authorization request, form-encoded.
    params         TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    -- Unopened after this, it is refused.
    expires_at     BIGINT NOT NULL,
    -- First used at the authorization endpoint; the login and consent window counts from here.
    opened_at      BIGINT,
    consumed_at    BIGINT
);
CREATE INDEX pushed_requests_client ON pushed_requests(client_id);
CREATE INDEX pushed_requests_expiry ON pushed_requests(expires_at);

-- The device authorization grant (RFC 8628). The device code and the user code are stored only
-- as keyed hashes; every change of state is one conditional UPDATE (a poll only if no other
-- poll came in between, an approval only while pending, tokens only once), so nodes agree.
CREATE TABLE device_authorizations (
    device_code_hash BYTEA PRIMARY KEY,
    user_code_hash   BYTEA NOT NULL UNIQUE,
    client_id        TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    scope            TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    -- Seconds between polls; slow_down raises it.
    poll_interval    BIGINT NOT NULL,
    last_polled_at   BIGINT,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'consumed')),
    user_id          TEXT REFERENCES users(id) ON DELETE CASCADE,
    auth_time        BIGINT
);
CREATE INDEX device_authorizations_expiry ON device_authorizations(expires_at);
