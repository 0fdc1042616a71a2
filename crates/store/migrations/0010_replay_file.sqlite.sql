--! rollback: yes, by SQL only: the previous release needs the tables this drops.
--! Its private_key_jwt and DPoP requests fail without them: it does not run on this schema as it
--! is. To undo it (the spent ids start empty, as after this migration; undo newer migrations
--! first):
--!     CREATE TABLE client_assertion_jtis (client_id TEXT NOT NULL, jti TEXT NOT NULL,
--!         expires_at INTEGER NOT NULL, PRIMARY KEY (client_id, jti)) WITHOUT ROWID;
--!     CREATE INDEX client_assertion_jtis_expiry ON client_assertion_jtis(expires_at);
--!     CREATE TABLE dpop_jtis (jkt TEXT NOT NULL, jti TEXT NOT NULL,
--!         expires_at INTEGER NOT NULL, PRIMARY KEY (jkt, jti)) WITHOUT ROWID;
--!     CREATE INDEX dpop_jtis_expiry ON dpop_jtis(expires_at);
--!     DELETE FROM _sqlx_migrations WHERE version = 10;
--! The replay file (tessera-replay.db beside the store) is then unused and may be deleted.
-- Tessera store, version 9: the spent ids of client assertions (RFC 7523) and DPoP proofs
-- (RFC 9449) move to a SQLite file of their own beside this one (`tessera-replay.db`, written by
-- crates/store/src/sqlite_replay.rs), so that spending one no longer moves this file's change
-- counter, which tells every node to re-read the change feed. Ids spent before the upgrade are
-- forgotten with these tables: an assertion lives at most an hour and a proof five minutes.
DROP TABLE dpop_jtis;
DROP TABLE client_assertion_jtis;
