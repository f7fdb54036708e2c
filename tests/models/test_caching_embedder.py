"""CachingEmbedder sends only cache misses to the inner embedder."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from memosys.core.clock import SystemClock
from memosys.models.embedders.base import Purpose
from memosys.models.embedders.cached import CachingEmbedder, cache_key
from memosys.models.embedders.hashing import HashEmbedder
from memosys.settings import HashEmbedderConfig, StoreSettings
from memosys.stores.sqlite import SQLiteStore

Vectors = npt.NDArray[np.float32]


class DictCache:
    """An in-process embedding cache with the store's two cache methods."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], Vectors] = {}

    def cached_embeddings(self, fingerprint: str, text_hashes: Sequence[str]) -> dict[str, Vectors]:
        found = ((h, self.entries.get((fingerprint, h))) for h in text_hashes)
        return {h: vector for h, vector in found if vector is not None}

    def cache_embeddings(self, fingerprint: str, entries: dict[str, Vectors]) -> None:
        for text_hash, vector in entries.items():
            self.entries[fingerprint, text_hash] = np.array(vector)


class CountingEmbedder:
    """A real HashEmbedder that records which texts it was asked to embed."""

    def __init__(self) -> None:
        self.inner = HashEmbedder(HashEmbedderConfig(dimensions=32))
        self.calls: list[list[str]] = []

    @property
    def fingerprint(self) -> str:
        return self.inner.fingerprint

    @property
    def dimensions(self) -> int:
        return self.inner.dimensions

    def embed(self, texts: Sequence[str], purpose: Purpose = "document") -> Vectors:
        self.calls.append(list(texts))
        return self.inner.embed(texts, purpose)


def test_only_misses_are_embedded_and_results_match_inner() -> None:
    counting, cache = CountingEmbedder(), DictCache()
    cached = CachingEmbedder(counting, cache)
    first = cached.embed(["a", "b", "a"])
    second = cached.embed(["b", "c", "a"])
    assert counting.calls == [["a", "b"], ["c"]]
    np.testing.assert_array_equal(first, counting.inner.embed(["a", "b", "a"]))
    np.testing.assert_array_equal(second, counting.inner.embed(["b", "c", "a"]))
    assert second.dtype == np.float32


def test_fully_cached_call_does_not_touch_inner() -> None:
    counting = CountingEmbedder()
    cached = CachingEmbedder(counting, DictCache())
    cached.embed(["x", "y"])
    cached.embed(["y", "x"])
    assert counting.calls == [["x", "y"]]


def test_purpose_is_part_of_the_key() -> None:
    counting = CountingEmbedder()
    cached = CachingEmbedder(counting, DictCache())
    cached.embed(["q"], purpose="document")
    cached.embed(["q"], purpose="query")
    assert counting.calls == [["q"], ["q"]]
    assert cache_key("q", "query") != cache_key("q", "document")


def test_entries_are_stored_under_the_inner_fingerprint() -> None:
    counting, cache = CountingEmbedder(), DictCache()
    cached = CachingEmbedder(counting, cache)
    cached.embed(["hello"])
    assert cached.fingerprint == counting.fingerprint
    assert cached.dimensions == counting.dimensions
    assert set(cache.entries) == {(counting.fingerprint, cache_key("hello", "document"))}


def test_cached_vector_of_wrong_shape_is_a_miss() -> None:
    counting, cache = CountingEmbedder(), DictCache()
    cache.entries[counting.fingerprint, cache_key("z", "document")] = np.ones(5, np.float32)
    vectors = CachingEmbedder(counting, cache).embed(["z"])
    assert counting.calls == [["z"]]
    assert vectors.shape == (1, 32)


def test_empty_input() -> None:
    counting = CountingEmbedder()
    assert CachingEmbedder(counting, DictCache()).embed([]).shape == (0, 32)
    assert counting.calls == []


def test_works_over_the_sqlite_store_cache(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "memosys.db", StoreSettings(), SystemClock())
    try:
        counting = CountingEmbedder()
        first = CachingEmbedder(counting, store).embed(["persisted", "twice"])
        again = CachingEmbedder(counting, store).embed(["twice", "persisted", "new"])
    finally:
        store.close()
    assert counting.calls == [["persisted", "twice"], ["new"]]
    np.testing.assert_allclose(again[:2], first[::-1], atol=1e-7)


def test_queries_are_remembered_in_memory_only_and_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from memosys.models.embedders import cached as cached_module

    monkeypatch.setattr(cached_module, "QUERY_CACHE_SIZE", 2)
    counting, cache = CountingEmbedder(), DictCache()
    cached = CachingEmbedder(counting, cache)
    cached.embed(["q1"], purpose="query")
    cached.embed(["q1", "q2"], purpose="query")
    assert counting.calls == [["q1"], ["q2"]]
    assert cache.entries == {}  # nothing a user searched for is written to the store
    cached.embed(["q3"], purpose="query")  # evicts q1, the least recently used
    cached.embed(["q2", "q1"], purpose="query")
    assert counting.calls[-1] == ["q1"]
