"""Storage backends behind the Store protocol."""
