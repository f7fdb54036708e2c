"""Writes and reads of memories behave the same on every backend."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from memosys.core.errors import (
    EmptyInputError,
    EncodingError,
    InputTooLargeError,
    InvalidInputError,
    NotFoundError,
    VersionConflictError,
)
from memosys.core.items import MemoryItem


def test_add_messages_returns_stored_items_in_session_order(api: Any, users: Any) -> None:
    ana = users("ana")
    when = datetime(2024, 3, 2, 18, 30, tzinfo=UTC)
    items = api.add(
        [
            {"role": "user", "content": "I adopted a cat named Miso", "name": "Ana"},
            {"role": "assistant", "content": "Congratulations on Miso!"},
        ],
        user_id=ana,
        session_id="s1",
        session_time=when,
        metadata={"channel": "chat"},
        tags=["pets"],
    )
    assert [i.content for i in items] == ["I adopted a cat named Miso", "Congratulations on Miso!"]
    assert all(isinstance(i, MemoryItem) for i in items)
    assert [i.position for i in items] == [0, 1]
    assert items[0].speaker == "Ana" and items[0].event_time == when
    assert items[0].metadata == {"channel": "chat"} and items[0].tags == ["pets"]
    later = api.add([{"role": "user", "content": "Miso likes tuna"}], user_id=ana, session_id="s1")
    assert later[0].position == 2
    assert api.get(items[0].id, user_id=ana) == items[0]


def test_add_texts_with_given_embeddings_and_metadata(api: Any, users: Any) -> None:
    ana = users("ana")
    vectors = np.eye(2, 384, dtype=np.float32)
    items = api.add_texts(
        ["first note", "second note"],
        user_id=ana,
        cube="notes",
        embeddings=vectors,
        metadatas=[{"n": 1}, {"n": 2}],
        kind="fact",
        tags=["t"],
    )
    assert [(i.content, i.kind, i.metadata) for i in items] == [
        ("first note", "fact", {"n": 1}),
        ("second note", "fact", {"n": 2}),
    ]
    assert api.cube("notes", user_id=ana).id == items[0].cube_id


def test_given_embeddings_are_searched_as_their_float32_values(
    api: Any, users: Any, embedder: Any
) -> None:
    ana = users("ana")
    vectors = np.random.default_rng(5).standard_normal((3, 384)) * 3  # float64, not unit
    texts = ["packed alpha", "packed beta", "packed gamma"]
    items = api.add_texts(texts, user_id=ana, cube="packed", embeddings=vectors)
    query = embedder.embed(["packed alpha"], purpose="query")[0]
    stored = vectors.astype(np.float32)
    expected = stored @ query / np.linalg.norm(stored, axis=1)
    hits = api.search("packed alpha", user_id=ana, cube="packed", mode="dense")
    scores = {h.item.id: h.explain.retrievers[0].score for h in hits}
    assert scores.keys() == {item.id for item in items}
    for item, cosine in zip(items, expected, strict=True):
        assert scores[item.id] == pytest.approx(float(cosine), abs=1e-5)


def test_a_given_query_vector_searches_as_the_query_embedded(
    api: Any, users: Any, embedder: Any
) -> None:
    ana = users("ana")
    texts = ["the red kite flew high", "a quiet evening at home", "kites need wind"]
    api.add_texts(texts, user_id=ana, cube="qv")
    query = "kite in the wind"
    vector = embedder.embed([query], purpose="query")[0]
    for mode in ("hybrid", "dense"):
        plain = api.search(query, user_id=ana, cube="qv", mode=mode, record_access=False)
        given = api.search(query, user_id=ana, cube="qv", mode=mode, record_access=False,
                           query_vector=vector)
        assert [h.item.id for h in given] == [h.item.id for h in plain]
        assert [h.score for h in given] == pytest.approx([h.score for h in plain], abs=1e-5)
    then = api.search(query, user_id=ana, cube="qv", as_of=datetime.now(UTC),
                      query_vector=vector.tolist())
    assert {h.item.content for h in then} == set(texts)
    other = embedder.embed(["a quiet evening at home"], purpose="query")  # shape (1, d)
    hits = api.search(query, user_id=ana, cube="qv", mode="dense", query_vector=other)
    assert hits[0].item.content == "a quiet evening at home"
    sessions = api.search_sessions(query, user_id=ana, cube="qv", mode="dense",
                                   query_vector=other)
    assert sessions[0].hits[0].item.content == "a quiet evening at home"


def test_add_document_chunks_by_heading(api: Any, users: Any) -> None:
    ana = users("ana")
    text = "# Guide\n\n## Install\n\nRun pip install memosys.\n\n## Use\n\nCall search.\n"
    items = api.add_document("guide.md", text=text, user_id=ana, title="The guide", tags=["doc"])
    assert [i.headings for i in items] == [["Guide", "Install"], ["Guide", "Use"]]
    assert {i.source_ref for i in items} == {"The guide"}
    assert all(i.kind == "chunk" and i.tags == ["doc"] for i in items)


def test_list_count_filter_and_page(api: Any, users: Any) -> None:
    ana = users("ana")
    api.add_texts([f"note {n}" for n in range(5)], user_id=ana, kind="note")
    api.add_texts(["a fact"], user_id=ana, kind="fact")
    assert api.count(user_id=ana) == 6
    assert api.count(user_id=ana, filters={"kind": "fact"}) == 1
    first = api.list(user_id=ana, limit=4)
    rest = api.list(user_id=ana, limit=4, offset=4)
    assert len(first) == 4 and len(rest) == 2
    assert {i.id for i in first}.isdisjoint(i.id for i in rest)
    assert [i.content for i in api.list(user_id=ana, filters={"kind": "fact"})] == ["a fact"]


def test_update_changes_content_and_bumps_version(api: Any, users: Any) -> None:
    ana = users("ana")
    (item,) = api.add_texts(["I live in Lyon"], user_id=ana)
    updated = api.update(
        item.id, user_id=ana, content="I live in Paris", tags=["home"], importance=0.9
    )
    assert (updated.content, updated.tags, updated.importance) == ("I live in Paris", ["home"], 0.9)
    assert updated.version == item.version + 1
    assert api.get(item.id, user_id=ana) == updated
    assert [h.item.id for h in api.search("Paris", user_id=ana, mode="bm25")] == [item.id]


def test_an_update_if_version_applies_only_to_that_version(api: Any, users: Any) -> None:
    ana = users("ana")
    (item,) = api.add_texts(["I live in Lyon"], user_id=ana)
    api.update(item.id, user_id=ana, tags=["home"], if_version=1)
    with pytest.raises(VersionConflictError) as refused:
        api.update(item.id, user_id=ana, content="I live in Paris", if_version=1)
    assert refused.value.detail == {"id": item.id, "version": 2, "expected_version": 1}
    assert api.get(item.id, user_id=ana).content == "I live in Lyon"
    with pytest.raises(InvalidInputError, match="if_version"):
        api.update(item.id, user_id=ana, tags=["x"], if_version=0)
    assert api.update(item.id, user_id=ana, content="I live in Paris", if_version=2).version == 3


def test_a_delete_if_version_applies_only_to_that_version(api: Any, users: Any) -> None:
    ana = users("ana")
    (item,) = api.add_texts(["I live in Lyon"], user_id=ana)
    api.update(item.id, user_id=ana, tags=["home"])
    with pytest.raises(VersionConflictError) as refused:
        api.delete(item.id, user_id=ana, if_version=1)
    assert refused.value.detail == {"id": item.id, "version": 2, "expected_version": 1}
    assert api.get(item.id, user_id=ana).tags == ["home"]
    with pytest.raises(InvalidInputError, match="if_version"):
        api.delete(item.id, user_id=ana, if_version=0)
    api.delete(item.id, user_id=ana, if_version=2)
    with pytest.raises(NotFoundError):
        api.get(item.id, user_id=ana)


def test_an_update_that_changes_nothing_keeps_the_version(api: Any, users: Any) -> None:
    ana = users("ana")
    (item,) = api.add_texts(["I live in Lyon"], user_id=ana, tags=["home"])
    same = api.update(item.id, user_id=ana, content="I live in Lyon", tags=["home"],
                      importance=item.importance, kind="note")
    assert same == item and len(api.history(item.id, user_id=ana)) == 1
    changed = api.update(item.id, user_id=ana, content="I live in Lyon", importance=0.8)
    assert (changed.version, changed.importance, changed.content) == (2, 0.8, "I live in Lyon")


@pytest.mark.parametrize(
    ("changes", "error", "field"),
    [
        ({"importance": 5}, InvalidInputError, "importance"),
        ({"importance": -0.1}, InvalidInputError, "importance"),
        ({"content": " "}, EmptyInputError, "content"),
        ({"kind": "bogus"}, InvalidInputError, "kind"),
        ({"metadata": ["not", "a", "dict"]}, InvalidInputError, "metadata"),
    ],
)
def test_a_bad_update_names_its_field_and_changes_nothing(
    api: Any, users: Any, changes: dict[str, Any], error: type[Exception], field: str
) -> None:
    ana = users("ana")
    (item,) = api.add_texts(["I live in Lyon"], user_id=ana)
    with pytest.raises(error) as raised:
        api.update(item.id, user_id=ana, **changes)
    assert field in str(raised.value)
    assert api.get(item.id, user_id=ana) == item


def test_delete_removes_everywhere(api: Any, users: Any) -> None:
    ana = users("ana")
    (item,) = api.add_texts(["a memory to forget about zebras"], user_id=ana)
    assert api.delete(item.id, user_id=ana) is None
    with pytest.raises(NotFoundError):
        api.get(item.id, user_id=ana)
    with pytest.raises(NotFoundError):
        api.delete(item.id, user_id=ana)
    assert api.search("zebras", user_id=ana, mode="bm25") == []


def test_another_users_memory_is_not_found(api: Any, users: Any) -> None:
    (item,) = api.add_texts(["private"], user_id=users("ana"))
    ben = users("ben")
    with pytest.raises(NotFoundError):
        api.get(item.id, user_id=ben)
    with pytest.raises(NotFoundError):
        api.update(item.id, user_id=ben, content="mine now")
    with pytest.raises(NotFoundError):
        api.delete(item.id, user_id=ben)
    assert api.list(user_id=ben) == []


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda api, u: api.add([{"role": "user", "content": "  "}], user_id=u), EmptyInputError),
        (lambda api, u: api.add([{"role": "user"}], user_id=u), InvalidInputError),
        (lambda api, u: api.add_texts(["x"], user_id=u, embeddings=[[1.0]]), InvalidInputError),
        (lambda api, u: api.list(user_id=u, limit=0), InvalidInputError),
        (lambda api, u: api.get("", user_id=u), InvalidInputError),
        (lambda api, u: api.add_document("empty.md", text="", user_id=u), EmptyInputError),
        (
            lambda api, u: api.add_texts(["a"], user_id=u, embeddings=[[float("nan")] * 384]),
            InvalidInputError,
        ),
        (lambda api, u: api.add_texts(["a\ud800b"], user_id=u), EncodingError),
        (lambda api, u: api.search("a", user_id=u, query_vector=[1.0, 2.0]), InvalidInputError),
        (lambda api, u: api.search("a", user_id=u, query_vector=[float("nan")] * 384),
         InvalidInputError),
        (lambda api, u: api.search_sessions("a", user_id=u, query_vector=[0.0] * 384),
         InvalidInputError),
        (lambda api, u: api.list(user_id=u, as_of="2020-01-01"), InvalidInputError),
        (lambda api, u: api.search("a\ud800b", user_id=u), EncodingError),
        (lambda api, u: api.search("a", user_id=u, mmr="0.5"), InvalidInputError),
        (lambda api, u: api.search("a", user_id=u, recency_weight=float("inf")), InvalidInputError),
        (
            lambda api, u: api.add_texts(["x"], user_id=u, metadatas=[{"s": [float("nan")]}]),
            InvalidInputError,
        ),
        (lambda api, u: api.add_document("scan.pdf", text="%PDF-1.4", user_id=u),
         InvalidInputError),
        (lambda api, u: api.add_document("blob", text=b"ab\x00cd", user_id=u), InvalidInputError),
        (lambda api, u: api.search("tea " * 2001, user_id=u), InputTooLargeError),
        (lambda api, u: api.search("a", user_id=u, include_history="no"), InvalidInputError),
        (lambda api, u: api.list(user_id=u, include_archived=1), InvalidInputError),
        (
            lambda api, u: api.add(
                [{"role": "user", "content": "hi", "timestamp": 1700000000}], user_id=u
            ),
            InvalidInputError,
        ),
        (lambda api, u: api.add_texts(["x"], user_id=u, event_times=[1700000000]),
         InvalidInputError),
    ],
    ids=[
        "blank-message", "no-content", "embedding-shape", "limit-zero", "empty-id", "empty-doc",
        "embedding-nan", "unpaired-surrogate", "query-vector-size", "query-vector-nan",
        "query-vector-zero", "as-of-text", "query-surrogate", "mmr-text",
        "weight-infinite", "metadata-nan", "pdf-document", "nul-document", "query-too-long",
        "history-flag-text", "archived-flag-number", "timestamp-number", "event-time-number",
    ],
)
def test_bad_input_raises_the_same_error(api: Any, users: Any, call: Any, error: Any) -> None:
    with pytest.raises(error) as caught:
        call(api, users("ana"))
    assert type(caught.value) is error


def test_add_document_from_a_file(api: Any, users: Any, tmp_path: Any) -> None:
    path = tmp_path / "trip.txt"
    path.write_text("We leave on Monday.\n\nThe hotel is near the harbour.\n", encoding="utf-8")
    items = api.add_document(path, user_id=users("ana"))
    assert [i.content for i in items] == ["We leave on Monday.\n\nThe hotel is near the harbour."]
    assert {i.source_ref for i in items} == {str(path)}


@pytest.mark.parametrize("id", ["count", ".", "..", "a/b", "a?b#c"])
@pytest.mark.parametrize(
    "call",
    [
        lambda api, id, u: api.get(id, user_id=u),
        lambda api, id, u: api.update(id, user_id=u, content="new"),
        lambda api, id, u: api.delete(id, user_id=u),
        lambda api, id, u: api.history(id, user_id=u),
        lambda api, id, u: api.rollback(id, 1, user_id=u),
        lambda api, id, u: api.archive(id, user_id=u),
    ],
    ids=["get", "update", "delete", "history", "rollback", "archive"],
)
def test_an_id_that_is_a_route_word_or_path_is_not_found_by_name(
    api: Any, users: Any, call: Any, id: str
) -> None:
    ana = users("ana")
    api.add_texts(["a memory"], user_id=ana)
    with pytest.raises(NotFoundError) as caught:
        call(api, id, ana)
    assert type(caught.value) is NotFoundError and caught.value.detail == {"id": id}
