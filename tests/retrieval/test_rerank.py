"""The context re-ranker: query signals, features, shipped weights, and its effect on search."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from memosys import MemOS
from memosys.core.clock import FixedClock
from memosys.core.errors import ConfigurationError
from memosys.retrieval.query_signals import named_dates, named_speakers, near
from memosys.retrieval.rerank import FEATURES, LinearReranker, bundled_reranker

START = datetime(2023, 5, 8, 13, 0, tzinfo=UTC)


@pytest.fixture
def mos(tmp_path: Path, embedder: Any) -> Iterator[MemOS]:
    with MemOS.open(tmp_path, embedder=embedder, clock=FixedClock(START)) as opened:
        yield opened


def test_named_dates_reads_day_month_and_iso_forms() -> None:
    assert named_dates("What did Caroline do on 25 May, 2023?") == [
        (date(2023, 5, 25), date(2023, 5, 25))
    ]
    assert named_dates("on May 7th, 2023 and 2023-06-01") == [
        (date(2023, 5, 7), date(2023, 5, 7)),
        (date(2023, 6, 1), date(2023, 6, 1)),
    ]
    assert named_dates("Where did she go in February 2024?") == [
        (date(2024, 2, 1), date(2024, 2, 29))
    ]
    # an impossible day still names its month
    assert named_dates("on 31 February 2023") == [(date(2023, 2, 1), date(2023, 2, 28))]
    assert named_dates("What did she say?") == []


def test_near_allows_a_week_of_slack() -> None:
    ranges = [(date(2023, 5, 25), date(2023, 5, 25))]
    assert near(date(2023, 5, 20), ranges) and near(date(2023, 6, 1), ranges)
    assert not near(date(2023, 6, 2), ranges)


def test_named_speakers_matches_first_names_case_insensitively() -> None:
    speakers = {"Caroline", "Melanie Smith", "assistant"}
    assert named_speakers("what did melanie paint?", speakers) == {"Melanie Smith"}
    assert named_speakers("What did the team decide?", speakers) == set()


def test_bundled_weights_match_the_features() -> None:
    model = bundled_reranker()
    assert model.weights.shape == (len(FEATURES),)
    assert model.to_dict()["features"] == list(FEATURES)


def test_weights_for_other_features_are_refused(tmp_path: Path) -> None:
    data = bundled_reranker().to_dict()
    data["features"] = ["something", "else"]
    path = tmp_path / "weights.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ConfigurationError, match="retrain"):
        LinearReranker.load(path)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="cannot read"):
        LinearReranker.load(path)


def _conversation(mos: MemOS) -> None:
    turns = [
        ("Jon", "Have you picked a name for the new bakery yet?"),
        ("Gina", "Yes! It will be called Flour Power, opening next month."),
        ("Jon", "I adopted a beagle called Pepper last week."),
        ("Gina", "Pepper is such a cute name for a beagle."),
    ]
    mos.add(
        [{"role": "user", "name": who, "content": text} for who, text in turns],
        user_id="u",
        session_id="s1",
        session_time=START,
    )
    mos.add(
        [{"role": "user", "name": "Gina", "content": "The bakery name is still a secret."}],
        user_id="u",
        session_id="s2",
        session_time=START + timedelta(days=90),
    )


def test_reranked_search_brings_in_the_reply_to_a_matching_question(mos: MemOS) -> None:
    _conversation(mos)
    hits = mos.search("What name did Gina pick for the bakery?", user_id="u", top_k=3)
    top = [h.item.content for h in hits]
    assert "Yes! It will be called Flour Power, opening next month." in top[:2]
    assert all(h.explain.reranker == "context" for h in hits)
    assert all(0.0 < (h.explain.rerank_score or 0.0) < 1.0 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_rerank_can_be_switched_off_and_single_retrievers_are_not_reranked(
    tmp_path: Path, embedder: Any
) -> None:
    from memosys.settings import MemosysSettings

    settings = MemosysSettings()
    settings.retrieval.rerank = "none"
    with MemOS.open(tmp_path, embedder=embedder, settings=settings) as plain:
        _conversation(plain)
        hits = plain.search("bakery name", user_id="u", top_k=3)
        assert hits and all(h.explain.reranker is None for h in hits)
        bm25 = plain.search("bakery name", user_id="u", top_k=3, mode="bm25")
        assert all(h.explain.reranker is None for h in bm25)


def test_neighbours_joined_by_the_reranker_respect_filters(mos: MemOS) -> None:
    _conversation(mos)
    hits = mos.search(
        "name for the new bakery", user_id="u", top_k=10, filters={"speaker": "Jon"}
    )
    assert hits and {h.item.speaker for h in hits} == {"Jon"}


def test_feature_rows_are_finite_for_items_without_sessions(mos: MemOS) -> None:
    mos.add_texts(["A loose note about beagles."], user_id="u")
    hits = mos.search("beagles", user_id="u", top_k=5)
    assert hits and np.isfinite([h.score for h in hits]).all()


def test_a_window_is_named_in_the_query_by_any_of_its_speakers(
    tmp_path: Path, embedder: Any
) -> None:
    from memosys.retrieval.rerank import feature_matrix
    from memosys.retrieval.search import Retriever, visible_filter
    from memosys.settings import MemosysSettings, ReaderSettings
    from memosys.stores.base import Scope

    settings = MemosysSettings(reader=ReaderSettings(window_size=2))
    clock = FixedClock(START)
    with MemOS.open(tmp_path, embedder=embedder, settings=settings, clock=clock) as mos:
        turns = [("Jon", "Any news about the bakery?"), ("Gina", "The bakery opens soon."),
                 ("Jon", "And the bakery sign?"), ("Maya", "The bakery sign is painted.")]
        added = mos.add([{"role": "user", "name": who, "content": text} for who, text in turns],
                        user_id="u", session_id="s1", session_time=START)
        mos.add([{"role": "user", "name": "Gina", "content": "Bakery news soon."}],
                user_id="u", session_id="s2", session_time=START)
        assert [item.speakers for item in added] == [["Jon", "Gina"], ["Jon", "Maya"]]
        retriever = Retriever(mos.store, mos.embedder, mos.settings.retrieval, clock)
        scope = Scope("u", (added[0].cube_id,))
        query = "What did Gina say about the bakery?"
        fused = retriever.fused(scope, query, None, "hybrid")
        candidates = retriever.candidates(scope, fused, visible_filter(None))
        named = feature_matrix(query, candidates)[:, FEATURES.index("speaker_named")]
    assert {c.item.content: float(n) for c, n in zip(candidates, named, strict=True)} == {
        "Jon: Any news about the bakery?\nGina: The bakery opens soon.": 1.0,  # a window
        "Jon: And the bakery sign?\nMaya: The bakery sign is painted.": 0.0,
        "Gina: Bakery news soon.": 1.0,  # one message, by Gina
    }
