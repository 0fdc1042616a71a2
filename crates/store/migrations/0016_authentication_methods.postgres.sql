--! rollback: yes. The previous release runs on it (--no-migrate); undo SQL below.
--! Adds columns only, which the previous release ignores. To undo it (ID tokens lose amr and acr;
--! undo newer migrations first):
--!     ALTER TABLE grants DROP COLUMN amr;
--!     ALTER TABLE sessions DROP COLUMN amr;
--!     DELETE FROM _sqlx_migrations WHERE version = 16;
-- Tessera store, version 16: how a browser session signed in (RFC 8176 authentication method
-- references, space-separated: `pwd`, or `pwd otp mfa` after an authenticator code), and the same
-- on each grant made from the session, so that ID tokens say it (`amr`, `acr`), also after a
-- refresh. NULL for sessions and grants made before this version: a password.
ALTER TABLE sessions ADD COLUMN amr TEXT;
ALTER TABLE grants ADD COLUMN amr TEXT;
