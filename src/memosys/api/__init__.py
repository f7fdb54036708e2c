"""Client facades: :class:`~memosys.api.local.MemOS` runs in process."""
