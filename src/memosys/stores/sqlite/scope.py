"""The WHERE clause that every item read carries: scope, expiry and the caller's filter."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from memosys.core.filters import Filter
from memosys.stores.base import Scope
from memosys.stores.sqlite.codec import micros
from memosys.stores.sqlite.filters import compile_filter


def visible(
    scope: Scope, now: datetime, filters: Filter | None = None, alias: str = "i"
) -> tuple[str, list[Any]]:
    """SQL for items of the scope's cubes that have not expired, are not deleted
    (tombstones are kept only for their history) and match ``filters``.

    An empty scope matches nothing.
    """
    if not scope.cube_ids:
        return "0", []
    marks = ", ".join("?" for _ in scope.cube_ids)
    filter_sql, filter_params = compile_filter(filters, alias)
    sql = (
        f"{alias}.cube_id IN ({marks}) "
        f"AND ({alias}.expires_at IS NULL OR {alias}.expires_at > ?) "
        f"AND {alias}.state <> 'deleted' AND {filter_sql}"
    )
    return sql, [*scope.cube_ids, micros(now), *filter_params]
