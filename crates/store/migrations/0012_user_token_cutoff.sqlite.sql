--! rollback: yes. The previous release runs on it (--no-migrate); undo SQL below.
--! Adds a column only, which the previous release ignores. To undo it (lowered roles no longer cut
--! off earlier tokens; undo newer migrations first):
--!     ALTER TABLE users DROP COLUMN tokens_not_before;
--!     DELETE FROM _sqlx_migrations WHERE version = 12;
-- Tessera store, version 11: a user's token cutoff. Access tokens of the user issued before this
-- time (Unix seconds) no longer work; set when the user's role is lowered, so that introspection,
-- userinfo, the admin API and every guard (through the revocation feed) refuse the tokens issued
-- under the higher role at once (SPEC §12). NULL: no cutoff.
ALTER TABLE users ADD COLUMN tokens_not_before INTEGER;
