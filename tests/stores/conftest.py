"""Fixtures for the SQLite store tests: a real database file in tmp_path."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from store_helpers import T0, ItemFactory

from memosys.core.clock import FixedClock
from memosys.core.cube import MemCube
from memosys.core.ids import new_id
from memosys.core.items import MemoryItem
from memosys.settings import StoreSettings
from memosys.stores.base import Scope
from memosys.stores.sqlite import SQLiteStore


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "memosys.db"


@pytest.fixture
def open_store(db_path: Path, clock: FixedClock) -> Iterator[Callable[..., SQLiteStore]]:
    """Open stores on the test database (closed at the end of the test)."""
    opened: list[SQLiteStore] = []

    def _open(**settings: Any) -> SQLiteStore:
        store = SQLiteStore(db_path, StoreSettings(**settings), clock)
        opened.append(store)
        return store

    yield _open
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: Callable[..., SQLiteStore]) -> SQLiteStore:
    """A store with cubes c1 (owner u1) and c2 (owner u2)."""
    s = open_store()
    for cube_id, owner in (("c1", "u1"), ("c2", "u2")):
        s.put_cube(MemCube(id=cube_id, name=cube_id, owner=owner, created_at=T0, updated_at=T0))
    return s


@pytest.fixture
def scope1() -> Scope:
    return Scope(user_id="u1", cube_ids=("c1",))


@pytest.fixture
def scope2() -> Scope:
    return Scope(user_id="u2", cube_ids=("c2",))


@pytest.fixture
def make_item() -> ItemFactory:
    """Build an item of cube c1 / user u1 unless told otherwise."""

    def _make(content: str = "hello world", **fields: Any) -> MemoryItem:
        values: dict[str, Any] = {
            "id": new_id(),
            "cube_id": "c1",
            "user_id": "u1",
            "owner": fields.get("user_id", "u1"),
            "content": content,
            "created_at": T0,
            "updated_at": T0,
        }
        values.update(fields)
        return MemoryItem(**values)

    return _make


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(42)

