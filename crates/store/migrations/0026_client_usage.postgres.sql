--! rollback: yes. The previous release runs on it (--no-migrate); undo SQL below.
--! Adds a table, which the previous release ignores (its pages show no last-used time).
--! To undo it (undo newer migrations first):
--!     DROP TABLE client_usage;
--!     DELETE FROM _sqlx_migrations WHERE version = 26;
-- Tessera store, version 26: when each client last authenticated (SPEC §16, "last used"), to the
-- minute. Kept apart from `clients`: a usage mark is not a change of the client's registration, so
-- it has no audit entry and no change-feed row, and writing it never drops a cached client. Each
-- node writes its marks in batches from housekeeping, never on a request.
CREATE TABLE client_usage (
    client_id    TEXT PRIMARY KEY REFERENCES clients(id) ON DELETE CASCADE,
    last_used_at BIGINT NOT NULL
);
