"""Scope isolation: an item outside the scope is never read, updated or deleted."""

from __future__ import annotations

import numpy as np
import pytest
from store_helpers import FINGERPRINT, ItemFactory, unit

from memosys.core.errors import NotFoundError
from memosys.core.items import MemoryItem
from memosys.stores.base import Scope
from memosys.stores.sqlite import SQLiteStore


@pytest.fixture
def secret(store: SQLiteStore, make_item: ItemFactory, rng: np.random.Generator) -> MemoryItem:
    """An item of user u1 in cube c1, and one of u2 in c2 with the same words."""
    mine = make_item("secret launch codes", session_id="s", position=1)
    theirs = make_item("secret launch codes", cube_id="c2", user_id="u2", session_id="s",
                       position=2)
    store.add_items([mine, theirs], np.vstack([unit(rng, 1), unit(rng, 1)]), FINGERPRINT)
    return mine


def test_no_read_path_returns_an_item_outside_the_scope(
    store: SQLiteStore, secret: MemoryItem, scope2: Scope
) -> None:
    for scope in (scope2, Scope("u1", ())):
        assert store.get_items(scope, [secret.id]) == []
        assert secret.id not in {i.id for i in store.list_items(scope)}
        assert store.count_items(scope) == (1 if scope.cube_ids else 0)
        assert store.neighbours(scope, secret, 5, 5) == []
        assert secret.id not in {h.id for h in store.text_search(scope, "secret codes", None, 10)}
        probe = unit(np.random.default_rng(0), 1)[0]
        assert secret.id not in {h.id for h in store.vector_search(scope, probe, None, 10)}


def test_neighbours_stay_inside_the_item_cube(
    store: SQLiteStore, secret: MemoryItem, scope1: Scope
) -> None:
    both = Scope("u1", ("c1", "c2"))
    assert store.neighbours(both, secret, 5, 5) == []  # same session id, other cube
    assert store.count_items(both) == 2


def test_update_and_delete_outside_the_scope_raise_not_found(
    store: SQLiteStore, secret: MemoryItem, scope1: Scope, scope2: Scope
) -> None:
    changed = secret.model_copy(update={"content": "overwritten"})
    with pytest.raises(NotFoundError):
        store.update_item(scope2, changed, None)
    with pytest.raises(NotFoundError):
        store.delete_items(scope2, [secret.id])
    with pytest.raises(NotFoundError):
        store.delete_items(scope1, [secret.id, "no-such-id"])
    assert store.get_items(scope1, [secret.id])[0].content == "secret launch codes"
