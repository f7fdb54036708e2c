-- memosys auth-failure database, version 1: failed authentication attempts.
-- A file of its own beside the store, so that counting an attempt takes a
-- write lock no memory write holds. Times are integer UTC microseconds since
-- the Unix epoch.

-- One row per failed attempt of a client (an address or other client key),
-- so every process serving this data directory counts the same failures.
-- Rows older than the rate-limit window are deleted as new ones arrive.
CREATE TABLE auth_failures (
    client TEXT NOT NULL,
    at     INTEGER NOT NULL
);

CREATE INDEX auth_failures_client ON auth_failures (client, at);
CREATE INDEX auth_failures_at ON auth_failures (at);
