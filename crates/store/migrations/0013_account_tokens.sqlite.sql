--! rollback: yes. The previous release runs on it (--no-migrate); undo SQL below.
--! Adds a table and a column, which the previous release ignores. To undo it (loses pending password
--! reset and email verification links, and which emails were proven; undo newer migrations first):
--!     DROP TABLE account_tokens;
--!     ALTER TABLE users DROP COLUMN email_verified_at;
--!     DELETE FROM _sqlx_migrations WHERE version = 13;
-- Tessera store, version 13: people manage their own credentials (SPEC §11). When a user's email
-- was proven (NULL: never), and the single-use links mailed to them (password reset, email
-- verification), stored only as keyed hashes of their tokens.
ALTER TABLE users ADD COLUMN email_verified_at INTEGER;

CREATE TABLE account_tokens (
    token_hash BLOB PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- 'password_reset' or 'email_verification' (no CHECK: later purposes need no table rebuild).
    purpose    TEXT NOT NULL,
    -- On the lifetime clock, as sessions are (SPEC §12).
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    -- Set when the link is used, or when a newer link of the same purpose replaces it.
    spent_at   INTEGER
);
CREATE INDEX account_tokens_user ON account_tokens(user_id, purpose, created_at);
