-- A user's token cutoff: access tokens of the user issued before this time (Unix seconds) no
-- longer work. Set when the user's role is lowered, so that introspection, userinfo, the admin
-- API and every guard (through the revocation feed) refuse the tokens issued under the higher
-- role at once (SPEC §12). NULL: no cutoff.
-- Rollback: the column is ignored by older versions; drop it with
--   ALTER TABLE users DROP COLUMN tokens_not_before;
ALTER TABLE users ADD COLUMN tokens_not_before INTEGER;
