-- memosys SQLite schema, version 3: versions, transaction time and cube snapshots.
-- Times are integer UTC microseconds since the Unix epoch.

-- Transaction time of the current version: when memosys recorded it
-- (NULL for rows written before this migration: their created_at).
ALTER TABLE items ADD COLUMN recorded_at INTEGER;

-- Earlier versions of items. An update copies the replaced row here, in the
-- same transaction, with its vector, so a version can be searched (dense and
-- BM25) as of any time without re-embedding. The columns repeat those of
-- `items` (a filter compiled for `items` runs on either); a migration that
-- adds a column to `items` must add it here too.
-- A version was current during [recorded_from, recorded_to); `replaced_by`
-- is who made the next version and `note` why, when a reason was given.
CREATE TABLE item_versions (
    item_rowid       INTEGER NOT NULL REFERENCES items (rowid) ON DELETE CASCADE,
    id               TEXT NOT NULL,
    cube_id          TEXT NOT NULL,
    user_id          TEXT NOT NULL,
    type             TEXT NOT NULL,
    kind             TEXT NOT NULL,
    content          TEXT NOT NULL,
    source_type      TEXT NOT NULL,
    session_id       TEXT,
    speaker          TEXT,
    role             TEXT,
    source_ref       TEXT,
    owner            TEXT NOT NULL,
    visibility       TEXT NOT NULL,
    sensitivity      TEXT NOT NULL,
    state            TEXT NOT NULL,
    position         INTEGER,
    priority         INTEGER NOT NULL,
    importance       REAL NOT NULL,
    access_count     INTEGER NOT NULL,
    version          INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    event_time       INTEGER,
    valid_from       INTEGER,
    valid_to         INTEGER,
    expires_at       INTEGER,
    last_accessed_at INTEGER,
    tags             TEXT NOT NULL,
    keywords         TEXT NOT NULL,
    entities         TEXT NOT NULL,
    message_ids      TEXT NOT NULL,
    headings         TEXT NOT NULL,
    content_hash     TEXT NOT NULL,
    search_text      TEXT NOT NULL,
    data             TEXT NOT NULL,
    vector           BLOB,
    recorded_from    INTEGER NOT NULL,
    recorded_to      INTEGER NOT NULL,
    replaced_by      TEXT NOT NULL,
    note             TEXT,
    PRIMARY KEY (item_rowid, version)
);

CREATE INDEX item_versions_cube_time ON item_versions (cube_id, recorded_from, recorded_to);

-- Named points in a cube's transaction time. Versions are never rewritten,
-- so a snapshot needs no copy: it reads the cube as of `taken_at`.
CREATE TABLE cube_snapshots (
    cube_id    TEXT NOT NULL REFERENCES cubes (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    taken_at   INTEGER NOT NULL,
    taken_by   TEXT NOT NULL,
    item_count INTEGER NOT NULL,
    PRIMARY KEY (cube_id, name)
);
