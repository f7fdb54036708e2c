"""Sample data for ``make demo``: a short conversation and a flat handbook."""
