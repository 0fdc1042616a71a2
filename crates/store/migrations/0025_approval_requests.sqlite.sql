--! rollback: yes. The previous release runs on it (--no-migrate); undo SQL below.
--! Adds a table, which the previous release ignores (its approvals page lists no requests).
--! To undo it (undo newer migrations first):
--!     DROP TABLE approval_requests;
--!     DELETE FROM _sqlx_migrations WHERE version = 25;
-- Tessera store, version 25: the applications that members of an organization tried to authorize
-- and that await that organization's approval (SPEC §16). One row per organization and client:
-- who asked last, when first and last, how many times. Approving or rejecting removes the row.
CREATE TABLE approval_requests (
    org_id             TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    client_id          TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    requested_by       TEXT REFERENCES users(id) ON DELETE SET NULL,
    first_requested_at INTEGER NOT NULL,
    last_requested_at  INTEGER NOT NULL,
    requests           INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (org_id, client_id)
);
CREATE INDEX approval_requests_client ON approval_requests(client_id);
