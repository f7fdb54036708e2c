"""Pure domain: items, cubes, filters, errors, clock, ids. No I/O."""
