--! rollback: yes. The previous release runs on it (--no-migrate); undo SQL below.
--! Adds a table only. Start the previous release with --no-migrate: it does not know this migration
--! and would refuse to migrate. To undo it (loses only the nodes' progress through the change feed,
--! which they write again; undo newer migrations first):
--!     DROP TABLE nodes;
--!     DELETE FROM _sqlx_migrations WHERE version = 4;
-- Tessera store, version 4 (PostgreSQL only): the running nodes and how far each has followed
-- the change feed. A node writes its row from its listening connection; a process that changed
-- something (the CLI) waits until every live node has seen its change, so a running node applies
-- a CLI change on its very next request. A new table: no lock on a table a running node uses.

SET LOCAL lock_timeout = '5s';

CREATE TABLE nodes (
    id       TEXT PRIMARY KEY,
    -- Every change-feed row up to here is visible to this node's next request.
    seen_seq BIGINT NOT NULL,
    alive_at TIMESTAMPTZ NOT NULL,
    -- The server process of the node's listening session: a node whose session is gone (the
    -- node stopped or was killed) is not waited for.
    backend_pid INTEGER NOT NULL
);
