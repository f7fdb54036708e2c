"""SQL migrations of the auth database beside the store (see
memosys.stores.sqlite.sign_ins), applied in order by memosys.stores.migrate."""
