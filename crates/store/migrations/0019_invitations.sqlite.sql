--! rollback: yes. The previous release runs on it (--no-migrate); undo SQL below.
--! Adds a table only, which the previous release ignores. To undo it (pending invitations are
--! lost; undo newer migrations first):
--!     DROP TABLE invitations;
--!     DELETE FROM _sqlx_migrations WHERE version = 19;
-- Tessera store, version 19: invitations (SPEC §11). An owner or admin (or the operator) invites
-- an email to their organization with a role; the link /invite/{token} works for 7 days, once,
-- and only the keyed hash of its token is kept. Accepting adds the membership and proves the email.
CREATE TABLE invitations (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    email       TEXT NOT NULL COLLATE NOCASE,
    role        TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    -- The membership accepting makes: its id (given when an admin added a person who has an
    -- account, and was answered with it; NULL: a new id) and its run-as permission.
    member_id   TEXT,
    authorize_applications INTEGER NOT NULL DEFAULT 0 CHECK (authorize_applications IN (0, 1)),
    token_hash  BLOB NOT NULL UNIQUE,
    -- Who invited: a user id, or cli.
    invited_by  TEXT NOT NULL,
    -- On the lifetime clock, as sessions are (SPEC §12).
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    -- Set when accepted, or when a newer invitation of the same email to the same organization
    -- replaces it (then `replaced` is 1).
    accepted_at INTEGER,
    replaced    INTEGER NOT NULL DEFAULT 0 CHECK (replaced IN (0, 1))
);
CREATE INDEX invitations_org ON invitations(org_id, created_at);
