--! rollback: yes, while every person has one membership. The previous release does not run on
--! this schema (it reads emails and passwords from users), so undo it before starting that one.
--! To undo it (undo newer migrations first):
--!     ALTER TABLE users ADD COLUMN email TEXT, ADD COLUMN password_hash TEXT, ADD COLUMN email_verified_at BIGINT;
--!     UPDATE users u SET email = p.email, password_hash = p.password_hash, email_verified_at = p.email_verified_at FROM people p WHERE p.id = u.person_id;
--!     ALTER TABLE users ALTER COLUMN email SET NOT NULL;
--!     CREATE UNIQUE INDEX users_email ON users (lower(email));
--!     ALTER TABLE totp_factors DROP CONSTRAINT totp_factors_person_id_fkey;
--!     UPDATE totp_factors f SET person_id = u.id FROM users u WHERE u.person_id = f.person_id;
--!     ALTER TABLE totp_factors RENAME COLUMN person_id TO user_id;
--!     ALTER TABLE totp_factors ADD FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;
--!     ALTER TABLE recovery_codes DROP CONSTRAINT recovery_codes_person_id_fkey;
--!     UPDATE recovery_codes c SET person_id = u.id FROM users u WHERE u.person_id = c.person_id;
--!     ALTER TABLE recovery_codes RENAME COLUMN person_id TO user_id;
--!     ALTER TABLE recovery_codes ADD FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;
--!     ALTER TABLE users DROP CONSTRAINT users_person_org;
--!     ALTER TABLE users DROP COLUMN person_id;
--!     DROP TABLE people;
--!     DELETE FROM _sqlx_migrations WHERE version = 18;
-- Tessera store, version 18: a person apart from their memberships (SPEC §11). A person is one
-- email, one password and one set of second factors; a user is that person's membership of one
-- organization, with its role there, and stays what sessions, grants, consents and clients name.
-- Each existing user becomes one person with the user's id, so every id stays valid.
SET LOCAL lock_timeout = '5s';

CREATE TABLE people (
    id                TEXT PRIMARY KEY,
    email             TEXT NOT NULL,
    password_hash     TEXT,
    -- When the person proved they receive mail at `email` (NULL: never).
    email_verified_at BIGINT,
    created_at        BIGINT NOT NULL
);
-- Emails are unique whatever their case; looked up by lower(email).
CREATE UNIQUE INDEX people_email ON people (lower(email));
INSERT INTO people (id, email, password_hash, email_verified_at, created_at)
    SELECT id, email, password_hash, email_verified_at, created_at FROM users;

ALTER TABLE users ADD COLUMN person_id TEXT REFERENCES people(id);
UPDATE users SET person_id = id;
ALTER TABLE users ALTER COLUMN person_id SET NOT NULL;
-- One membership per person and organization.
ALTER TABLE users ADD CONSTRAINT users_person_org UNIQUE (person_id, org_id);
DROP INDEX users_email;
ALTER TABLE users DROP COLUMN email, DROP COLUMN password_hash, DROP COLUMN email_verified_at;

-- Second factors are the person's: every membership signs in with the same ones.
ALTER TABLE totp_factors DROP CONSTRAINT totp_factors_user_id_fkey;
ALTER TABLE totp_factors RENAME COLUMN user_id TO person_id;
ALTER TABLE totp_factors ADD FOREIGN KEY (person_id) REFERENCES people(id) ON DELETE CASCADE;
ALTER TABLE recovery_codes DROP CONSTRAINT recovery_codes_user_id_fkey;
ALTER TABLE recovery_codes RENAME COLUMN user_id TO person_id;
ALTER TABLE recovery_codes ADD FOREIGN KEY (person_id) REFERENCES people(id) ON DELETE CASCADE;
