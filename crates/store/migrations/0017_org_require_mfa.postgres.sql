--! rollback: yes. The previous release runs on it (--no-migrate); undo SQL below.
--! Adds a column only, which the previous release ignores. To undo it (organizations stop requiring
--! a second factor; undo newer migrations first):
--!     ALTER TABLE orgs DROP COLUMN require_mfa;
--!     DELETE FROM _sqlx_migrations WHERE version = 17;
-- Tessera store, version 17: an organization may require a second factor of its members (SPEC §11:
-- tessera org update ORG --require-mfa true); members without one are sent to set one up right
-- after signing in and can do nothing else until they have.
ALTER TABLE orgs ADD COLUMN require_mfa BOOLEAN NOT NULL DEFAULT FALSE;
