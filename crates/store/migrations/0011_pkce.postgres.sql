--! rollback: yes. The previous release runs on it (--no-migrate); undo SQL below.
--! Adds a column that the previous release does not read; while it runs, clients it creates get
--! the default, 'required'. To undo it (every client's PKCE setting is lost; undo newer
--! migrations first):
--!     ALTER TABLE clients DROP COLUMN pkce;
--!     DELETE FROM _sqlx_migrations WHERE version = 11;
-- Tessera store, version 10 (PostgreSQL): whether a client must use PKCE in the code flow
-- (SPEC §12, OAuth 2.1 §4.1.1): 'required' (the default for new clients, and always for public
-- ones) or 'optional' (a legacy confidential client that sends no code_challenge).
-- Clients registered before this version keep working as they did: a confidential client with
-- the authorization_code grant was allowed to leave PKCE out, so it becomes 'optional'
-- (`tessera client update ID --pkce required` tightens it).
-- ADD COLUMN with a constant default rewrites nothing, but it takes a brief exclusive lock:
-- do not wait behind a long transaction of a running node.

SET LOCAL lock_timeout = '5s';

ALTER TABLE clients ADD COLUMN pkce TEXT NOT NULL DEFAULT 'required' CHECK (pkce IN ('required', 'optional'));
UPDATE clients SET pkce = 'optional' WHERE NOT public AND (' ' || grants || ' ') LIKE '% authorization_code %';
