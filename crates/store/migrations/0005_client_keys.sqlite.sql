--! rollback: yes. The previous release runs on it (--no-migrate); undo SQL below.
--! Adds columns with defaults and a table. Start the previous release with --no-migrate: it does
--! not know this migration and would refuse to migrate. Clients it creates meanwhile get
--! token_endpoint_auth_method 'client_secret_basic', public ones too: before upgrading again, run
--!     UPDATE clients SET token_endpoint_auth_method = 'none' WHERE public = 1;
--! To undo it (private_key_jwt clients lose their keys and can no longer authenticate; delete them
--! first; undo newer migrations first):
--!     DROP TABLE IF EXISTS client_assertion_jtis;
--!     ALTER TABLE clients DROP COLUMN jwks_uri;
--!     ALTER TABLE clients DROP COLUMN jwks;
--!     ALTER TABLE clients DROP COLUMN token_endpoint_auth_method;
--!     DELETE FROM _sqlx_migrations WHERE version = 5;
-- Tessera store, version 4: private_key_jwt client authentication (RFC 7523 §2.2).
-- How each client authenticates, the public keys of private_key_jwt clients (an inline JWKS or
-- a jwks_uri), and the assertion ids already used, each kept until its assertion has expired.

ALTER TABLE clients ADD COLUMN token_endpoint_auth_method TEXT NOT NULL DEFAULT 'client_secret_basic'
    CHECK (token_endpoint_auth_method IN ('client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'));
ALTER TABLE clients ADD COLUMN jwks TEXT;
ALTER TABLE clients ADD COLUMN jwks_uri TEXT;
UPDATE clients SET token_endpoint_auth_method = 'none' WHERE public = 1;

-- One row per assertion accepted: a second use of the (client, jti) pair fails the unique
-- insert, on every node of the store.
CREATE TABLE client_assertion_jtis (
    client_id  TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (client_id, jti)
) WITHOUT ROWID;
CREATE INDEX client_assertion_jtis_expiry ON client_assertion_jtis(expires_at);
