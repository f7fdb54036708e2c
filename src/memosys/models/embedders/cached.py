"""An embedder wrapper that embeds each distinct text once and remembers it."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from memosys.models.embedders._common import Vectors, check_texts, empty
from memosys.models.embedders.base import Embedder, Purpose


class EmbeddingCache(Protocol):
    """Where vectors are remembered: the two cache methods of a store."""

    def cached_embeddings(self, fingerprint: str, text_hashes: Sequence[str]) -> dict[str, Vectors]:
        """The vectors known for these keys (missing keys are left out)."""
        ...

    def cache_embeddings(self, fingerprint: str, entries: dict[str, Vectors]) -> None:
        """Remember vectors by key."""
        ...


def cache_key(text: str, purpose: Purpose) -> str:
    """sha256 of the purpose and the text: the key a vector is cached under."""
    return hashlib.sha256(f"{purpose}\x00{text}".encode()).hexdigest()


class CachingEmbedder:
    """Wraps ``inner``: looks texts up in ``cache`` and embeds only the misses.

    Keys are :func:`cache_key` values under the inner embedder's fingerprint,
    so vectors of another model are never returned. Repeated texts within one
    call are embedded once; a cached vector of the wrong shape counts as a
    miss. Fingerprint and dimensions are the inner ones.
    """

    def __init__(self, inner: Embedder, cache: EmbeddingCache) -> None:
        self._inner = inner
        self._cache = cache

    @property
    def dimensions(self) -> int:
        """The inner embedder's dimensions."""
        return self._inner.dimensions

    @property
    def fingerprint(self) -> str:
        """The inner embedder's fingerprint."""
        return self._inner.fingerprint

    def embed(self, texts: Sequence[str], purpose: Purpose = "document") -> Vectors:
        """Vectors in input order: cached ones as stored, the rest from ``inner``."""
        items = check_texts(texts, purpose)
        dimensions = self.dimensions
        if not items:
            return empty(dimensions)
        fingerprint = self.fingerprint
        keys = [cache_key(text, purpose) for text in items]
        unique = dict.fromkeys(keys)
        found = {
            key: vector
            for key, vector in self._cache.cached_embeddings(fingerprint, list(unique)).items()
            if np.shape(vector) == (dimensions,)
        }
        misses = {key: text for key, text in zip(keys, items, strict=True) if key not in found}
        if misses:
            fresh = self._inner.embed(list(misses.values()), purpose)
            new = dict(zip(misses, fresh, strict=True))
            self._cache.cache_embeddings(fingerprint, new)
            found.update(new)
        return np.stack([np.asarray(found[key], dtype=np.float32) for key in keys])
