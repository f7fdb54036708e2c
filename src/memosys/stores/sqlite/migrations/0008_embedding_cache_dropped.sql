-- Document vectors are no longer cached by text: each was stored a second time
-- beside the item's own vector (about 30% of a database of messages). An exact
-- repeat of a stored item takes that item's vector instead (`repeat_vectors`).
DROP TABLE IF EXISTS embedding_cache;
