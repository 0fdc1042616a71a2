--! rollback: yes. The previous release runs on it (--no-migrate); undo SQL below.
--! Adds a column and an index, which the previous release ignores. To undo it (a token
--! exchange's grant no longer ends with the grant it came from; undo newer migrations first):
--!     DROP INDEX grants_parent;
--!     ALTER TABLE grants DROP COLUMN parent_id;
--!     DELETE FROM _sqlx_migrations WHERE version = 23;
-- Tessera store, version 23: the grant a grant descends from. A token exchange records a grant
-- of its own (the exchanging client acting for the subject's user) under the grant of the token
-- it exchanged: revoking the parent revokes its descendants, and deleting it deletes them, so an
-- exchanged token ends with the authorization it came from, and withdrawing an organization's
-- approval of the exchanging client reaches it. NULL: a grant a user made.
ALTER TABLE grants ADD COLUMN parent_id TEXT REFERENCES grants(id) ON DELETE CASCADE;
CREATE INDEX grants_parent ON grants(parent_id) WHERE parent_id IS NOT NULL;
