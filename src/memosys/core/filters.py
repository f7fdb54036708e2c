"""One filter language for every store and the REST API.

Callers write filters as dicts, parsed into a small AST::

    {"kind": "message"}                                 # eq
    {"kind": {"$in": ["fact", "event"]}}
    {"event_time": {"$gte": "2024-01-01", "$lt": "2024-02-01"}}
    {"metadata.dia_id": {"$exists": True}}
    {"$or": [{"tags": "work"}, {"$not": {"session_id": "s1"}}]}

Several keys in one dict are joined with AND. On list fields (``tags``,
``keywords``, ``entities``, ``message_ids``, ``headings``) ``eq`` means
"contains" and ``$in`` means "contains any of". ``metadata.<key>`` reaches
into the caller's metadata. Stores compile the AST to their SQL dialect.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, TypeAlias

from memosys.core.clock import to_utc
from memosys.core.errors import InvalidInputError, UnknownFilterFieldError


class FieldType(StrEnum):
    """How a filterable field is stored and compared."""

    TEXT = "text"
    NUMBER = "number"
    TIME = "time"
    LIST = "list"
    JSON = "json"  # a key of the caller's metadata


FIELDS: dict[str, FieldType] = {
    "id": FieldType.TEXT,
    "cube_id": FieldType.TEXT,
    "user_id": FieldType.TEXT,
    "type": FieldType.TEXT,
    "kind": FieldType.TEXT,
    "content": FieldType.TEXT,
    "source_type": FieldType.TEXT,
    "session_id": FieldType.TEXT,
    "speaker": FieldType.TEXT,
    "role": FieldType.TEXT,
    "source_ref": FieldType.TEXT,
    "owner": FieldType.TEXT,
    "visibility": FieldType.TEXT,
    "sensitivity": FieldType.TEXT,
    "state": FieldType.TEXT,
    "position": FieldType.NUMBER,
    "priority": FieldType.NUMBER,
    "importance": FieldType.NUMBER,
    "access_count": FieldType.NUMBER,
    "version": FieldType.NUMBER,
    "created_at": FieldType.TIME,
    "updated_at": FieldType.TIME,
    "event_time": FieldType.TIME,
    "valid_from": FieldType.TIME,
    "valid_to": FieldType.TIME,
    "expires_at": FieldType.TIME,
    "last_accessed_at": FieldType.TIME,
    "tags": FieldType.LIST,
    "keywords": FieldType.LIST,
    "entities": FieldType.LIST,
    "message_ids": FieldType.LIST,
    "headings": FieldType.LIST,
}

Scalar: TypeAlias = str | int | float | bool | datetime | None


@dataclass(frozen=True)
class Eq:
    field: str
    value: Scalar


@dataclass(frozen=True)
class Ne:
    field: str
    value: Scalar


@dataclass(frozen=True)
class In:
    field: str
    values: tuple[Scalar, ...]


@dataclass(frozen=True)
class Range:
    field: str
    gt: Scalar = None
    gte: Scalar = None
    lt: Scalar = None
    lte: Scalar = None


@dataclass(frozen=True)
class Exists:
    field: str
    exists: bool = True


@dataclass(frozen=True)
class And:
    children: tuple[Filter, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Filter, ...]


@dataclass(frozen=True)
class Not:
    child: Filter


Filter: TypeAlias = Eq | Ne | In | Range | Exists | And | Or | Not

_RANGE_OPS = {"$gt": "gt", "$gte": "gte", "$lt": "lt", "$lte": "lte"}


def field_type(name: str) -> FieldType:
    """The type of a filter field; raises for unknown fields."""
    if name.startswith("metadata.") and len(name) > len("metadata."):
        return FieldType.JSON
    try:
        return FIELDS[name]
    except KeyError:
        known = ", ".join(sorted(FIELDS))
        raise UnknownFilterFieldError(
            f"unknown filter field {name!r}; use one of: {known}, or metadata.<key>",
            detail={"field": name},
        ) from None


def _value(name: str, value: Any) -> Scalar:
    kind = field_type(name)
    if isinstance(value, (dict, list, tuple, set)):
        raise InvalidInputError(
            f"filter value for {name!r} must be a single value, got {type(value).__name__}",
            detail={"field": name},
        )
    if kind is FieldType.TIME and value is not None:
        return _as_time(name, value)
    if kind is FieldType.NUMBER and (
        isinstance(value, bool) or not isinstance(value, (int, float))
    ):
        raise InvalidInputError(
            f"filter value for {name!r} must be a number, got {value!r}", detail={"field": name}
        )
    if not isinstance(value, (str, int, float, bool, datetime)) and value is not None:
        raise InvalidInputError(
            f"filter value for {name!r} has unsupported type {type(value).__name__}",
            detail={"field": name},
        )
    return value


def _as_time(name: str, value: Any) -> datetime:
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return to_utc(value, name)
    if isinstance(value, date):
        return to_utc(datetime(value.year, value.month, value.day))
    raise InvalidInputError(
        f"filter value for {name!r} must be an ISO 8601 date or datetime, got {value!r}",
        detail={"field": name},
    )


def _field_filter(name: str, spec: Any) -> Filter:
    field_type(name)
    if not isinstance(spec, dict):
        return Eq(name, _value(name, spec))
    parts: list[Filter] = []
    bounds: dict[str, Scalar] = {}
    for op, arg in spec.items():
        if op == "$eq":
            parts.append(Eq(name, _value(name, arg)))
        elif op == "$ne":
            parts.append(Ne(name, _value(name, arg)))
        elif op in ("$in", "$nin"):
            if not isinstance(arg, (list, tuple)) or not arg:
                raise InvalidInputError(
                    f"{op} on {name!r} needs a non-empty list", detail={"field": name}
                )
            node: Filter = In(name, tuple(_value(name, v) for v in arg))
            parts.append(node if op == "$in" else Not(node))
        elif op in _RANGE_OPS:
            bounds[_RANGE_OPS[op]] = _value(name, arg)
        elif op == "$exists":
            if not isinstance(arg, bool):
                raise InvalidInputError("$exists takes true or false", detail={"field": name})
            parts.append(Exists(name, arg))
        else:
            raise InvalidInputError(
                f"unknown filter operator {op!r} on {name!r}; use $eq, $ne, $in, $nin, "
                "$gt, $gte, $lt, $lte or $exists",
                detail={"field": name, "operator": op},
            )
    if bounds:
        parts.append(Range(name, **bounds))
    if not parts:
        raise InvalidInputError(f"empty condition for {name!r}", detail={"field": name})
    return parts[0] if len(parts) == 1 else And(tuple(parts))


MAX_NESTING = 32  # levels of dicts and lists in one filter


def parse_filter(spec: dict[str, Any] | Filter | None) -> Filter | None:
    """Parse a filter dict into the AST (an AST passes through unchanged)."""
    if _nesting(spec) > MAX_NESTING:
        raise InvalidInputError(
            f"filters nest more than {MAX_NESTING} levels deep; flatten the $and/$or/$not",
            detail={"limit": MAX_NESTING},
        )
    return _parse(spec)


def _nesting(value: Any) -> int:
    """How many levels of dicts and lists ``value`` holds (without recursion)."""
    deepest, level = 0, [(value, 1)]
    while level:
        node, depth = level.pop()
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, (list, tuple)):
            deepest = max(deepest, depth)
            if depth <= MAX_NESTING:  # scalars (a long $in list) hold no levels
                level.extend((c, depth + 1) for c in node if isinstance(c, (dict, list, tuple)))
    return deepest


def _parse(spec: dict[str, Any] | Filter | None) -> Filter | None:
    if spec is None or isinstance(spec, (Eq, Ne, In, Range, Exists, And, Or, Not)):
        return spec
    if not isinstance(spec, dict):
        raise InvalidInputError(
            f"filters must be a dict, got {type(spec).__name__}", detail={"filters": repr(spec)}
        )
    parts: list[Filter] = []
    for key, value in spec.items():
        if key in ("$and", "$or"):
            if not isinstance(value, list) or not value:
                raise InvalidInputError(f"{key} needs a non-empty list of filters")
            children = tuple(_required(_parse(v)) for v in value)
            parts.append(And(children) if key == "$and" else Or(children))
        elif key == "$not":
            parts.append(Not(_required(_parse(value))))
        elif isinstance(key, str) and not key.startswith("$"):
            parts.append(_field_filter(key, value))
        else:
            raise InvalidInputError(
                f"unknown filter key {key!r}; use a field name, $and, $or or $not"
            )
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else And(tuple(parts))


def _required(node: Filter | None) -> Filter:
    if node is None:
        raise InvalidInputError("empty filter inside $and/$or/$not")
    return node


def combine(*filters: Filter | None) -> Filter | None:
    """AND the given filters together, skipping ``None``."""
    present = tuple(f for f in filters if f is not None)
    if not present:
        return None
    return present[0] if len(present) == 1 else And(present)
