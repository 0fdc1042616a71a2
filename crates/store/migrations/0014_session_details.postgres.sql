--! rollback: yes. The previous release runs on it (--no-migrate); undo SQL below.
--! Adds columns only, which the previous release ignores. To undo it (the list of signed-in browsers
--! loses their addresses and browsers; undo newer migrations first):
--!     ALTER TABLE sessions DROP COLUMN user_agent;
--!     ALTER TABLE sessions DROP COLUMN ip;
--!     DELETE FROM _sqlx_migrations WHERE version = 14;
-- Tessera store, version 14: where a browser session was signed in from (SPEC §11: the user's list of
-- signed-in browsers on /settings/security shows the address and the browser). NULL for sessions
-- made before this version.
ALTER TABLE sessions ADD COLUMN ip TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
