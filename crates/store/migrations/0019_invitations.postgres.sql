--! rollback: yes. The previous release runs on it (--no-migrate); undo SQL below.
--! Adds a table only, which the previous release ignores. To undo it (pending invitations are
--! lost; undo newer migrations first):
--!     DROP TABLE invitations;
--!     DELETE FROM _sqlx_migrations WHERE version = 19;
-- Tessera store, version 19: invitations (SPEC §11). An owner or admin (or the operator) invites
-- an email to their organization with a role; the link /invite/{token} works for 7 days, once,
-- and only the keyed hash of its token is kept. Accepting adds the membership and proves the email.
SET LOCAL lock_timeout = '5s';

CREATE TABLE invitations (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    email       TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    -- The membership accepting makes: its id (given when an admin added a person who has an
    -- account, and was answered with it; NULL: a new id) and its run-as permission.
    member_id   TEXT,
    authorize_applications BOOLEAN NOT NULL DEFAULT FALSE,
    token_hash  BYTEA NOT NULL UNIQUE,
    -- Who invited: a user id, or cli.
    invited_by  TEXT NOT NULL,
    -- On the lifetime clock, as sessions are (SPEC §12).
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    -- Set when accepted, or when a newer invitation of the same email to the same organization
    -- replaces it (then `replaced` is true).
    accepted_at BIGINT,
    replaced    BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX invitations_org ON invitations(org_id, created_at);
