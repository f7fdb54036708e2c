-- memosys SQLite schema, version 7: the in-memory BM25 mirror of items_fts
-- (memosys.stores.sqlite.text_mirror) follows every change to the index.
--
-- text_changes logs the rowid of each items_fts change, fired by the same
-- events as the items_fts triggers of migration 0001 (insert, delete, update
-- of search_text), so a process brings its mirror up to date by reading the
-- entries after the last one it applied and the current text of those rows.
CREATE TABLE text_changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    item_rowid INTEGER NOT NULL
);

CREATE TRIGGER items_text_after_insert AFTER INSERT ON items BEGIN
    INSERT INTO text_changes (item_rowid) VALUES (new.rowid);
END;

CREATE TRIGGER items_text_after_delete AFTER DELETE ON items BEGIN
    INSERT INTO text_changes (item_rowid) VALUES (old.rowid);
END;

CREATE TRIGGER items_text_after_update AFTER UPDATE OF search_text ON items BEGIN
    INSERT INTO text_changes (item_rowid) VALUES (old.rowid);
    INSERT INTO text_changes (item_rowid) SELECT new.rowid WHERE new.rowid <> old.rowid;
END;

-- Every token of items_fts as (term, doc, col, offset): the mirror loads its
-- postings from FTS5's own tokens. A read-only view of the index, no storage;
-- in the main schema so that read-only connections can use it.
CREATE VIRTUAL TABLE items_fts_vocab USING fts5vocab (items_fts, 'instance');
