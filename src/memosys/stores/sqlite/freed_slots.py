"""Removed vectors zeroed in a saved HNSW file, so that a saved index holds no deleted memory.

usearch frees the slot of a removed key but keeps the vector's bytes until an
insert reuses the slot, and saves them with the rest. A deleted or forgotten
memory's vector would stay in every file saved after. So a store keeps the
stored (half-precision) vectors of the keys it removes from a writable index
(:func:`.ann.remove_keys`), and each save zeroes the rows of the file's vector
block that still hold one (:func:`zero_removed`); those it no longer finds
were overwritten by an insert, in the index too, and are forgotten. A removed
vector equal to a live one (the same text written twice) stays: its bytes are
the live one's too (:func:`without_live_twins`).

This replaced building the whole index anew before each save that followed a
removal (``benchmarks/hnsw_removals.py``, 100k real vectors, 1% to 20% of
them removed): 31 to 40 s of a core against 0.09 to 0.17 s more than a plain
save. A zeroed slot scores 0 against every query, so searches pass it by,
and the next insert reuses it. Loaded back, the zeroed index found
recall@10 / @100 of 0.9995-1.0 / 0.9946-0.997, against 0.9995-1.0 /
0.9973-0.9974 built anew.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from memosys.core.errors import StoreError
from memosys.stores.base import Vectors

Halves = npt.NDArray[np.float16]  # stored vectors, one per row
_HEADER = 8  # usearch's file: rows and bytes per row (two uint32), then the vector block


def no_halves(dim: int) -> Halves:
    """An empty set of stored vectors of ``dim`` dimensions."""
    return np.empty((0, dim), dtype=np.float16)


def zero_removed(path: Path, removed: Halves) -> npt.NDArray[np.bool_]:
    """Zero every row of the saved index's vector block equal to one of ``removed``; which
    of ``removed`` were found."""
    found = np.zeros(len(removed), dtype=bool)
    if len(removed) == 0:
        return found
    header = np.fromfile(path, dtype="<u4", count=2)
    rows, width = (int(n) for n in header) if len(header) == 2 else (0, 0)
    if width != removed.shape[1] * 2 or _HEADER + rows * width > path.stat().st_size:
        raise StoreError(f"{path} is not a usearch file of half-precision vectors as expected")
    block = np.memmap(path, dtype=np.float16, mode="r+", offset=_HEADER, shape=(rows, width // 2))
    try:
        hit, which = _equal_rows(block, removed)
        block[hit] = 0
        block.flush()
    finally:
        del block
    found[which] = True
    return found


def without_live_twins(
    removed: Halves, index: Any, rowids: npt.NDArray[np.int64], heads: Vectors
) -> Halves:
    """``removed`` less the vectors that a live key of ``index`` holds the same bytes of;
    ``rowids`` are the live keys and ``heads`` the first four float32 values of each."""
    if len(removed) == 0 or len(rowids) == 0:
        return removed
    maybe = np.isin(_prefixes(heads.astype(np.float16)), _prefixes(removed))
    if not maybe.any():
        return removed
    stored = np.stack(index.get(rowids[maybe].astype(np.uint64), dtype=np.float16))
    _, twins = _equal_rows(stored, removed)
    keep = np.ones(len(removed), dtype=bool)
    keep[twins] = False
    return removed[keep]


def _equal_rows(
    rows: Halves, wanted: Halves
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """The positions in ``rows`` that equal a row of ``wanted``, and which row each equals
    (rows compared by bytes, found first by their first 8)."""
    lookup = {row.tobytes(): at for at, row in enumerate(wanted)}
    candidates = np.flatnonzero(np.isin(_prefixes(rows), _prefixes(wanted)))
    hits = [(at, lookup.get(rows[at].tobytes())) for at in candidates.tolist()]
    pairs = [(at, which) for at, which in hits if which is not None]
    return (np.array([at for at, _ in pairs], dtype=np.intp),
            np.array([which for _, which in pairs], dtype=np.intp))


def _prefixes(rows: Halves) -> npt.NDArray[np.uint64]:
    """The first four halves of each row (zeros past a shorter row) as one 64-bit number."""
    first = np.zeros((len(rows), 4), dtype=np.float16)
    first[:, : rows.shape[1]] = rows[:, :4]
    return first.view(np.uint64)[:, 0]
