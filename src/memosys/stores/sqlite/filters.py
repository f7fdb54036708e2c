"""Compile the filter AST (:mod:`memosys.core.filters`) to an SQLite WHERE fragment.

Fields are columns of ``items`` (aliased ``i``); ``metadata.<a>.<b>`` reaches
into the stored JSON with ``json_extract``. On list fields ``Eq`` means
"contains" and ``In`` means "contains any" (via ``json_each``), and on a
metadata key that holds a JSON array the same holds (a range: some element
in it). A metadata value compares only with filter values of its JSON type
(numbers with numbers, text with text, true/false with booleans). ``Not`` treats a NULL
comparison as false, so ``$not`` of a condition on a missing value matches.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from memosys.core.clock import json_time
from memosys.core.errors import InvalidInputError
from memosys.core.filters import (
    And,
    Eq,
    Exists,
    FieldType,
    Filter,
    In,
    Ne,
    Not,
    Or,
    Range,
    Scalar,
    field_type,
)
from memosys.stores.sqlite.codec import sql_value

Compiled = tuple[str, list[Any]]
_RANGE_SQL = (("gt", ">"), ("gte", ">="), ("lt", "<"), ("lte", "<="))


def compile_filter(node: Filter | None, alias: str = "i") -> Compiled:
    """SQL (``"1"`` when there is no filter) and its parameters."""
    if node is None:
        return "1", []
    return _Compiler(alias).node(node)


class _Compiler:
    def __init__(self, alias: str) -> None:
        self.alias = alias

    def node(self, node: Filter) -> Compiled:
        if isinstance(node, And | Or):
            parts = [self.node(child) for child in node.children]
            joiner = " AND " if isinstance(node, And) else " OR "
            return "(" + joiner.join(sql for sql, _ in parts) + ")", [
                p for _, params in parts for p in params
            ]
        if isinstance(node, Not):
            sql, params = self.node(node.child)
            return f"(NOT COALESCE({sql}, 0))", params
        kind = field_type(node.field)  # raises UnknownFilterFieldError
        if kind is FieldType.JSON:
            return self._metadata(node)
        column = f"{self.alias}.{node.field}"
        if kind is FieldType.LIST:
            return self._list(node, column)
        return self._scalar(node, column)

    def _scalar(self, node: Eq | Ne | In | Range | Exists, column: str) -> Compiled:
        name = node.field
        if isinstance(node, Eq):
            if node.value is None:
                return f"({column} IS NULL)", []
            return f"({column} = ?)", [sql_value(name, node.value)]
        if isinstance(node, Ne):
            return f"({column} IS NOT ?)", [sql_value(name, node.value)]
        if isinstance(node, In):
            return _in(column, [sql_value(name, v) for v in node.values])
        if isinstance(node, Range):
            return _range(node, column, lambda v: sql_value(name, v))
        return f"({column} IS {'NOT ' if node.exists else ''}NULL)", []

    def _list(self, node: Eq | Ne | In | Range | Exists, column: str) -> Compiled:
        if isinstance(node, Exists):
            op = ">" if node.exists else "="
            return f"(json_array_length({column}) {op} 0)", []
        if isinstance(node, Range):
            raise InvalidInputError(
                f"range operators do not apply to the list field {node.field!r}; "
                "use $eq (contains) or $in (contains any)",
                detail={"field": node.field},
            )
        values = list(node.values) if isinstance(node, In) else [node.value]
        marks = ", ".join("?" for _ in values)
        sql = f"EXISTS (SELECT 1 FROM json_each({column}) WHERE value IN ({marks}))"
        return (f"(NOT {sql})" if isinstance(node, Ne) else f"({sql})"), [
            _json_scalar(v) for v in values
        ]

    def _metadata(self, node: Eq | Ne | In | Range | Exists) -> Compiled:
        path = _json_path(node.field)
        data = f"{self.alias}.data"
        value = f"json_extract({data}, '{path}')"
        if isinstance(node, Exists):
            return f"(json_type({data}, '{path}') IS {'NOT ' if node.exists else ''}NULL)", []
        values = [] if isinstance(node, Range) else (
            list(node.values) if isinstance(node, In) else [node.value]
        )
        if values == [None]:
            sql = f"({value} IS NULL)"
            return (f"(NOT {sql})" if isinstance(node, Ne) else sql), []
        # Each value is compared with values of its own JSON type only: SQLite orders any
        # text above any number (so "3" > 5, and an array's JSON text > 5) and reads
        # true as 1, which made {"$gt": 5} match "3" and {"n": 1} match true.
        one, params = _typed_range(node) if isinstance(node, Range) else _typed_in(values)
        scalar = one.format(v=value, t=f"json_type({data}, '{path}')")
        element = one.format(v="value", t="type")
        sql = (
            f"(CASE json_type({data}, '{path}') WHEN 'array' THEN EXISTS "
            f"(SELECT 1 FROM json_each({data}, '{path}') WHERE {element}) "
            f"ELSE {scalar} END)"
        )
        if isinstance(node, Ne):
            sql = f"(NOT COALESCE({sql}, 0))"
        return sql, params + params


def _json_types(value: Scalar) -> str:
    """The ``json_type`` names a metadata value must have to compare with ``value``."""
    if isinstance(value, bool):
        return "'true', 'false'"
    if isinstance(value, int | float):
        return "'integer', 'real'"
    return "'text'"


def _typed_in(values: list[Scalar]) -> Compiled:
    """A template (``{v}`` the value, ``{t}`` its JSON type): the value is one of
    ``values`` (``None``: missing or null), compared within its JSON type."""
    groups: dict[str, list[Any]] = {}
    parts = []
    for item in values:
        if item is None:
            parts.append("({t} IS NULL OR {t} = 'null')")
        else:
            groups.setdefault(_json_types(item), []).append(_json_scalar(item))
    params: list[Any] = []
    for types, members in groups.items():
        marks = ", ".join("?" for _ in members)
        parts.append(f"({{t}} IN ({types}) AND {{v}} IN ({marks}))")
        params.extend(members)
    return "(" + " OR ".join(parts) + ")", params


def _typed_range(node: Range) -> Compiled:
    """A template as :func:`_typed_in` gives, for the bounds of ``node``."""
    return _bounds(
        node, lambda op, bound: f"({{t}} IN ({_json_types(bound)}) AND {{v}} {op} ?)",
        _json_scalar,
    )


def _in(column: str, values: list[Any]) -> Compiled:
    present = [v for v in values if v is not None]
    parts = []
    if present:
        parts.append(f"{column} IN ({', '.join('?' for _ in present)})")
    if len(present) != len(values):
        parts.append(f"{column} IS NULL")
    return "(" + " OR ".join(parts) + ")", present


def _range(node: Range, column: str, convert: Any) -> Compiled:
    return _bounds(node, lambda op, _bound: f"{column} {op} ?", convert)


def _bounds(node: Range, clause: Callable[[str, Any], str], convert: Any) -> Compiled:
    """The bounds of ``node`` that are set, each as ``clause(operator, bound)`` with the
    bound, converted, as its parameter; all of them must hold."""
    parts: list[str] = []
    params: list[Any] = []
    for attr, op in _RANGE_SQL:
        bound = getattr(node, attr)
        if bound is not None:
            parts.append(clause(op, bound))
            params.append(convert(bound))
    return "(" + " AND ".join(parts or ["1"]) + ")", params


def _json_scalar(value: Scalar) -> Any:
    """A filter value as ``json_extract``/``json_each`` return it (bools are 0/1)."""
    if isinstance(value, datetime):  # as a datetime in metadata is stored
        return json_time(value)
    if isinstance(value, bool):
        return int(value)
    return value


def _json_path(field: str) -> str:
    keys = field.split(".")[1:]
    for key in keys:
        if not key or '"' in key or "'" in key:
            raise InvalidInputError(
                f"metadata filter key {field!r} is not supported: keys must be non-empty "
                "and contain no quotes",
                detail={"field": field},
            )
    # A label is matched against the key as the stored JSON writes it, so a backslash
    # or a control character (a tab) is escaped the same way; unescaped, such a key
    # matched nothing.
    return "$.metadata" + "".join(f'."{json.dumps(key, ensure_ascii=False)[1:-1]}"' for key in keys)
