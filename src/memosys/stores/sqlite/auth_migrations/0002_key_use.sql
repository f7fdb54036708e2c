-- memosys auth database, version 2: when each API key was last used.
-- Written here rather than in the store's api_keys table, so that a request's
-- sign-in never waits for a memory write to release the store's write lock.
-- A key's last use is the later of this row and api_keys.last_used_at
-- (written there by versions before this one).
CREATE TABLE key_use (
    key_id       TEXT PRIMARY KEY,
    last_used_at INTEGER NOT NULL
) WITHOUT ROWID;
