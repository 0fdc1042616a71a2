--! rollback: yes. The previous release runs on it (--no-migrate); undo SQL below.
--! Adds a table only. Start the previous release with --no-migrate: it does not know this migration
--! and would refuse to migrate. To undo it (loses the login lock-out counters; undo newer
--! migrations first):
--!     DROP TABLE failure_counts;
--!     DELETE FROM _sqlx_migrations WHERE version = 3;
-- Tessera store, version 3 (PostgreSQL): failure counters shared by every node on the store
-- (login lock-outs per account and per address), in fixed windows. New tables only: no lock
-- on a table a running node uses.

SET LOCAL lock_timeout = '5s';

CREATE TABLE failure_counts (
    key        TEXT PRIMARY KEY,
    window_end BIGINT NOT NULL,
    count      INTEGER NOT NULL
);
CREATE INDEX failure_counts_end ON failure_counts(window_end);
