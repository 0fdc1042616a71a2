--! rollback: yes. The previous release runs on it (--no-migrate); undo SQL below.
--! Adds a column only, which the previous release ignores. To undo it (tokens issued before a
--! client's scopes or run-as user were cut work again until they expire; undo newer migrations
--! first):
--!     ALTER TABLE clients DROP COLUMN tokens_not_before;
--!     DELETE FROM _sqlx_migrations WHERE version = 22;
-- Tessera store, version 22: a client's access tokens issued before this time (Unix seconds) no
-- longer work: set when its registration loses a scope or changes its run-as user. Introspection
-- checks it and the revocation feed carries it, as the users' cutoff of version 11. NULL: none.
ALTER TABLE clients ADD COLUMN tokens_not_before BIGINT;
