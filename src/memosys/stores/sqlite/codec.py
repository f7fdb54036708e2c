"""How models map to SQLite rows: times as UTC microseconds, lists as JSON, vectors as blobs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from memosys.core.errors import InvalidInputError
from memosys.core.filters import FIELDS, FieldType
from memosys.core.items import ItemView, MemoryItem
from memosys.stores.base import Vectors

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_JSON = json.JSONEncoder(ensure_ascii=False)  # one encoder: json.dumps builds one per call
_MICROSECOND = timedelta(microseconds=1)
MAX_INTEGER = 2**63 - 1
"""SQLite's largest integer: a greater Python int cannot be bound to a statement."""

# Item columns besides `rowid` and `data`: every filterable field, the dedup hash
# and the text the full-text index sees.
ITEM_COLUMNS: tuple[str, ...] = (*FIELDS, "content_hash", "search_text")
INSERT_ITEM_SQL = (
    f"INSERT INTO items ({', '.join(ITEM_COLUMNS)}, data) "
    f"VALUES ({', '.join('?' for _ in ITEM_COLUMNS)}, ?)"
)
UPDATE_ITEM_SQL = (
    f"UPDATE items SET {', '.join(f'{c} = ?' for c in ITEM_COLUMNS)}, data = ? WHERE rowid = ?"
)


def micros(value: datetime) -> int:
    """An aware datetime as integer microseconds since the Unix epoch (UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // _MICROSECOND


def from_micros(value: int) -> datetime:
    """The aware UTC datetime of integer microseconds since the Unix epoch."""
    return _EPOCH + value * _MICROSECOND


def sql_value(name: str, value: Any) -> Any:
    """A field's Python value in the form its column stores."""
    kind = FIELDS.get(name)
    if value is None:
        return None
    if kind is FieldType.TIME and isinstance(value, datetime):
        return micros(value)
    if kind is FieldType.LIST:
        return _JSON.encode(list(value))
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "value"):  # str enums
        return value.value
    return value


def _list_json(value: Any) -> str:
    return _JSON.encode(list(value)) if value else "[]"


_TO_COLUMN: dict[FieldType, Any] = {
    FieldType.TEXT: str,  # str enums become their value
    FieldType.NUMBER: lambda v: v,
    FieldType.TIME: micros,
    FieldType.LIST: _list_json,
}
_CONVERTERS = tuple(
    (name, _TO_COLUMN[FIELDS.get(name, FieldType.TEXT)]) for name in ITEM_COLUMNS[:-1]
)


def item_row(item: MemoryItem) -> tuple[Any, ...]:
    """The values of :data:`ITEM_COLUMNS` followed by the item's JSON."""
    fields = item.__dict__
    values = [
        None if (value := fields[name]) is None else to_column(value)
        for name, to_column in _CONVERTERS
    ]
    values.append(item.search_text())
    values.append(item.model_dump_json())
    return tuple(values)


def load_item(data: str) -> MemoryItem:
    """An item from its stored JSON."""
    return MemoryItem.model_validate_json(data)


# the columns of an ItemView after ``i.id``, of the items table aliased ``i``; the
# speakers only of an item without one speaker (a window of several), as JSON
VIEW_COLUMNS = (
    "i.cube_id, i.content, i.speaker, i.session_id, i.position, "
    "json_extract(i.data, '$.message_count'), i.event_time, "
    "CASE WHEN i.speaker IS NULL THEN json_extract(i.data, '$.speakers') END"
)


def load_view(row: Sequence[Any]) -> ItemView:
    """An :class:`ItemView` from a row of ``i.id`` and :data:`VIEW_COLUMNS`."""
    item_id, cube_id, content, speaker, session_id, position, messages, event_time, speakers = (
        row
    )
    return ItemView(
        id=item_id,
        cube_id=cube_id,
        content=content,
        speaker=speaker,
        session_id=session_id,
        position=position,
        message_count=messages,
        event_time=None if event_time is None else from_micros(event_time),
        speakers=tuple(json.loads(speakers)) if speakers else (),
    )


def unit_vectors(vectors: Vectors, rows: int, dim: int | None) -> Vectors:
    """``vectors`` as a C-contiguous float32 ``(rows, dim)`` matrix of unit rows.

    Raises :class:`InvalidInputError` on a count or dimension mismatch, or a
    zero or non-finite vector.
    """
    matrix = np.asarray(vectors, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix.reshape(1, -1)
    if matrix.ndim != 2 or matrix.shape[0] != rows:
        raise InvalidInputError(
            f"got {matrix.shape[0] if matrix.ndim else 0} vectors for {rows} items; "
            "pass one vector per item, in the same order",
            detail={"vectors": list(matrix.shape), "items": rows},
        )
    if dim is not None and matrix.shape[1] != dim:
        raise InvalidInputError(
            f"vectors have {matrix.shape[1]} dimensions but this cube stores {dim}; "
            "embed with the cube's embedder, or run `memosys reembed --data DIR --all-users`",
            detail={"dimensions": matrix.shape[1], "expected": dim},
        )
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    if not np.all(np.isfinite(norms)) or np.any(norms == 0):
        raise InvalidInputError("vectors must be finite and non-zero")
    return np.ascontiguousarray(matrix / norms, dtype=np.float32)


def vector_blob(vector: Vectors) -> bytes:
    """A float32 vector as raw little-endian bytes."""
    return np.ascontiguousarray(vector, dtype="<f4").tobytes()


def blob_vector(blob: bytes) -> Vectors:
    """A float32 vector from raw bytes (a writable copy)."""
    return np.frombuffer(blob, dtype="<f4").astype(np.float32)
