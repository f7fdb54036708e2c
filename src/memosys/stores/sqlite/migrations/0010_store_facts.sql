-- memosys SQLite schema, version 10: facts about the database file as a whole.
-- `free_space_zeroed`: no free space in the file can hold deleted content. It is
-- set when this code creates the database (every connection zeroes what it
-- deletes: secure_delete) and after a VACUUM; a database made before
-- 2026-11-27 lacks it until forget has VACUUMed it once (see forget.compact).
CREATE TABLE store_facts (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
