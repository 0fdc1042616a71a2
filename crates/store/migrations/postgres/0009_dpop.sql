-- Tessera store, version 9 (PostgreSQL): DPoP (RFC 9449).
-- The proof ids already used, each kept while its proof could still pass the iat window
-- (tessera_core::dpop::MAX_AGE); whether a client must present proofs (RFC 9449 §5.2
-- dpop_bound_access_tokens); the key a refresh token family is bound to (public clients, §5).
-- ADD COLUMN with a constant default rewrites nothing, but it takes a brief exclusive lock:
-- do not wait behind a long transaction of a running node.

SET LOCAL lock_timeout = '5s';

-- One row per proof accepted: a second use of the (key, jti) pair fails the unique insert, on
-- every node of the store. Keyed by the proof key's thumbprint: only its holder can make proofs.
CREATE TABLE dpop_jtis (
    jkt        TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (jkt, jti)
);
CREATE INDEX dpop_jtis_expiry ON dpop_jtis(expires_at);

ALTER TABLE clients ADD COLUMN dpop_bound_access_tokens BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE grants ADD COLUMN dpop_jkt TEXT;
