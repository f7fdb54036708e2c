"""SQL migrations of the SQLite store, applied in order by memosys.stores.migrate."""
