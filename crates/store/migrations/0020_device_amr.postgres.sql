--! rollback: yes. The previous release runs on it (--no-migrate); undo SQL below.
--! Adds a column only, which the previous release ignores. To undo it (device grants approved
--! before the undo say no amr in their ID tokens; undo newer migrations first):
--!     ALTER TABLE device_authorizations DROP COLUMN amr;
--!     DELETE FROM _sqlx_migrations WHERE version = 20;
-- Tessera store, version 20: how the user who approved a device authorization signed in (RFC 8176
-- authentication method references, space-separated, as sessions and grants keep them), so that
-- the device grant's ID tokens say it (`amr`, `acr`). NULL: not known.
ALTER TABLE device_authorizations ADD COLUMN amr TEXT;
