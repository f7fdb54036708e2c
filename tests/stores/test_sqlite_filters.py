"""Every filter operator compiled to SQLite, on columns, list fields and metadata keys."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from store_helpers import T0, ItemFactory

from memosys.core.errors import InvalidInputError, UnknownFilterFieldError
from memosys.core.filters import Eq, parse_filter
from memosys.core.items import MemoryKind
from memosys.stores.base import Scope
from memosys.stores.sqlite import SQLiteStore
from memosys.stores.sqlite.filters import compile_filter


@pytest.fixture
def seeded(store: SQLiteStore, make_item: ItemFactory) -> SQLiteStore:
    store.add_items(
        [
            make_item("a", kind=MemoryKind.FACT, tags=["work", "urgent"], session_id="s1",
                      position=1, importance=0.9, event_time=T0 - timedelta(days=10),
                      metadata={"dia_id": "D1:1", "score": 5, "flag": True,
                                "labels": ["x", "y"], "deep": {"k": "v"}}),
            make_item("b", kind=MemoryKind.EVENT, tags=["home"], session_id="s1", position=2,
                      importance=0.2, event_time=T0 - timedelta(days=1),
                      metadata={"dia_id": "D1:2", "score": 1, "flag": False, "nothing": None}),
            make_item("c", kind=MemoryKind.MESSAGE, session_id=None, speaker="bob",
                      metadata={"score": 3.5}),
        ],
        None,
        None,
    )
    return store


CASES: list[tuple[dict[str, Any], set[str]]] = [
    ({"kind": "fact"}, {"a"}),
    ({"kind": {"$ne": "fact"}}, {"b", "c"}),
    ({"kind": {"$in": ["fact", "event"]}}, {"a", "b"}),
    ({"kind": {"$nin": ["fact", "event"]}}, {"c"}),
    ({"session_id": None}, {"c"}),
    ({"session_id": {"$ne": "s1"}}, {"c"}),
    ({"session_id": {"$in": ["s1", None]}}, {"a", "b", "c"}),
    ({"session_id": {"$exists": True}}, {"a", "b"}),
    ({"speaker": {"$exists": False}}, {"a", "b"}),
    ({"position": {"$gt": 1}}, {"b"}),
    ({"position": {"$gte": 1, "$lt": 2}}, {"a"}),
    ({"importance": {"$lte": 0.5}}, {"b", "c"}),
    ({"event_time": {"$gte": (T0 - timedelta(days=2)).isoformat()}}, {"b"}),
    ({"event_time": {"$lt": "2024-04-25"}}, {"a"}),
    ({"tags": "work"}, {"a"}),
    ({"tags": {"$ne": "work"}}, {"b", "c"}),
    ({"tags": {"$in": ["home", "urgent"]}}, {"a", "b"}),
    ({"tags": {"$exists": True}}, {"a", "b"}),
    ({"tags": {"$exists": False}}, {"c"}),
    ({"metadata.dia_id": "D1:2"}, {"b"}),
    ({"metadata.dia_id": {"$exists": True}}, {"a", "b"}),
    ({"metadata.nothing": {"$exists": True}}, {"b"}),
    ({"metadata.score": {"$gt": 2}}, {"a", "c"}),
    ({"metadata.score": {"$in": [1, 5]}}, {"a", "b"}),
    ({"metadata.flag": True}, {"a"}),
    ({"metadata.flag": False}, {"b"}),
    ({"metadata.labels": "y"}, {"a"}),
    ({"metadata.labels": {"$ne": "y"}}, {"b", "c"}),
    ({"metadata.deep.k": "v"}, {"a"}),
    ({"metadata.dia_id": {"$ne": "D1:1"}}, {"b", "c"}),
    ({"$or": [{"kind": "fact"}, {"speaker": "bob"}]}, {"a", "c"}),
    ({"$and": [{"session_id": "s1"}, {"importance": {"$gt": 0.5}}]}, {"a"}),
    ({"session_id": "s1", "kind": "event"}, {"b"}),
    ({"$not": {"session_id": "s1"}}, {"c"}),
    ({"$not": {"position": {"$gt": 1}}}, {"a", "c"}),
    ({"$not": {"$or": [{"tags": "home"}, {"metadata.score": {"$gt": 3}}]}}, set()),
]


@pytest.mark.parametrize(("spec", "expected"), CASES, ids=[str(c[0]) for c in CASES])
def test_filter_selects_expected_items(
    seeded: SQLiteStore, scope1: Scope, spec: dict[str, Any], expected: set[str]
) -> None:
    node = parse_filter(spec)
    assert {i.content for i in seeded.list_items(scope1, node)} == expected
    assert seeded.count_items(scope1, node) == len(expected)


def test_unknown_field_reaching_the_compiler_raises() -> None:
    with pytest.raises(UnknownFilterFieldError):
        compile_filter(Eq("colour", "red"))


def test_range_on_a_list_field_and_quoted_metadata_key_are_rejected() -> None:
    with pytest.raises(InvalidInputError):
        compile_filter(parse_filter({"tags": {"$gt": "a"}}))
    with pytest.raises(InvalidInputError):
        compile_filter(parse_filter({'metadata.a"b': 1}))


MIXED = {"int": 3, "text": "3", "big": 10, "true": True, "list": [1, 7], "obj": {"n": 9}}
TYPED_CASES: list[tuple[dict[str, Any], set[str]]] = [
    ({"metadata.n": {"$gt": 5}}, {"big", "list"}),  # "3", the list's JSON text: not > 5
    ({"metadata.n": {"$lt": 5}}, {"int", "list"}),  # true is no number
    ({"metadata.n": {"$gte": 2, "$lte": 4}}, {"int"}),  # one element must hold both
    ({"metadata.n": {"$gt": "2"}}, {"text"}),  # text against text only
    ({"metadata.n": 1}, {"list"}),  # not true
    ({"metadata.n": True}, {"true"}),  # not 1
    ({"metadata.n": {"$in": [3, "x"]}}, {"int"}),
    ({"metadata.n": {"$in": ["3", True]}}, {"text", "true"}),
    ({"metadata.n": {"$ne": 1}}, {"int", "text", "big", "true", "obj"}),
]


@pytest.mark.parametrize(("spec", "expected"), TYPED_CASES, ids=[str(c[0]) for c in TYPED_CASES])
def test_metadata_values_compare_within_their_json_type(
    store: SQLiteStore, make_item: ItemFactory, scope1: Scope,
    spec: dict[str, Any], expected: set[str],
) -> None:
    items = [make_item(name, metadata={"n": value}) for name, value in MIXED.items()]
    store.add_items(items, None, None)
    node = parse_filter(spec)
    assert {i.content for i in store.list_items(scope1, node)} == expected
    assert store.count_items(scope1, node) == len(expected)


@pytest.mark.parametrize("key", ["back\\slash", "tab\tkey", "line\nbreak", "größe", "a b"])
def test_a_metadata_key_with_any_character_but_quotes_and_dots_is_found(
    store: SQLiteStore, make_item: ItemFactory, scope1: Scope, key: str
) -> None:
    store.add_items([make_item("kept", metadata={key: 1}), make_item("other")], None, None)
    for spec in ({f"metadata.{key}": 1}, {f"metadata.{key}": {"$exists": True}}):
        assert [i.content for i in store.list_items(scope1, parse_filter(spec))] == ["kept"]
