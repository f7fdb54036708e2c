"""Vectors sent over HTTP packed: one base64 string of little-endian float32 values, row after row.

:class:`~memosys.RemoteMemOS` sends an add's embeddings packed whenever they
are a finite matrix of one row per text (anything else goes as a JSON list,
for the server to name what is wrong as MemOS would), and the server's
``POST /v1/memories/texts`` takes them as ``embeddings_base64``.
As a JSON list, 20 vectors of 384 dimensions make a 170 kB body that
``json.dumps`` writes in 3.6 ms and the server parses in 0.34 ms; packed,
they make 43 kB, written in 0.13 ms and parsed and unpacked in 0.11 ms
(2026-11-28, 2-core AMD EPYC; ``benchmarks/request_bodies.py``). The values
are the float32 ones that :class:`~memosys.MemOS` stores anyway (it casts what
it is given to float32 before anything else), so packing changes no result.
"""

from __future__ import annotations

import base64
import binascii

import numpy as np

from memosys.core.errors import InvalidInputError
from memosys.stores.base import Vectors

FLOAT32 = np.dtype("<f4")


def pack(embeddings: object, rows: int) -> str | None:
    """``embeddings`` packed, or None when they are not a finite matrix of ``rows`` rows
    (those travel as a JSON list, for the server to name what is wrong, as MemOS does)."""
    try:
        matrix = np.asarray(embeddings, dtype=FLOAT32)
    except (TypeError, ValueError):
        return None
    if rows == 0 or matrix.ndim != 2 or matrix.shape[0] != rows:
        return None
    if not np.isfinite(matrix).all():
        return None
    return base64.b64encode(np.ascontiguousarray(matrix).tobytes()).decode("ascii")


def unpack(text: str, rows: int, field: str) -> Vectors:
    """The float32 matrix of ``rows`` equal rows packed in ``text`` (sent as ``field``);
    InvalidInputError when it is not base64 of whole float32 values that split so."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _unpackable(field, f"is not base64 ({exc})") from exc
    if len(raw) % FLOAT32.itemsize:
        raise _unpackable(field, f"holds {len(raw)} bytes, not whole float32 values (4 bytes)")
    values = np.frombuffer(raw, dtype=FLOAT32).astype(np.float32)
    if rows == 0:  # no texts: MemOS names that first
        return values.reshape(1, -1) if len(values) else np.empty((0, 0), dtype=np.float32)
    if len(values) % rows:
        raise _unpackable(
            field, f"holds {len(values)} float32 values, which do not split into {rows} "
            "equal rows (one vector per text)"
        )
    return values.reshape(rows, -1)


def _unpackable(field: str, problem: str) -> InvalidInputError:
    return InvalidInputError(
        f"{field} {problem}; send one vector per text, each of the embedder's dimensions, "
        "as little-endian float32 values, row after row, in one base64 string",
        detail={"field": field},
    )
