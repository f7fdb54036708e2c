"""Search and session search behave the same on every backend."""

from __future__ import annotations

from typing import Any

import pytest

from memosys.core.errors import InvalidInputError, NotFoundError, UnknownFilterFieldError

FACTS = [
    "Ana moved to Lisbon in 2021 for a design job",
    "Ana's favourite food is grilled sardines",
    "Ana plays the cello in a community orchestra",
]


@pytest.fixture
def ana(api: Any, users: Any) -> str:
    user = users("ana")
    for number, fact in enumerate(FACTS):
        api.add([{"role": "user", "content": fact}], user_id=user, session_id=f"s{number}")
    api.add_texts(["The orchestra rehearses on Tuesdays"], user_id=user, cube="music")
    return user


@pytest.mark.parametrize("mode", ["hybrid", "bm25", "dense"])
def test_search_ranks_the_matching_memory_first(api: Any, ana: str, mode: str) -> None:
    hits = api.search("what instrument does Ana play? cello", user_id=ana, mode=mode, top_k=3)
    assert hits[0].item.content == FACTS[2]
    assert len(hits) <= 3 and all(h.explain.retrievers for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_search_is_limited_to_the_cube_and_filters(api: Any, ana: str) -> None:
    in_music = api.search("orchestra", user_id=ana, cube="music", mode="bm25")
    assert [h.item.content for h in in_music] == ["The orchestra rehearses on Tuesdays"]
    facts_only = api.search("orchestra", user_id=ana, filters={"kind": "message"}, mode="bm25")
    assert [h.item.content for h in facts_only] == [FACTS[2]]


def test_search_options_pass_through(api: Any, ana: str) -> None:
    hits = api.search(
        "sardines", user_id=ana, fusion="weighted", recency_weight=0.1,
        importance_weight=0.1, mmr=0.5, neighbours=1,
    )
    assert hits[0].item.content == FACTS[1]
    assert set(hits[0].explain.adjustments) >= {"recency", "importance"}


def test_search_sessions(api: Any, ana: str) -> None:
    sessions = api.search_sessions("Lisbon design job", user_id=ana, top_k=2)
    assert sessions[0].session_id == "s0"
    assert sessions[0].hits[0].item.content == FACTS[0]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"top_k": 0}, InvalidInputError),
        ({"filters": {"colour": "red"}}, UnknownFilterFieldError),
        ({"cube": "no-such-cube"}, NotFoundError),
        ({"mmr": 2.0}, InvalidInputError),
        ({"top_k": "5"}, InvalidInputError),
        ({"top_k": True}, InvalidInputError),
        ({"neighbours": 1.0}, InvalidInputError),
        ({"recency_weight": "0.5"}, InvalidInputError),
        ({"as_of": "2020-01-01"}, InvalidInputError),
        ({"mmr": True}, InvalidInputError),
        ({"neighbours": True}, InvalidInputError),
        ({"importance_weight": False}, InvalidInputError),
    ],
    ids=[
        "top-k", "unknown-filter", "unknown-cube", "mmr-range",
        "top-k-text", "top-k-bool", "neighbours-float", "weight-text", "as-of-text",
        "mmr-bool", "neighbours-bool", "weight-bool",
    ],
)
def test_bad_search_raises_the_same_error(api: Any, ana: str, kwargs: Any, error: Any) -> None:
    with pytest.raises(error) as caught:
        api.search("cello", user_id=ana, **kwargs)
    assert type(caught.value) is error


def test_blank_query_is_refused(api: Any, ana: str) -> None:
    with pytest.raises(InvalidInputError):
        api.search("   ", user_id=ana)


def test_a_search_that_only_browses_leaves_access_counts_alone(api: Any, users: Any) -> None:
    ana = users("ana")
    (item,) = api.add_texts(["The spare key is under the blue pot."], user_id=ana)
    assert api.search("spare key", user_id=ana, mode="bm25", record_access=False)
    assert api.get(item.id, user_id=ana).access_count == 0
    assert api.search("spare key", user_id=ana, mode="bm25")
    assert api.get(item.id, user_id=ana).access_count == 1
