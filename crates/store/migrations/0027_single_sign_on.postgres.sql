--! rollback: yes. The previous release runs on it (--no-migrate); undo SQL below.
--! Adds tables and a column, which the previous release ignores (its members sign in with their
--! passwords only). To undo it (undo newer migrations first):
--!     DROP TABLE federated_identities;
--!     DROP TABLE identity_provider_domains;
--!     DROP TABLE identity_providers;
--!     ALTER TABLE orgs DROP COLUMN require_sso;
--!     DELETE FROM _sqlx_migrations WHERE version = 27;
-- Tessera store, version 27: single sign-on (SPEC §15). An organization connects upstream OpenID
-- Providers (its client at the provider; the secret sealed under the master key like a client's),
-- may claim email domains for one of them (a domain belongs to one provider in the whole store),
-- and may turn password sign-in off for its members (owners keep theirs). A person signed in
-- through a provider is linked by the provider's issuer and subject, so a changed email upstream
-- does not lose the account; the link outlives the provider (another organization may connect
-- the same issuer).
CREATE TABLE identity_providers (
    id                   TEXT PRIMARY KEY,
    org_id               TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name                 TEXT NOT NULL,
    issuer               TEXT NOT NULL,
    client_id            TEXT NOT NULL,
    client_secret_sealed BYTEA NOT NULL,
    default_role         TEXT NOT NULL,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    UNIQUE (org_id, name)
);
CREATE TABLE identity_provider_domains (
    domain      TEXT PRIMARY KEY,
    provider_id TEXT NOT NULL REFERENCES identity_providers(id) ON DELETE CASCADE
);
CREATE INDEX identity_provider_domains_provider ON identity_provider_domains(provider_id);
CREATE TABLE federated_identities (
    issuer     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    person_id  TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX federated_identities_person ON federated_identities(person_id);
ALTER TABLE orgs ADD COLUMN require_sso BOOLEAN NOT NULL DEFAULT FALSE;
