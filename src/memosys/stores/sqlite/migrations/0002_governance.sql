-- memosys SQLite schema, version 2: identity, sharing and the audit log.
-- Times are integer UTC microseconds since the Unix epoch.

-- API keys: only a salted sha256 of the key is stored; `prefix` is the
-- non-secret start of the key, used to find the row and shown in listings.
CREATE TABLE api_keys (
    key_id       TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    salt         TEXT NOT NULL,
    key_hash     TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);

CREATE INDEX api_keys_prefix ON api_keys (prefix);
CREATE INDEX api_keys_user ON api_keys (user_id, created_at);

-- Users with administrator rights.
CREATE TABLE admins (
    user_id    TEXT PRIMARY KEY,
    granted_at INTEGER NOT NULL
);

-- Who besides the owner may read (or write) a cube.
CREATE TABLE cube_shares (
    cube_id    TEXT NOT NULL REFERENCES cubes (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL,
    access     TEXT NOT NULL CHECK (access IN ('read', 'write')),
    granted_by TEXT NOT NULL,
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (cube_id, user_id)
);

CREATE INDEX cube_shares_user ON cube_shares (user_id, granted_at);

-- The append-only, hash-chained audit log:
-- hash = sha256(prev_hash || canonical JSON of the record without its hashes).
CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    cube_id    TEXT,
    item_id    TEXT,
    request_id TEXT,
    detail     TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);

CREATE INDEX audit_log_cube ON audit_log (cube_id, seq);
CREATE INDEX audit_log_item ON audit_log (item_id, seq);
CREATE INDEX audit_log_actor ON audit_log (actor, seq);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN
    SELECT RAISE (ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN
    SELECT RAISE (ABORT, 'audit_log is append-only');
END;
