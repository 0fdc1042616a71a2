--! rollback: yes, while every person has one membership. The previous release does not run on
--! this schema (it reads emails and passwords from users), so undo it before starting that one.
--! To undo it (undo newer migrations first; outside a transaction, foreign keys off as it says):
--!     PRAGMA foreign_keys = OFF;
--!     CREATE TABLE totp_old (user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE, secret_sealed BLOB NOT NULL, created_at INTEGER NOT NULL, confirmed_at INTEGER, last_step INTEGER NOT NULL DEFAULT 0);
--!     INSERT INTO totp_old SELECT u.id, f.secret_sealed, f.created_at, f.confirmed_at, f.last_step FROM totp_factors f JOIN users u ON u.person_id = f.person_id;
--!     DROP TABLE totp_factors;
--!     ALTER TABLE totp_old RENAME TO totp_factors;
--!     CREATE TABLE codes_old (user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE, code_hash BLOB NOT NULL, used_at INTEGER, PRIMARY KEY (user_id, code_hash));
--!     INSERT INTO codes_old SELECT u.id, c.code_hash, c.used_at FROM recovery_codes c JOIN users u ON u.person_id = c.person_id;
--!     DROP TABLE recovery_codes;
--!     ALTER TABLE codes_old RENAME TO recovery_codes;
--!     CREATE TABLE users_old (id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id), email TEXT NOT NULL UNIQUE COLLATE NOCASE, role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')), service INTEGER NOT NULL CHECK (service IN (0, 1)), authorize_applications INTEGER NOT NULL CHECK (authorize_applications IN (0, 1)), disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)), password_hash TEXT, created_at INTEGER NOT NULL, tokens_not_before INTEGER, email_verified_at INTEGER);
--!     INSERT INTO users_old SELECT u.id, u.org_id, p.email, u.role, u.service, u.authorize_applications, u.disabled, p.password_hash, u.created_at, u.tokens_not_before, p.email_verified_at FROM users u JOIN people p ON p.id = u.person_id;
--!     DROP TABLE users;
--!     ALTER TABLE users_old RENAME TO users;
--!     CREATE INDEX users_org ON users(org_id);
--!     DROP TABLE people;
--!     DELETE FROM _sqlx_migrations WHERE version = 18;
--!     PRAGMA foreign_keys = ON;
-- Tessera store, version 18: a person apart from their memberships (SPEC §11). A person is one
-- email, one password and one set of second factors; a user is that person's membership of one
-- organization, with its role there, and stays what sessions, grants, consents and clients name.
-- Each existing user becomes one person with the user's id, so every id stays valid.
CREATE TABLE people (
    id                TEXT PRIMARY KEY,
    email             TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash     TEXT,
    -- When the person proved they receive mail at `email` (NULL: never).
    email_verified_at INTEGER,
    created_at        INTEGER NOT NULL
);
INSERT INTO people (id, email, password_hash, email_verified_at, created_at)
    SELECT id, email, password_hash, email_verified_at, created_at FROM users;

-- SQLite drops a UNIQUE column only by rebuilding its table (sqlite.org/lang_altertable.html,
-- "other kinds of table schema changes"): a new table, the rows copied, the old one dropped and
-- the new one renamed. Migrations run with foreign keys off (sqlite.rs), so dropping the old
-- table cascades to nothing, and the tables that reference users(id) find the new one.
CREATE TABLE users_new (
    id                     TEXT PRIMARY KEY,
    org_id                 TEXT NOT NULL REFERENCES orgs(id),
    person_id              TEXT NOT NULL REFERENCES people(id),
    role                   TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    service                INTEGER NOT NULL CHECK (service IN (0, 1)),
    authorize_applications INTEGER NOT NULL CHECK (authorize_applications IN (0, 1)),
    disabled               INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at             INTEGER NOT NULL,
    tokens_not_before      INTEGER,
    -- One membership per person and organization.
    UNIQUE (person_id, org_id)
);
INSERT INTO users_new (id, org_id, person_id, role, service, authorize_applications, disabled, created_at, tokens_not_before)
    SELECT id, org_id, id, role, service, authorize_applications, disabled, created_at, tokens_not_before FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
CREATE INDEX users_org ON users(org_id);

-- Second factors are the person's: every membership signs in with the same ones.
CREATE TABLE totp_factors_new (
    person_id     TEXT PRIMARY KEY REFERENCES people(id) ON DELETE CASCADE,
    secret_sealed BLOB NOT NULL,
    created_at    INTEGER NOT NULL,
    confirmed_at  INTEGER,
    last_step     INTEGER NOT NULL DEFAULT 0
);
INSERT INTO totp_factors_new SELECT user_id, secret_sealed, created_at, confirmed_at, last_step FROM totp_factors;
DROP TABLE totp_factors;
ALTER TABLE totp_factors_new RENAME TO totp_factors;

CREATE TABLE recovery_codes_new (
    person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    code_hash BLOB NOT NULL,
    used_at   INTEGER,
    PRIMARY KEY (person_id, code_hash)
);
INSERT INTO recovery_codes_new SELECT user_id, code_hash, used_at FROM recovery_codes;
DROP TABLE recovery_codes;
ALTER TABLE recovery_codes_new RENAME TO recovery_codes;

