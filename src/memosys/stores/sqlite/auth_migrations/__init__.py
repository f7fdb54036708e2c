"""SQL migrations of the auth-failure database beside the store (see
memosys.stores.sqlite.auth_failures), applied in order by memosys.stores.migrate."""
