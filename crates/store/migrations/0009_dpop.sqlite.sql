--! rollback: yes. The previous release runs on it (--no-migrate); undo SQL below.
--! Adds columns with defaults and a table. Start the previous release with --no-migrate: it does
--! not know this migration and would refuse to migrate. It ignores the columns: clients registered
--! with --require-dpop get bearer tokens, and DPoP-bound refresh tokens are refreshed without a
--! proof. To undo it (DPoP-bound refresh tokens become unbound; undo newer migrations first):
--!     DROP TABLE IF EXISTS dpop_jtis;
--!     ALTER TABLE grants DROP COLUMN dpop_jkt;
--!     ALTER TABLE clients DROP COLUMN dpop_bound_access_tokens;
--!     DELETE FROM _sqlx_migrations WHERE version = 9;
-- Tessera store, version 8: DPoP (RFC 9449).
-- The proof ids already used, each kept while its proof could still pass the iat window
-- (tessera_core::dpop::MAX_AGE); whether a client must present proofs (RFC 9449 §5.2
-- dpop_bound_access_tokens); the key a refresh token is bound to (public clients, §5).

-- One row per proof accepted: a second use of the (key, jti) pair fails the unique insert, on
-- every node of the store. Keyed by the proof key's thumbprint: only its holder can make proofs.
CREATE TABLE dpop_jtis (
    jkt        TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (jkt, jti)
) WITHOUT ROWID;
CREATE INDEX dpop_jtis_expiry ON dpop_jtis(expires_at);

ALTER TABLE clients ADD COLUMN dpop_bound_access_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE grants ADD COLUMN dpop_jkt TEXT;
