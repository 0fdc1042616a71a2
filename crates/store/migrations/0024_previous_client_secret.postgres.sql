--! rollback: yes. The previous release runs on it (--no-migrate); undo SQL below.
--! Adds columns only, which the previous release ignores (a secret rolled with a grace period
--! then stops at once, as before this version). To undo it (undo newer migrations first):
--!     ALTER TABLE clients DROP COLUMN previous_secret_tag;
--!     ALTER TABLE clients DROP COLUMN previous_secret_expires_at;
--!     DELETE FROM _sqlx_migrations WHERE version = 24;
-- Tessera store, version 24: a client secret rolled with a grace period. The secret it replaced
-- keeps working until previous_secret_expires_at (Unix seconds): its keyed tag, never the secret.
-- Housekeeping clears both once that time has passed. NULL: no grace running.
ALTER TABLE clients ADD COLUMN previous_secret_tag BYTEA;
ALTER TABLE clients ADD COLUMN previous_secret_expires_at BIGINT;
