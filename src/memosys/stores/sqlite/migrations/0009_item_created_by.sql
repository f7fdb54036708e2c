-- memosys SQLite schema, version 9: who created each item, the author of its
-- first version in the history (`changed_by`). It is the actor of the write
-- (memosys.core.context.acting_user): an admin acting for the item's
-- user over the server, `@operator` for a CLI command, else the item's user.
-- Items stored before this migration have NULL here: their item's user.
ALTER TABLE items ADD COLUMN created_by TEXT;
