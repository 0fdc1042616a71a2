--! rollback: yes. The previous release runs on it (--no-migrate); undo SQL below.
--! Adds columns and an index, which the previous release ignores (a secret rolled with a grace period
--! then stops at once, as before this version). To undo it (undo newer migrations first):
--!     DROP INDEX clients_previous_secret;
--!     ALTER TABLE clients DROP COLUMN previous_secret_tag;
--!     ALTER TABLE clients DROP COLUMN previous_secret_expires_at;
--!     DELETE FROM _sqlx_migrations WHERE version = 24;
-- Tessera store, version 24: a client secret rolled with a grace period. The secret it replaced
-- keeps working until previous_secret_expires_at (Unix seconds): its keyed tag, never the secret.
-- Housekeeping clears both once that time has passed, finding them by the partial index (every
-- 30 s on every node: no scan of all clients). NULL: no grace running.
ALTER TABLE clients ADD COLUMN previous_secret_tag BLOB;
ALTER TABLE clients ADD COLUMN previous_secret_expires_at INTEGER;
CREATE INDEX clients_previous_secret ON clients(previous_secret_expires_at) WHERE previous_secret_expires_at IS NOT NULL;
