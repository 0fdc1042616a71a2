-- Tessera store, version 3: failure counters shared by every process on the store (login
-- lock-outs per account and per address), in fixed windows.

CREATE TABLE failure_counts (
    key        TEXT PRIMARY KEY,
    window_end INTEGER NOT NULL,
    count      INTEGER NOT NULL
);
CREATE INDEX failure_counts_end ON failure_counts(window_end);
