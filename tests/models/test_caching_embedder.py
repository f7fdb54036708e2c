"""CachingEmbedder embeds each distinct text of a call once and remembers queries in memory."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pytest

from memosys.models.embedders.base import Purpose
from memosys.models.embedders.cached import CachingEmbedder
from memosys.models.embedders.hashing import HashEmbedder
from memosys.settings import HashEmbedderConfig

Vectors = npt.NDArray[np.float32]


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


def test_repeats_within_a_call_are_embedded_once_and_results_match_inner() -> None:
    counting = CountingEmbedder()
    cached = CachingEmbedder(counting)
    first = cached.embed(["a", "b", "a"])
    second = cached.embed(["b", "c", "a"])
    assert counting.calls == [["a", "b"], ["b", "c", "a"]]  # documents are not remembered
    np.testing.assert_array_equal(first, counting.inner.embed(["a", "b", "a"]))
    np.testing.assert_array_equal(second, counting.inner.embed(["b", "c", "a"]))
    assert second.dtype == np.float32
    assert (cached.fingerprint, cached.dimensions) == (counting.fingerprint, counting.dimensions)


def test_a_remembered_query_is_not_used_for_a_document() -> None:
    counting = CountingEmbedder()
    cached = CachingEmbedder(counting)
    cached.embed(["q"], purpose="query")
    cached.embed(["q"], purpose="document")
    cached.embed(["q"], purpose="query")
    assert counting.calls == [["q"], ["q"]]


def test_empty_input() -> None:
    counting = CountingEmbedder()
    assert CachingEmbedder(counting).embed([]).shape == (0, 32)
    assert counting.calls == []


def test_queries_are_remembered_in_memory_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from memosys.models.embedders import cached as cached_module

    monkeypatch.setattr(cached_module, "QUERY_CACHE_SIZE", 2)
    counting = CountingEmbedder()
    cached = CachingEmbedder(counting)
    cached.embed(["q1"], purpose="query")
    cached.embed(["q1", "q2"], purpose="query")
    assert counting.calls == [["q1"], ["q2"]]
    cached.embed(["q3"], purpose="query")  # evicts q1, the least recently used
    cached.embed(["q2", "q1"], purpose="query")
    assert counting.calls[-1] == ["q1"]
