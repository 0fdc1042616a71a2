--! rollback: yes. The previous release runs on it (--no-migrate); undo SQL below.
--! Adds columns with defaults. Start the previous release with --no-migrate: it does not know this
--! migration and would refuse to migrate. It ignores the columns: tokens carry the default audience
--! only. To undo it (loses the clients' registered resources; undo newer migrations first):
--!     ALTER TABLE grants DROP COLUMN resources;
--!     ALTER TABLE clients DROP COLUMN resources;
--!     DELETE FROM _sqlx_migrations WHERE version = 7;
-- Tessera store, version 6: resource indicators (RFC 8707). A client registers the resources
-- (absolute URIs, a JSON array) it may ask tokens for; a grant records the resources named at
-- authorization, which its later token requests may narrow but never widen.

ALTER TABLE clients ADD COLUMN resources TEXT NOT NULL DEFAULT '[]';
ALTER TABLE grants ADD COLUMN resources TEXT NOT NULL DEFAULT '[]';
