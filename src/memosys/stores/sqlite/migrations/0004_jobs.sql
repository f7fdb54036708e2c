-- memosys SQLite schema, version 4: background jobs and the slot-key index.
-- Times are integer UTC microseconds since the Unix epoch.

-- One row per run of a background job (TTL purge, decay, dedup, ...). A run
-- records its progress and a JSON cursor in the same transaction as the
-- changes of each step, so a run killed at any point resumes where its last
-- committed step ended. `status`: running | succeeded | failed.
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL,
    status       TEXT NOT NULL,
    params       TEXT NOT NULL,
    progress     INTEGER NOT NULL DEFAULT 0,
    cursor       TEXT,
    result       TEXT,
    error        TEXT,
    pid          INTEGER,
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL,
    finished_at  INTEGER
);

CREATE INDEX jobs_name ON jobs (name, id);

-- Which items state a value of which (subject, slot), for knowledge-update
-- detection. `key` is a hash of subject and slot, so no memory content is
-- kept here; rows go with their item.
CREATE TABLE slot_keys (
    item_rowid INTEGER NOT NULL REFERENCES items (rowid) ON DELETE CASCADE,
    cube_id    TEXT NOT NULL,
    key        TEXT NOT NULL,
    PRIMARY KEY (item_rowid, key)
);

CREATE INDEX slot_keys_cube_key ON slot_keys (cube_id, key);
