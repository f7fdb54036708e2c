"""Pure domain: items, cubes, filters, errors, clock, ids, text folding. No I/O."""
