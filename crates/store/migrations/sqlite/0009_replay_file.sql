-- Tessera store, version 9: the spent ids of client assertions (RFC 7523) and DPoP proofs
-- (RFC 9449) move to a SQLite file of their own beside this one (`tessera-replay.db`, written by
-- crates/store/src/sqlite_replay.rs), so that spending one no longer moves this file's change
-- counter, which tells every node to re-read the change feed. Ids spent before the upgrade are
-- forgotten with these tables: an assertion lives at most an hour and a proof five minutes.
DROP TABLE dpop_jtis;
DROP TABLE client_assertion_jtis;
