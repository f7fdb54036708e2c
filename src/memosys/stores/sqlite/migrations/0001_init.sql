-- memosys SQLite schema, version 1.
-- Times are integer UTC microseconds since the Unix epoch; lists are JSON arrays.
-- `data` holds the full JSON of the model and is what reads return.

CREATE TABLE users (
    id         TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    data       TEXT NOT NULL
);

CREATE TABLE cubes (
    id                   TEXT PRIMARY KEY,
    owner                TEXT NOT NULL,
    name                 TEXT NOT NULL,
    embedder_fingerprint TEXT,
    vector_dim           INTEGER,
    created_at           INTEGER NOT NULL,
    data                 TEXT NOT NULL,
    UNIQUE (owner, name)
);

CREATE TABLE items (
    rowid            INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT NOT NULL UNIQUE,
    cube_id          TEXT NOT NULL REFERENCES cubes (id) ON DELETE CASCADE,
    user_id          TEXT NOT NULL,
    type             TEXT NOT NULL,
    kind             TEXT NOT NULL,
    content          TEXT NOT NULL,
    content_hash     TEXT NOT NULL,
    source_type      TEXT NOT NULL,
    session_id       TEXT,
    position         INTEGER,
    speaker          TEXT,
    role             TEXT,
    source_ref       TEXT,
    owner            TEXT NOT NULL,
    visibility       TEXT NOT NULL,
    sensitivity      TEXT NOT NULL,
    state            TEXT NOT NULL,
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
    search_text      TEXT NOT NULL,  -- MemoryItem.search_text(), what items_fts indexes
    data             TEXT NOT NULL
);

CREATE INDEX items_cube_user ON items (cube_id, user_id);
CREATE INDEX items_cube_session ON items (cube_id, session_id, position);
CREATE INDEX items_cube_created ON items (cube_id, created_at);
CREATE INDEX items_event_time ON items (event_time);
CREATE INDEX items_expires ON items (expires_at) WHERE expires_at IS NOT NULL;
CREATE UNIQUE INDEX items_content_hash ON items (cube_id, user_id, content_hash)
    WHERE content_hash <> '';

-- Full-text index of items.search_text (external content: rowid = items.rowid),
-- kept in step by triggers.
CREATE VIRTUAL TABLE items_fts USING fts5 (
    search_text,
    content = 'items',
    content_rowid = 'rowid',
    tokenize = 'porter unicode61'
);

CREATE TRIGGER items_after_insert AFTER INSERT ON items BEGIN
    INSERT INTO items_fts (rowid, search_text) VALUES (new.rowid, new.search_text);
END;

CREATE TRIGGER items_after_delete AFTER DELETE ON items BEGIN
    INSERT INTO items_fts (items_fts, rowid, search_text)
        VALUES ('delete', old.rowid, old.search_text);
END;

CREATE TRIGGER items_after_update AFTER UPDATE OF search_text ON items BEGIN
    INSERT INTO items_fts (items_fts, rowid, search_text)
        VALUES ('delete', old.rowid, old.search_text);
    INSERT INTO items_fts (rowid, search_text) VALUES (new.rowid, new.search_text);
END;

-- Unit-normalised float32 vectors, one per item.
CREATE TABLE vectors (
    item_rowid INTEGER PRIMARY KEY REFERENCES items (rowid) ON DELETE CASCADE,
    cube_id    TEXT NOT NULL,
    vector     BLOB NOT NULL
);

CREATE INDEX vectors_cube ON vectors (cube_id);

-- Every change to `vectors`, so that each process can bring its in-memory
-- index up to date by reading the changes after the last one it saw.
CREATE TABLE vector_changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    cube_id    TEXT NOT NULL,
    item_rowid INTEGER NOT NULL
);

CREATE TRIGGER vectors_after_insert AFTER INSERT ON vectors BEGIN
    INSERT INTO vector_changes (cube_id, item_rowid) VALUES (new.cube_id, new.item_rowid);
END;

CREATE TRIGGER vectors_after_update AFTER UPDATE ON vectors BEGIN
    INSERT INTO vector_changes (cube_id, item_rowid) VALUES (old.cube_id, old.item_rowid);
END;

CREATE TRIGGER vectors_after_delete AFTER DELETE ON vectors BEGIN
    INSERT INTO vector_changes (cube_id, item_rowid) VALUES (old.cube_id, old.item_rowid);
END;

CREATE TABLE embedding_cache (
    fingerprint TEXT NOT NULL,
    text_hash   TEXT NOT NULL,
    vector      BLOB NOT NULL,
    PRIMARY KEY (fingerprint, text_hash)
);
