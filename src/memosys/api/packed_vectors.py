"""Vectors sent over HTTP packed: one base64 string of little-endian float32 values, row after row.

:class:`~memosys.RemoteMemOS` sends an add's embeddings packed whenever they
are a finite matrix of one row per text (anything else goes as a JSON list,
for the server to name what is wrong as MemOS would), and the server's
``POST /v1/memories/texts`` takes them as ``embeddings_base64``; a search's
query vector goes as ``query_vector_base64`` likewise.
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
    if rows == 0 or matrix.ndim != 2 or matrix.shape[0] != rows or matrix.size == 0:
        return None
    if not np.isfinite(matrix).all():
        return None
    return base64.b64encode(np.ascontiguousarray(matrix).tobytes()).decode("ascii")


def pack_one(vector: object) -> str | None:
    """One vector (shape ``(d,)`` or ``(1, d)``) packed, or None as for :func:`pack`."""
    try:
        matrix = np.asarray(vector, dtype=FLOAT32)
    except (TypeError, ValueError):
        return None
    return pack(matrix.reshape(1, -1) if matrix.ndim == 1 else matrix, 1)


def sent(listed: object, packed: str | None, rows: int, field: str) -> object:
    """The vectors a request sent: a JSON list (``listed``, None if not sent) or packed
    (sent as ``field``), not both; packed ones unpacked (:func:`unpack`)."""
    if packed is None:
        return listed
    if listed is not None:
        raise InvalidInputError(
            f"send the vectors once: {field.removesuffix('_base64')} or {field}, not both",
            detail={"field": field},
        )
    return unpack(packed, rows, field)


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
        f"{field} {problem}; send little-endian float32 values in one base64 string, one "
        "row of the embedder's dimensions per vector, row after row",
        detail={"field": field},
    )
