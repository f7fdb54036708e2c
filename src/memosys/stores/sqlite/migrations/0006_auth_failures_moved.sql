-- memosys SQLite schema, version 6: failed authentication attempts moved to a
-- database of their own beside this one (memosys.stores.sqlite.auth_failures),
-- so that counting an attempt never waits for a memory write. The failures
-- counted here are dropped: they only ever mattered for one window.
DROP TABLE auth_failures;
